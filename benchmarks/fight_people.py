"""Person-aware fight features from the project's own detector: where the people are and how
their boxes move relative to each other, alone and fused with the region motion, under the
same grouped cross-validation as the `fights` stage.

Per clip, the detector (`models/best.pt`, its `person` class at `evaluate.conf`) on frames
sampled at `--rate` a second; everything in seconds and body heights, so any frame rate and
size give the same numbers: people per frame (mean, most), the share of frames with two or
more, the nearest pair's distance and overlap, the share of pairs within one body height, and
from box to box between samples (each matched to the nearest box of the frame before) speed,
change of shape (aspect ratio) and of height. A frame with fewer than two people counts as a
pair five body heights apart.

Run: .venv/bin/python benchmarks/fight_people.py [--folder ../shared/datasets/surveillance-fights]
     [--rate 5] [--out reports/experiments/2026-12-07-fights-person-boxes.md]
     (about 8 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ambon_cv.config import load_params
from ambon_cv.detections import CLASSES
from ambon_cv.fights.classifier import grouped_cv, labelled_clips
from ambon_cv.fights.stage import clip_feature_matrix, feature_settings
from ambon_cv.frames.sample import sample_clip
from ambon_cv.machine import cpu_line

PERSON = CLASSES.index("person")
APART = 5.0  # body heights: the nearest "pair" of a frame with fewer than two people
PEOPLE_FEATURES = 14


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = np.maximum(a[:2], b[:2])
    x1, y1 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _pairs(boxes: np.ndarray) -> tuple[float, float, float]:
    """Nearest pair's distance (body heights), the largest overlap, the share of close pairs."""
    if len(boxes) < 2:
        return APART, 0.0, 0.0
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    height = boxes[:, 3] - boxes[:, 1]
    apart, overlap = [], []
    for i, j in itertools.combinations(range(len(boxes)), 2):
        scale = max(1e-3, (height[i] + height[j]) / 2)
        apart.append(float(np.linalg.norm(centre[i] - centre[j])) / scale)
        overlap.append(_iou(boxes[i], boxes[j]))
    return min(apart), max(overlap), float(np.mean(np.array(apart) < 1.0))


def _moves(a: np.ndarray, b: np.ndarray, dt: float) -> list[tuple[float, float, float]]:
    """(speed, shape change, height change) a second of each box of `b` matched to `a`."""
    out = []
    centre_a = (a[:, :2] + a[:, 2:]) / 2
    for box in b:
        h = max(1e-3, box[3] - box[1])
        d = np.linalg.norm(centre_a - (box[:2] + box[2:]) / 2, axis=1)
        j = int(np.argmin(d))
        if d[j] >= 1.5 * h:
            continue  # nobody near enough before: a new person, not a move
        before = a[j]
        h0 = max(1e-3, before[3] - before[1])
        shape = abs((box[2] - box[0]) / h - (before[2] - before[0]) / h0)
        out.append((d[j] / h / dt, shape / dt, abs(float(np.log(h / h0))) / dt))
    return out


def clip_people(model, path: Path, rate_fps: float, conf: float) -> tuple[np.ndarray, int]:
    """One clip's person features, and the frames looked at."""
    frames = list(sample_clip(path, "fixed_rate", rate_fps=rate_fps))
    if not frames:
        return np.zeros(PEOPLE_FEATURES, np.float32), 0
    results = model.predict([f.image for f in frames], conf=conf, verbose=False)
    seen = []
    for f, r in zip(frames, results, strict=True):
        keep = r.boxes.cls.numpy().astype(int) == PERSON
        seen.append((f.time_s, r.boxes.xyxy.numpy()[keep] / f.image.shape[0]))
    count = np.array([len(b) for _, b in seen], float)
    pairs = np.array([_pairs(b) for _, b in seen])
    moves = [
        m
        for (t0, a), (t1, b) in itertools.pairwise(seen)
        if len(a) and len(b)
        for m in _moves(a, b, max(1e-3, t1 - t0))
    ]
    m = np.array(moves) if moves else np.zeros((1, 3))
    crowd = [count.mean(), count.max(), (count >= 2).mean()]
    near = [pairs[:, 0].mean(), pairs[:, 0].min(), pairs[:, 1].mean(), pairs[:, 1].max()]
    move = [m[:, 0].mean(), m[:, 0].max(), m[:, 0].std(), m[:, 1].mean(), m[:, 1].max()]
    features = crowd + near + [pairs[:, 2].mean()] + move + [m[:, 2].mean()]
    return np.array(features, np.float32), len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, default=Path("../shared/datasets/surveillance-fights")
    )
    parser.add_argument("--weights", type=Path, default=Path("models/best.pt"))
    parser.add_argument("--rate", type=float, default=5.0, help="frames a second to detect on")
    parser.add_argument("--repeats", type=int, default=5, help="fold draws")
    parser.add_argument(
        "--out", type=Path, default=Path("reports/experiments/2026-12-07-fights-person-boxes.md")
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    from ultralytics import YOLO

    params = load_params(Path("params.yaml"))
    p, conf = params.fights, params.evaluate.conf
    paths, y, groups = labelled_clips(args.folder)
    x, kept, _, _ = clip_feature_matrix(paths, feature_settings(p), workers=p.workers)
    y, groups = y[kept], groups[kept]
    model = YOLO(str(args.weights))
    cpu, start, frames = time.process_time(), time.perf_counter(), 0
    rows = []
    for i in tqdm(kept, desc="people", unit="clip"):
        features, n = clip_people(model, paths[i], args.rate, conf)
        rows.append(features)
        frames += n
    people = np.array(rows)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    found = float((people[:, 0] > 0).mean())
    results = []
    for name, features in (
        ("region motion (the stage's features)", x),
        ("person boxes alone", people),
        ("region motion + person boxes, fused", np.hstack([x, people])),
    ):
        cv = grouped_cv(
            features, y, groups, p.folds, p.seed, p.classifier, p.trees, 0.5, args.repeats,
            p.inner_folds,
        )  # fmt: skip
        results.append((name, cv))
    lines = [
        "# Real fights: person boxes from the project's detector as features",
        "",
        f"{len(y)} clips from {len(set(groups.tolist()))} recordings in `{args.folder}`; "
        f"`{args.weights}` (class `person`, conf {conf}) on {args.rate:g} frames a second, "
        f"{frames} frames. {p.folds}-fold cross-validation grouped by recording, {args.repeats} "
        f"fold draws, {p.classifier} with threshold and calibration inside the folds. "
        f"Measured on {cpu_line()}.",
        "",
        f"- clips with a person found in any frame: {found:.2f}; people per frame: "
        f"{people[y == 1, 0].mean():.3f} on fight clips, {people[y == 0, 0].mean():.3f} on "
        "noFight clips",
        f"- detection: {took:.0f} s, {cpu / max(frames, 1) * 1000:.0f} ms of CPU a frame "
        f"({cpu / (2.0 * len(y)):.2f} core per second of video at {args.rate:g} a second)",
        "",
        "| features | accuracy | ROC-AUC | Brier |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {cv.accuracy_mean:.3f} ± {cv.accuracy_std:.3f} | "
        f"{cv.roc_auc_mean:.3f} ± {cv.roc_auc_std:.3f} | {cv.brier:.3f} |"
        for name, cv in results
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
