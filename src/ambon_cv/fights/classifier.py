"""The clip classifier for real fights: which clips of a `fight/` + `noFight/` folder show a
fight, judged by cross-validation GROUPED BY SOURCE RECORDING.

One recording often yields both fight and noFight clips, so folds that split a recording let a
model recognise the scene instead of the fight. Every fold here keeps each recording (from
`videos.txt`) on one side; clips not listed there are their own recording.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ambon_cv.curate.records import recording_groups
from ambon_cv.errors import AmbonError

CLASSIFIERS = ("vote", "extra_trees", "logistic")
ClassifierFactory = Callable[[int, int], Any]  # (trees, seed) -> an unfitted classifier


class FightModelError(AmbonError, ValueError):
    """The clip classifier or its folder cannot be used; the message names the file."""


def labelled_clips(folder: Path) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """Clips of `fight/` and `noFight/`, their labels (1: fight), and their recording groups."""
    groups = recording_groups(folder)
    paths, labels, owner = [], [], []
    for label, sub in ((1, "fight"), (0, "noFight")):
        for p in sorted((folder / sub).glob("*.mp4")):
            paths.append(p)
            labels.append(label)
            owner.append(groups.get(p.stem, f"clip-{p.stem}"))
    if not paths:
        raise FightModelError(f"{folder}: no fight/*.mp4 or noFight/*.mp4 clips")
    return paths, np.array(labels), np.array(owner)


def make_classifier(name: str | ClassifierFactory = "vote", trees: int = 500, seed: int = 0):
    """A fresh, unfitted classifier by name. `vote` averages the probabilities of extra trees
    and a logistic regression on standardised features (better than either, by measurement:
    `benchmarks/fight_cv.py`, `benchmarks/fight_classifiers.py`). Trees predict on one thread:
    the live analytic scores one window at a time, where a thread pool costs more than it
    saves. A benchmark may pass a factory `(trees, seed) -> classifier` in place of a name, to
    cross-validate an option the stage does not ship.

    Example:
        >>> from sklearn.dummy import DummyClassifier
        >>> make_classifier(lambda trees, seed: DummyClassifier(random_state=seed), 10, 3)
        DummyClassifier(random_state=3)
    """
    if callable(name):
        return name(trees, seed)
    if name == "vote":
        from sklearn.ensemble import VotingClassifier

        return VotingClassifier(
            [
                ("trees", make_classifier("extra_trees", trees, seed)),
                ("linear", make_classifier("logistic")),
            ],
            voting="soft",
        )
    if name == "extra_trees":
        from sklearn.ensemble import ExtraTreesClassifier

        return ExtraTreesClassifier(
            n_estimators=trees, min_samples_leaf=2, random_state=seed, n_jobs=1
        )
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    raise FightModelError(f"unknown fight classifier {name!r} (one of {', '.join(CLASSIFIERS)})")


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of a classifier's score (fitted on out-of-fold scores, so "0.8" means a
    clip like this one is a fight about 8 times in 10) and the decision threshold on the
    calibrated probability that gave the best out-of-fold accuracy."""

    slope: float = 1.0
    intercept: float = 0.0
    threshold: float = 0.5

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(raw, np.float64), 1e-4, 1 - 1e-4)
        return 1.0 / (1.0 + np.exp(-(self.slope * np.log(p / (1 - p)) + self.intercept)))

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray) -> Calibration:
        from sklearn.linear_model import LogisticRegression

        p = np.clip(np.asarray(raw, np.float64), 1e-4, 1 - 1e-4)
        logit = np.log(p / (1 - p)).reshape(-1, 1)
        lr = LogisticRegression(C=10.0).fit(logit, y)
        c = cls(float(lr.coef_[0, 0]), float(lr.intercept_[0]))
        calibrated = c(raw)
        candidates = np.unique(np.round(calibrated, 3))
        accuracy = [((calibrated >= t) == (y == 1)).mean() for t in candidates]
        best = float(candidates[int(np.argmax(accuracy))]) if len(candidates) else 0.5
        # the middle of the plateau of best thresholds, not its edge
        plateau = candidates[np.isclose(accuracy, max(accuracy))] if len(candidates) else [best]
        return cls(c.slope, c.intercept, float(np.clip(np.median(plateau), 0.05, 0.95)))


