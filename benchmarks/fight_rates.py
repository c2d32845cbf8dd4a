"""Does the fight classifier hold on cameras slower than its training clips, and what do the
slower-camera views (`fights.slower_cameras`) buy? The shared clips are 12.5-30 fps; the
registry's cameras send 10-25 fps and the synthetic city records at 10. Each clip is also
measured as a camera sending 1 of every 2 or 3 of its frames would send it, and the same
5-fold cross-validation GROUPED BY SOURCE RECORDING as the `fights` stage (threshold and
calibration inside the folds, mean ± spread over fold draws) judges the held-out clips and
their slower views, side by side: trained on the clips' own rates only, or on the views too.

Run: .venv/bin/python benchmarks/fight_rates.py [--folder ../shared/datasets/surveillance-fights]
     [--repeats 5] [--out reports/experiments/2026-12-06-fights-slower-cameras.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ambon_cv.config import load_params
from ambon_cv.fights.classifier import grouped_cv, labelled_clips
from ambon_cv.fights.stage import clip_feature_matrix, feature_settings, slower_camera_matrix
from ambon_cv.machine import cpu_line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=Path("../shared/datasets/surveillance-fights"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--out", type=Path, default=Path("reports/experiments/2026-12-06-fights-slower-cameras.md")
    )
    args = ap.parse_args()
    p = load_params(Path("params.yaml")).fights
    paths, y, groups = labelled_clips(args.folder)
    x, kept, _, _ = clip_feature_matrix(paths, feature_settings(p), workers=p.workers)
    y, groups, paths = y[kept], groups[kept], [paths[i] for i in kept]
    views = {
        tuple(steps): slower_camera_matrix(
            paths, p.model_copy(update={"slower_cameras": steps}), p.workers
        )
        for steps in ([2], [3], [2, 3])
    }
    rows = []
    for steps, augmented in views.items():
        for train_on_views in (False, True):
            cv = grouped_cv(
                x, y, groups, p.folds, p.seed, p.classifier, p.trees, p.threshold,
                args.repeats, p.inner_folds, augmented=augmented, train_on_views=train_on_views,
            )  # fmt: skip
            rows.append((steps, train_on_views, cv))
            print(
                f"views 1/{' and 1/'.join(map(str, steps))}, trained on them: {train_on_views}: "
                f"clips {cv.accuracy_mean:.3f} / {cv.roc_auc_mean:.3f}, views "
                f"{cv.slower_accuracy_mean:.3f} / {cv.slower_roc_auc_mean:.3f}"
            )
    lines = [
        "# The fight classifier on slower cameras",
        "",
        f"{len(y)} clips from {len(set(groups.tolist()))} recordings in `{args.folder}`, "
        f"{p.folds}-fold cross-validation grouped by recording, {args.repeats} fold draws "
        f"(mean ± sd over draws), threshold and calibration inside the folds. A view is a clip "
        f"as a camera sending 1 of every N of its frames would send it (not under "
        f"{p.slowest_fps:g} fps); each stays in its clip's fold and is judged apart from the "
        f"clips, by the fold that held its clip out. Measured on {cpu_line()}.",
        "",
        "| views judged | trained on | views | clips: accuracy | clips: ROC-AUC "
        "| views: accuracy | views: ROC-AUC |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| 1 of every {' and '.join(map(str, steps))} frames | "
            f"{'clips and their views' if trained else 'the clips only'} | "
            f"{cv.slower_views} | {cv.accuracy_mean:.3f} ± {cv.accuracy_std:.3f} | "
            f"{cv.roc_auc_mean:.3f} ± {cv.roc_auc_std:.3f} | {cv.slower_accuracy_mean:.3f} | "
            f"{cv.slower_roc_auc_mean:.3f} |"
            for steps, trained, cv in rows
        ],
        "",
        "Only clips fast enough have a view (1 of every 3 frames: the 24-30 fps clips), so "
        "compare a views column down the rows, not with the clips' columns. Shipped: "
        f"`fights.slower_cameras: {p.slower_cameras}` (trained on the clips and their views at "
        "those steps). Differences of about 0.01 in accuracy are within what the draws and a "
        "float's rounding of the flow move.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
