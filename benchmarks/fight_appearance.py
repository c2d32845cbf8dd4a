"""Real fights by appearance: what the busiest window looks like, and the view's overall grey
levels, alone and beside the shipped motion features.

#15 asks for appearance features "only with care: they can learn the camera instead of the
fight under grouped CV". Measured here, both kinds, on the grey copy the analytic already has
(no extra decode or resize):

- the busiest window's appearance, after each motion row: its edge orientations (9 bins,
  weighted by gradient strength, as a share), how much of it is a strong edge, its mean and
  spread of grey; pooled over the clip by mean and spread (24 figures);
- the whole view's grey histogram at the clip's last row (8 bins): what a camera, its lighting
  and its scene look like, and nothing of a fight.

Judged as `benchmarks/fight_classifiers.py` judges (the `fights` stage's grouped 5-fold
cross-validation, threshold and calibration inside the folds, two sets of fold draws).

Run: .venv/bin/python benchmarks/fight_appearance.py
     [--folder ../shared/datasets/surveillance-fights] [--repeats 5]
     [--out reports/experiments/2026-12-07-fights-appearance.md]
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from fight_classifiers import TABLE_HEAD, benchmark_clips, both_sets, judged_twice, table_row

from ambon_cv.fights.motion import MotionIntervals, window_features
from ambon_cv.frames.sample import sample_clip
from ambon_cv.machine import cpu_line

STRONG_EDGE = 50.0  # Sobel magnitude on 0-255 grey


def window_look(grey: np.ndarray, centre: tuple[float, float], fraction: float) -> list[float]:
    """What the square window `fraction` of the width around `centre` (shares of the view)
    looks like: edge orientations (9 bins over 180 degrees, weighted by strength, as shares),
    the share of strong edges, and its mean and spread of grey (0-1)."""
    h, w = grey.shape
    k = max(8, int(w * fraction))
    y0, x0 = max(0, int(centre[1] * h) - k // 2), max(0, int(centre[0] * w) - k // 2)
    crop = grey[y0 : y0 + k, x0 : x0 + k].astype(np.float32)
    strength, angle = cv2.cartToPolar(
        cv2.Sobel(crop, cv2.CV_32F, 1, 0), cv2.Sobel(crop, cv2.CV_32F, 0, 1)
    )
    bins = ((angle % np.pi) / np.pi * 9).astype(int).ravel() % 9
    orientations = np.bincount(bins, weights=strength.ravel(), minlength=9)
    orientations = orientations / (orientations.sum() + 1e-6)
    return [
        *orientations,
        float((strength > STRONG_EDGE).mean()),
        float(crop.mean() / 255),
        float(crop.std() / 255),
    ]


def clip_looks(path: Path, settings: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One clip's shipped window features, its busiest window's look pooled over the clip
    (mean and spread), and the whole view's grey histogram at its last motion row."""
    fraction = settings["window_fraction"]
    run = MotionIntervals(settings["width"], settings["interval_s"], fraction, 0.0, 1e9)
    rows, looks, grey = [], [], None
    for f in sample_clip(path, "fixed_rate", rate_fps=1000.0, colour="luma"):
        if (out := run.push(f.time_s, f.image)) is not None:
            grey = run._grey  # the frame that closed the row, as the flow saw it
            rows.append(out[1])
            looks.append(window_look(grey, run.busiest, fraction))
    if grey is None:
        return window_features(rows), np.zeros(24), np.zeros(8)
    look = np.array(looks, np.float32)
    histogram = np.histogram(grey, bins=8, range=(0, 256))[0] / grey.size
    return window_features(rows), np.concatenate([look.mean(0), look.std(0)]), histogram


def main() -> None:
    args, p, settings, paths, y, groups = benchmark_clips(
        __doc__.splitlines()[0], "reports/experiments/2026-12-07-fights-appearance.md"
    )
    start = time.perf_counter()
    with ProcessPoolExecutor(p.workers) as pool:
        clips = list(pool.map(clip_looks, paths, [settings] * len(paths), chunksize=2))
    motion, look, view = (np.stack(part) for part in zip(*clips, strict=True))
    options = [
        ("shipped motion features", motion),
        ("the busiest window's look alone (24)", look),
        ("motion + the busiest window's look", np.hstack([motion, look])),
        ("the whole view's grey histogram alone (8)", view),
        ("motion + the whole view's grey histogram", np.hstack([motion, view])),
    ]
    rows = [judged_twice(name, x, y, groups, p, args.repeats, p.classifier) for name, x in options]
    took = time.perf_counter() - start

    def both(row) -> str:
        return f"{both_sets(row[1]):.3f}"

    lines = [
        "# Real fights by appearance: the busiest window's look and the view's grey levels",
        "",
        f"{len(y)} clips from {len(set(groups.tolist()))} recordings in `{args.folder}`, on "
        f"the grey copy the `fights` stage's motion uses ({p.width} px), after each "
        f"{p.interval_s:g} s motion row; `{p.classifier}`, {p.folds}-fold cross-validation "
        "grouped by recording, threshold and calibration inside the folds, two sets of "
        f"{args.repeats} fold draws as in "
        "`reports/experiments/2026-12-07-fights-classifiers.md`. Measured on "
        f"{cpu_line()}, {took:.0f} s.",
        "",
        *TABLE_HEAD,
        *[table_row(name, a, b) for name, (a, b) in rows],
        "",
        f"Over both sets: the motion alone {both(rows[0])}, with the busiest window's look "
        f"{both(rows[2])}, with the view's grey levels {both(rows[4])}. Grouped by "
        "recording, a fold is judged on cameras it never trained on: what appearance learns "
        "of a camera cannot help there.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
