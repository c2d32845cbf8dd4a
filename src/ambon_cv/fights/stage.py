"""The `fights` stage (`ambon fights`): learn real fights from a folder of clips labelled only
per clip, prove it by cross-validation grouped by source recording, and keep the classifier.

Writes `classifiers/fight-clips/` (the fitted classifier, its feature settings and the
out-of-fold score of every clip), `reports/fights.json` (DVC metrics), `reports/fights.md` and
`reports/fights/clips.png`. A clip that cannot be decoded is named, skipped and listed in the
report; the rest of the run goes on.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ambon_cv import plots
from ambon_cv.config import FightsParams
from ambon_cv.fights.classifier import (
    FightModel,
    FightModelError,
    grouped_cv,
    labelled_clips,
    make_classifier,
)
from ambon_cv.fights.motion import clip_features
from ambon_cv.frames.sample import ClipDecodeError
from ambon_cv.paths import under_root, write_json

MODEL_DIR = Path("classifiers") / "fight-clips"
OUT_OF_FOLD = "out_of_fold.json"


def feature_settings(p: FightsParams) -> dict:
    """The keyword arguments of `motion.clip_features` for these params (saved with the model,
    so scoring computes exactly the features it was trained on)."""
    return {
        "features": p.features,
        "width": p.width,
        "interval_s": p.interval_s,
        "window_fraction": p.window_fraction,
        "statistics_fps": p.statistics_fps,
    }


def _features_or_error(args: tuple[Path, dict]) -> np.ndarray | str:
    path, settings = args
    try:
        return clip_features(path, **settings)
    except ClipDecodeError as err:
        return str(err)


def clip_feature_matrix(
    paths: list[Path], settings: dict, workers: int = 2, progress: bool = True
) -> tuple[np.ndarray, list[int], list[str]]:
    """Features of every readable clip: (rows, indices of the clips they belong to, one error
    line per unreadable clip)."""
    from tqdm.auto import tqdm

    jobs = [(p, settings) for p in paths]
    bar = dict(total=len(paths), desc="clip motion", unit="clip", disable=not progress)
    if workers > 1 and len(paths) > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(tqdm(pool.map(_features_or_error, jobs, chunksize=2), **bar))
    else:
        results = [_features_or_error(j) for j in tqdm(jobs, **bar)]
    rows, kept, errors = [], [], []
    for i, r in enumerate(results):
        if isinstance(r, str):
            errors.append(r)
        else:
            rows.append(r)
            kept.append(i)
    if not rows:
        raise FightModelError(f"no clip could be decoded: {errors[:3]}")
    return np.stack(rows), kept, errors


def train_fight_model(p: FightsParams, root: Path, progress: bool = True) -> dict:
    """Run the stage; returns the report written to reports/fights.json."""
    folder = under_root(p.folder, root)
    if not folder.is_dir():
        raise FightModelError(f"fights.folder {folder} does not exist (fight/ + noFight/ clips)")
    paths, labels, groups = labelled_clips(folder)
    settings = feature_settings(p)
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    x, kept, unreadable = clip_feature_matrix(paths, settings, p.workers, progress)
    for line in unreadable:
        print(f"fights: WARNING skipped {line}")
    y, g = labels[kept], groups[kept]
    seconds["features"] = time.perf_counter() - t

    t = time.perf_counter()
    cv = grouped_cv(x, y, g, p.folds, p.seed, p.classifier, p.trees, p.threshold, p.repeats)
    seconds["cross_validation"] = time.perf_counter() - t

    t = time.perf_counter()
    classifier = make_classifier(p.classifier, p.trees, p.seed)
    classifier.fit(x, y)
    seconds["fit"] = time.perf_counter() - t

    out_of_fold = [
        {
            "clip": str(paths[i].relative_to(folder)),
            "recording": str(groups[i]),
            "fight": int(labels[i]),
            "score": round(s, 4),
        }
        for i, s in zip(kept, cv.scores, strict=True)
    ]
    cross_validation = {k: v for k, v in cv.as_dict().items() if k != "scores"}
    report = {
        "folder": p.folder,
        "features": p.features,
        "classifier": p.classifier,
        "threshold": p.threshold,
        "cross_validation": cross_validation,
        "clips_per_class": {"fight": int(y.sum()), "no_fight": int(len(y) - y.sum())},
        "unreadable": unreadable,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }
    model_dir = root / MODEL_DIR
    FightModel(classifier, settings, p.threshold).save(
        model_dir, {"trained_on": p.folder, "clips": len(y), "cross_validation": cross_validation}
    )
    write_json(model_dir / OUT_OF_FOLD, {"folder": p.folder, "clips": out_of_fold})

    reports = root / "reports"
    plots.save(
        plots.fight_clips(cross_validation, out_of_fold, p.threshold),
        reports / "fights" / "clips.png",
    )
    write_json(reports / "fights.json", report)
    (reports / "fights.md").write_text(_markdown(report))
    return report


def _markdown(r: dict) -> str:
    cv = r["cross_validation"]
    folds = ", ".join(f"{a:.2f}" for a in cv["fold_accuracy"])
    lines = [
        "# Real fights: the clip classifier",
        "",
        f"{cv['clips']} clips ({r['clips_per_class']['fight']} fight, "
        f"{r['clips_per_class']['no_fight']} no fight) from {cv['recordings']} source recordings "
        f"in `{r['folder']}`; `{r['features']}` motion features, `{r['classifier']}`, a clip "
        f"is a fight at probability >= {r['threshold']}.",
        "",
        f"{len(cv['fold_accuracy'])}-fold cross-validation GROUPED BY SOURCE RECORDING (no "
        "recording on both sides of a fold, so the classifier is judged on scenes it never saw):",
        "",
        "| accuracy | precision | recall | ROC-AUC | fold accuracies |",
        "|---|---|---|---|---|",
        f"| {cv['accuracy']:.3f} | {cv['precision']:.3f} | {cv['recall']:.3f} | "
        f"{cv['roc_auc']:.3f} | {folds} |",
        "",
        f"Over {cv['repeats']} different fold assignments: accuracy {cv['accuracy_mean']:.3f} "
        f"± {cv['accuracy_std']:.3f}, ROC-AUC {cv['roc_auc_mean']:.3f}.",
        "",
        "Plot: `reports/fights/clips.png`. Model: `classifiers/fight-clips/` (also exported "
        "with the detector).",
    ]
    if r["unreadable"]:
        lines += ["", "Skipped (could not be decoded):", *[f"- {e}" for e in r["unreadable"]]]
    lines += ["", f"Seconds: {r['seconds']}"]
    return "\n".join(lines) + "\n"
