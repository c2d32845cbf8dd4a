"""The clip classifier for real fights: which clips of a `fight/` + `noFight/` folder show a
fight, judged by cross-validation GROUPED BY SOURCE RECORDING.

One recording often yields both fight and noFight clips, so folds that split a recording let a
model recognise the scene instead of the fight. Every fold here keeps each recording (from
`videos.txt`) on one side; clips not listed there are their own recording.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ambon_cv.curate.records import recording_groups
from ambon_cv.errors import AmbonError

CLASSIFIERS = ("extra_trees", "logistic")


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


def make_classifier(name: str = "extra_trees", trees: int = 500, seed: int = 0):
    """A fresh, unfitted classifier by name."""
    if name == "extra_trees":
        from sklearn.ensemble import ExtraTreesClassifier

        return ExtraTreesClassifier(
            n_estimators=trees, min_samples_leaf=2, random_state=seed, n_jobs=2
        )
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    raise FightModelError(f"unknown fight classifier {name!r} (one of {', '.join(CLASSIFIERS)})")


@dataclass
class CrossValidation:
    """Grouped k-fold results. `accuracy`, `roc_auc` and `scores` (out-of-fold fight
    probability per clip) are from the first fold assignment (seed); `accuracy_mean`/`_std`
    over `repeats` different assignments say how much the figure depends on the draw."""

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
    repeats: int
    scores: list[float] = field(repr=False)

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


def grouped_cv(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    classifier: str = "extra_trees",
    trees: int = 500,
    threshold: float = 0.5,
    repeats: int = 1,
) -> CrossValidation:
    """Out-of-fold fight probabilities over folds that never split a source recording."""
    from sklearn.model_selection import StratifiedGroupKFold

    if len(set(groups.tolist())) < folds:
        raise FightModelError(
            f"{len(set(groups.tolist()))} recordings cannot fill {folds} grouped folds; "
            "add clips from more recordings or lower fights.folds"
        )
    runs = []
    for r in range(repeats):
        scores = np.zeros(len(y))
        fold_acc = []
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed + r)
        for train_idx, test_idx in splitter.split(x, y, groups):
            assert not set(groups[train_idx]) & set(groups[test_idx])
            if len(set(y[train_idx].tolist())) < 2:
                raise FightModelError(
                    "a grouped fold left only one class to train on; add fight and noFight "
                    "clips from more recordings or lower fights.folds"
                )
            model = make_classifier(classifier, trees, seed)
            model.fit(x[train_idx], y[train_idx])
            scores[test_idx] = model.predict_proba(x[test_idx])[:, 1]
            fold_acc.append(float(((scores[test_idx] >= threshold) == y[test_idx]).mean()))
        runs.append((scores, fold_acc, clip_metrics(y, scores, threshold)))
    scores, fold_acc, first = runs[0]
    accs = [m["accuracy"] for _, _, m in runs]
    return CrossValidation(
        accuracy=first["accuracy"],
        roc_auc=first["roc_auc"],
        precision=first["precision"],
        recall=first["recall"],
        fold_accuracy=fold_acc,
        clips=len(y),
        recordings=len(set(groups.tolist())),
        accuracy_mean=float(np.mean(accs)),
        accuracy_std=float(np.std(accs)),
        roc_auc_mean=float(np.mean([m["roc_auc"] for _, _, m in runs])),
        repeats=repeats,
        scores=[float(s) for s in scores],
    )


MODEL_FILE = "model.joblib"
CARD_FILE = "model.json"


@dataclass
class FightModel:
    """The fitted clip classifier and how its features are computed (saved beside it)."""

    classifier: object
    features: dict  # keyword arguments of motion.clip_features
    threshold: float

    def score(self, x: np.ndarray) -> np.ndarray:
        """Fight probability per feature row."""
        return self.classifier.predict_proba(np.atleast_2d(x))[:, 1]

    def save(self, folder: Path, card: dict) -> None:
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.classifier, folder / MODEL_FILE)
        (folder / CARD_FILE).write_text(
            json.dumps({**card, "features": self.features, "threshold": self.threshold}, indent=2)
        )

    @classmethod
    def load(cls, folder: Path) -> FightModel:
        import joblib

        model, card = folder / MODEL_FILE, folder / CARD_FILE
        for f in (model, card):
            if not f.is_file():
                raise FightModelError(f"{f} is missing: run `ambon fights` (dvc repro fights)")
        meta = json.loads(card.read_text())
        return cls(joblib.load(model), meta["features"], float(meta["threshold"]))