@dataclass
class CrossValidation:
    """Grouped k-fold results. `accuracy`, `roc_auc` and `scores` (out-of-fold calibrated
    fight probability per clip) are from the first fold assignment (seed); `*_mean`/`*_std`
    over `repeats` different assignments say how much the figure depends on the draw. With
    `inner_folds`, each outer fold chooses its threshold and calibration on its own training
    part (grouped inner folds), never on the clips it is judged on."""

    accuracy: float
    roc_auc: float
    precision: float
    recall: float
    fold_accuracy: list[float]
    clips: int
    recordings: int
    accuracy_mean: float
    accuracy_std: float
    roc_auc_mean: float
    roc_auc_std: float
    repeats: int
    brier: float  # mean squared error of the calibrated probability (0.25: a coin)
    thresholds: list[float]  # chosen inside each outer fold (first draw)
    scores: list[float] = field(repr=False)
    raw_scores: list[float] = field(repr=False, default_factory=list)
    # the held-out clips as slower cameras send them (`augmented`), judged by their fold's
    # model, calibration and threshold: mean over draws (nan without augmented rows)
    slower_views: int = 0
    slower_accuracy_mean: float = float("nan")
    slower_roc_auc_mean: float = float("nan")

    def as_dict(self) -> dict:
        return asdict(self)


