"""Real fights from clip labels: every option tried, side by side, by 5-fold cross-validation
GROUPED BY SOURCE RECORDING on a folder of fight/ and noFight/ clips (default: the 200 shared
clips), each as the mean ± spread over several fold draws.

Options: how the motion is measured (feature set, grey width, frames used per second), the
classifier and its size (an ensemble over seeds), person-aware pose features alone and fused
with the motion (`fight_pose.py`, when mediapipe is installed), whether the threshold and
calibration are chosen inside each fold, and whether windows of the synthetic city's footage
are added to every training fold. A plain stratified split (which leaks scenes between train
and test) is shown beside the default to show how much leaking flatters it. The `fights` stage
keeps the one set in params.yaml.

Also prints what the motion costs per second of video on this CPU (features only; decoding is
the live-load benchmark's), since the streaming analytic runs it on every hot-spot stream.

Run: .venv/bin/python benchmarks/fight_cv.py [--folder ../shared/datasets/surveillance-fights]
     [--out reports/experiments/2026-12-03-fights-every-option.md]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import fight_pose
import numpy as np

from ambon_cv.config import load_params
from ambon_cv.fights.classifier import grouped_cv, labelled_clips
from ambon_cv.fights.stage import clip_feature_matrix, feature_settings
from ambon_cv.machine import cpu_line

MEASURES = [  # (name, overrides of the fights params)
    ("region, 128 px, every frame (default)", {}),
    ("region, 160 px, every frame", {"width": 160}),
    ("region, 128 px, at least 12.5 frames/s", {"flow_fps": 12.5}),
    ("statistics, 160 px, 10 frames/s", {"features": "statistics", "width": 160}),
]
CLASSIFIERS = ["vote", "extra_trees", "logistic"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, default=Path("../shared/datasets/surveillance-fights")
    )
    parser.add_argument("--repeats", type=int, default=5, help="fold draws per option")
    parser.add_argument("--footage", type=Path, default=Path("data/footage"))
    parser.add_argument(
        "--out", type=Path, default=Path("reports/experiments/2026-12-03-fights-every-option.md")
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    p = load_params(Path("params.yaml")).fights
    paths, y, groups = labelled_clips(args.folder)
    rows, costs = [], []
    default_x = None
    for name, overrides in MEASURES:
        settings = {**feature_settings(p), **overrides}
        cpu = time.process_time()
        start = time.perf_counter()
        x, kept, _, _ = clip_feature_matrix(paths, settings, workers=1)
        took = time.perf_counter() - start
        cpu = time.process_time() - cpu
        costs.append((name, cpu / (2.0 * len(kept))))  # the clips are about 2 s each
        yk, gk = y[kept], groups[kept]
        if not overrides:
            default_x, default_settings, default_kept = (x, yk, gk), settings, kept
        for classifier in CLASSIFIERS if not overrides else [p.classifier]:
            for inner in (0, p.inner_folds) if not overrides else (p.inner_folds,):
                cv = grouped_cv(
                    x, yk, gk, p.folds, p.seed, classifier, p.trees, 0.5, args.repeats, inner
                )
                split = "threshold + calibration in folds" if inner else "fixed 0.5"
                rows.append((name, classifier, split, cv, took))
    x, yk, gk = default_x
    leak = grouped_cv(
        x, yk, np.arange(len(yk)), p.folds, p.seed, p.classifier, p.trees, 0.5, args.repeats,
        p.inner_folds,
    )  # fmt: skip
    rows.append(("region, 128 px (default)", p.classifier, "plain stratified (leaks)", leak, 0))
    # an ensemble over seeds: extra trees average their trees already, so three times as
    # many trees is three seeds' worth
    more = grouped_cv(
        x, yk, gk, p.folds, p.seed, p.classifier, 3 * p.trees, 0.5, args.repeats, p.inner_folds
    )
    inside = "threshold + calibration in folds"
    rows.append((f"region, 128 px, {3 * p.trees} trees", p.classifier, inside, more, 0))
    notes = []
    if fight_pose.available():  # person-aware: how the person in view moves
        start = time.perf_counter()
        pose, cost = fight_pose.pose_matrix([paths[i] for i in default_kept], workers=1)
        took = time.perf_counter() - start
        costs.append(("person pose, 8 poses/s (mediapipe, one person)", cost))
        for name, features in (
            ("person pose alone, 8 poses/s", pose),
            ("region + person pose, fused", np.hstack([x, pose])),
        ):
            cv = grouped_cv(
                features, yk, gk, p.folds, p.seed, p.classifier, p.trees, 0.5, args.repeats,
                p.inner_folds,
            )  # fmt: skip
            rows.append((name, p.classifier, inside, cv, took))
    else:
        notes.append(
            "Person pose: not measured here (`.venv/bin/pip install --no-deps "
            "mediapipe==0.10.21` to add it; see `benchmarks/fight_pose.py`)."
        )
    if (args.footage / "manifest.parquet").exists():
        from ambon_cv.fights.footage import footage_windows

        w = p.stream
        xs, ys, _ = footage_windows(args.footage, default_settings, w.window_s, 1.0, False)
        rng = np.random.default_rng(p.seed)
        for share in (0.25, 1.0):  # synthetic windows per real clip
            k = rng.choice(len(ys), min(len(ys), int(share * len(yk))), replace=False)
            cv = grouped_cv(
                x, yk, gk, p.folds, p.seed, p.classifier, p.trees, 0.5, args.repeats,
                p.inner_folds, extra=(xs[k], ys[k]),
            )  # fmt: skip
            rows.append(
                (f"default + {share:g} synthetic windows per clip", p.classifier,
                 "threshold + calibration in folds", cv, 0)
            )  # fmt: skip
    lines = [
        "# Real fights: every option tried",
        "",
        f"{len(y)} clips from {len(set(groups.tolist()))} recordings in `{args.folder}`, "
        f"{p.folds}-fold cross-validation grouped by recording, {args.repeats} fold draws each "
        f"(mean ± sd over draws). Measured on {cpu_line()}.",
        "",
        "| motion | classifier | threshold | accuracy | ROC-AUC | Brier | feature s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, classifier, split, cv, took in rows:
        lines.append(
            f"| {name} | {classifier} | {split} | {cv.accuracy_mean:.3f} ± "
            f"{cv.accuracy_std:.3f} | {cv.roc_auc_mean:.3f} ± {cv.roc_auc_std:.3f} | "
            f"{cv.brier:.3f} | {took:.0f} |"
        )
    lines += [
        "",
        "Motion features' CPU cost per second of these clips (one core, decoding included):",
        "",
        *[f"- {name}: {c:.3f} core" for name, c in costs],
        *(["", *notes] if notes else []),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