def clip_metrics(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall and ROC-AUC of clip scores against clip labels."""
    from sklearn.metrics import roc_auc_score

    fired = scores >= threshold
    tp, fp = int((fired & (y == 1)).sum()), int((fired & (y == 0)).sum())
    fn = int((~fired & (y == 1)).sum())
    return {
        "accuracy": float((fired == (y == 1)).mean()),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "roc_auc": float(roc_auc_score(y, scores)) if len(set(y.tolist())) == 2 else float("nan"),
    }


Augmented = tuple[np.ndarray, np.ndarray]  # (feature rows, index of the clip each comes from)


def augmented_subset(augmented: Augmented | None, idx: np.ndarray) -> Augmented | None:
    """The augmented rows of the clips `idx`, their owners renumbered as positions in `idx`
    (so they follow `x[idx]`).

    Example:
        >>> rows = np.arange(6.0).reshape(3, 2)
        >>> augmented_subset((rows, np.array([0, 2, 2])), np.array([2, 1]))[1].tolist()
        [0, 0]
    """
    if augmented is None:
        return None
    position = {int(c): i for i, c in enumerate(idx)}
    keep = np.array([int(o) in position for o in augmented[1]], bool)
    owners = np.array([position[int(o)] for o in augmented[1][keep]], np.int64)
    return augmented[0][keep], owners


def fit_classifier(
    x: np.ndarray,
    y: np.ndarray,
    classifier: str | ClassifierFactory = "vote",
    trees: int = 500,
    seed: int = 0,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    augmented: Augmented | None = None,
):
    """A classifier fitted on clips `x`, their augmented rows (each labelled as the clip it
    comes from) and `extra` (rows of their own labels)."""
    model = make_classifier(classifier, trees, seed)
    if augmented is not None and len(augmented[1]):
        x, y = np.concatenate([x, augmented[0]]), np.concatenate([y, y[augmented[1]]])
    if extra is not None and len(extra[1]):
        x, y = np.concatenate([x, extra[0]]), np.concatenate([y, extra[1]])
    return model.fit(x, y)


def _out_of_fold(
    x, y, groups, folds, seed, classifier, trees, extra, augmented=None, train_on_views=True
):
    """Raw out-of-fold scores over folds that never split a recording, and the folds. A fold
    trains on its clips' augmented rows too (unless `train_on_views` is False) and is judged
    on the clips alone; the augmented rows of the clips it is judged on are scored apart (the
    third value: raw scores, one per augmented row)."""
    from sklearn.model_selection import StratifiedGroupKFold

    scores = np.zeros(len(y))
    views = np.full(0 if augmented is None else len(augmented[1]), np.nan)
    splits = list(StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(x, y, groups))
    for train_idx, test_idx in splits:
        assert not set(groups[train_idx]) & set(groups[test_idx])
        if len(set(y[train_idx].tolist())) < 2:
            raise FightModelError(
                "a grouped fold left only one class to train on; add fight and noFight "
                "clips from more recordings or lower fights.folds"
            )
        model = fit_classifier(
            x[train_idx], y[train_idx], classifier, trees, seed, extra,
            augmented_subset(augmented, train_idx) if train_on_views else None,
        )  # fmt: skip
        scores[test_idx] = model.predict_proba(x[test_idx])[:, 1]
        if augmented is not None:
            judged = np.isin(augmented[1], test_idx)
            if judged.any():
                views[judged] = model.predict_proba(augmented[0][judged])[:, 1]
    return scores, splits, views


def grouped_cv(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    classifier: str | ClassifierFactory = "vote",
    trees: int = 500,
    threshold: float = 0.5,
    repeats: int = 1,
    inner_folds: int = 0,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    augmented: Augmented | None = None,
    train_on_views: bool = True,
) -> CrossValidation:
    """Out-of-fold fight probabilities over folds that never split a source recording.

    `inner_folds` > 1: each outer fold calibrates its scores and picks its threshold by an
    inner grouped cross-validation of its own training clips (else: raw scores, `threshold`).
    `extra`: (features, labels) added to every training fold and never tested on (windows of
    the synthetic city, which share no recording with the clips). `augmented`: (features,
    clip index) rows of the clips seen another way (`motion.slower_camera_features`): each
    goes where its clip goes, so a fold never trains on a view of a recording it is judged
    on; the views of the clips a fold is judged on are judged apart (`slower_*`), never mixed
    into the clip figures. `train_on_views=False` judges the views without training on any
    (what the views buy, side by side)."""
    n_groups = len(set(groups.tolist()))
    if n_groups < folds:
        raise FightModelError(
            f"{n_groups} recordings cannot fill {folds} grouped folds; "
            "add clips from more recordings or lower fights.folds"
        )
    runs = []
    for r in range(repeats):
        raw, splits, view_raw = _out_of_fold(
            x, y, groups, folds, seed + r, classifier, trees, extra, augmented, train_on_views
        )
        calibrated, chosen = raw.copy(), []
        view_cal, view_fired = view_raw.copy(), np.zeros(len(view_raw), bool)
        for train_idx, test_idx in splits:
            if inner_folds > 1 and len(set(groups[train_idx].tolist())) >= inner_folds:
                inner, _, _ = _out_of_fold(
                    x[train_idx], y[train_idx], groups[train_idx], inner_folds, seed + r,
                    classifier, trees, extra, augmented_subset(augmented, train_idx),
                    train_on_views,
                )  # fmt: skip
                cal = Calibration.fit(inner, y[train_idx])
            else:
                cal = Calibration(threshold=threshold)
            calibrated[test_idx] = cal(raw[test_idx])
            chosen.append(cal.threshold)
            if augmented is not None:
                judged = np.isin(augmented[1], test_idx)
                view_cal[judged] = cal(view_raw[judged])
                view_fired[judged] = view_cal[judged] >= cal.threshold
        fired = np.zeros(len(y), bool)
        fold_acc = []
        for (_, test_idx), t in zip(splits, chosen, strict=True):
            fired[test_idx] = calibrated[test_idx] >= t
            fold_acc.append(float((fired[test_idx] == (y[test_idx] == 1)).mean()))
        m = clip_metrics(y, fired.astype(float), 0.5)
        m["roc_auc"] = clip_metrics(y, calibrated, 0.5)["roc_auc"]
        if len(view_raw):
            view_y = y[augmented[1]]
            m["slower_accuracy"] = clip_metrics(view_y, view_fired.astype(float), 0.5)["accuracy"]
            m["slower_roc_auc"] = clip_metrics(view_y, view_cal, 0.5)["roc_auc"]
        runs.append((calibrated, raw, fold_acc, chosen, m))
    calibrated, raw, fold_acc, chosen, first = runs[0]
    accs = [m["accuracy"] for *_, m in runs]
    aucs = [m["roc_auc"] for *_, m in runs]
    return CrossValidation(
        accuracy=first["accuracy"],
        roc_auc=first["roc_auc"],
        precision=first["precision"],
        recall=first["recall"],
        fold_accuracy=fold_acc,
        clips=len(y),
        recordings=n_groups,
        accuracy_mean=float(np.mean(accs)),
        accuracy_std=float(np.std(accs)),
        roc_auc_mean=float(np.mean(aucs)),
        roc_auc_std=float(np.std(aucs)),
        repeats=repeats,
        brier=float(np.mean((calibrated - y) ** 2)),
        thresholds=[round(t, 3) for t in chosen],
        scores=[float(s) for s in calibrated],
        raw_scores=[float(s) for s in raw],
        slower_views=0 if augmented is None else len(augmented[1]),
        slower_accuracy_mean=_mean_of(runs, "slower_accuracy"),
        slower_roc_auc_mean=_mean_of(runs, "slower_roc_auc"),
    )


def _mean_of(runs: list, key: str) -> float:
    values = [m[key] for *_, m in runs if key in m]
    return float(np.mean(values)) if values else float("nan")


MODEL_FILE = "model.joblib"
CARD_FILE = "model.json"
NONE_FILE = "NONE.md"  # in place of a model: why there is none (no real fight clips)


@dataclass
class FightModel:
    """The fitted clip classifier and how its features are computed (saved beside it)."""

    classifier: object
    features: dict  # keyword arguments of motion.clip_features
    threshold: float
    calibration: Calibration = field(default_factory=Calibration)
    open_threshold: float | None = None  # a fight incident opens here: chosen for the budget
    camera_open: dict[str, float] = field(default_factory=dict)  # calibrated hot spots

    def alert_engine_open(self) -> float:
        """The opening threshold of the alert engine's fight incidents (`fights.budget`'s;
        the clip threshold for a model saved before the budget)."""
        return self.threshold if self.open_threshold is None else self.open_threshold

    _proba: object = field(default=None, init=False, repr=False, compare=False)

    def score(self, x: np.ndarray) -> np.ndarray:
        """Calibrated fight probability per feature row (the classifier compiled to arrays on
        first use: the same figures as its predict_proba, see `fights.compiled`)."""
        if self._proba is None:
            from ambon_cv.fights.compiled import compile_classifier

            self._proba = compile_classifier(self.classifier)
        x = np.nan_to_num(np.atleast_2d(x), nan=0.0, posinf=0.0, neginf=0.0)
        return self.calibration(self._proba(x))

    def save(self, folder: Path, card: dict) -> None:
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.classifier, folder / MODEL_FILE)
        (folder / CARD_FILE).write_text(
            json.dumps(
                {
                    **card,
                    "features": self.features,
                    "threshold": self.threshold,
                    "calibration": asdict(self.calibration),
                    "open_threshold": self.open_threshold,
                    "camera_open": self.camera_open,
                },
                indent=2,
            )
        )

    @staticmethod
    def exists(folder: Path) -> bool:
        return (Path(folder) / MODEL_FILE).is_file()

    @staticmethod
    def why_none(folder: Path) -> str | None:
        """The note the fights stage left instead of a model, or None."""
        note = Path(folder) / NONE_FILE
        if FightModel.exists(folder) or not note.is_file():
            return None
        return note.read_text().strip()

    @classmethod
    def load(cls, folder: Path) -> FightModel:
        import joblib

        model, card = folder / MODEL_FILE, folder / CARD_FILE
        if why := cls.why_none(folder):
            raise FightModelError(f"no fight classifier in {folder}: {why}")
        for f in (model, card):
            if not f.is_file():
                raise FightModelError(f"{f} is missing: run `ambon fights` (dvc repro fights)")
        meta = json.loads(card.read_text())
        calibration = Calibration(**meta.get("calibration", {}))
        opens = meta.get("open_threshold")
        return cls(
            joblib.load(model), meta["features"], float(meta["threshold"]), calibration,
            None if opens is None else float(opens),
            {k: float(v) for k, v in meta.get("camera_open", {}).items()},
        )  # fmt: skip
