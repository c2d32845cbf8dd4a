"""Learning real fights from clips labelled only per clip: motion features and a classifier,
judged by cross-validation grouped by source recording.

A detector trained on the synthetic city does not recognise real fights. This module is the
measured baseline for the real-fight path: dense optical flow (Farneback) over the clip at a
low resolution, summarised into motion statistics (see `clip_features`), and an
extremely-randomised-trees classifier. Folds are grouped by source recording (`videos.txt`),
because one recording often yields both fight and noFight clips and a model would otherwise
learn scenes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ambon_cv.curate.records import recording_groups
from ambon_cv.frames.sample import sample_clip

MAGNITUDE_BINS = np.array([0.0, 0.5, 1, 2, 3, 5, 8, 1e9])  # pixels per frame at 160 px width
PER_FRAME = 16
FEATURES = 4 * PER_FRAME  # mean, std, max and 90th percentile over the clip


def _frame_motion(
    flow: np.ndarray, previous_flow: np.ndarray | None, gray: np.ndarray, previous_gray: np.ndarray
) -> list[float]:
    mag, ang = cv2.cartToPolar(flow[..., 0], flow[..., 1])
    hist = np.histogram(mag, bins=MAGNITUDE_BINS)[0] / mag.size
    h, w = mag.shape
    cells = [
        mag[i * h // 3 : (i + 1) * h // 3, j * w // 3 : (j + 1) * w // 3].mean()
        for i in range(3)
        for j in range(3)
    ]
    jerk = float(np.abs(flow - previous_flow).mean()) if previous_flow is not None else 0.0
    du, dv = np.gradient(flow[..., 0]), np.gradient(flow[..., 1])
    divergence, curl = np.abs(du[1] + dv[0]).mean(), np.abs(dv[1] - du[0]).mean()
    moving = mag > 1.0
    counts = np.bincount((ang[moving] / (2 * np.pi) * 8).astype(int) % 8, minlength=8)
    p = counts / counts.sum() if counts.sum() else np.full(8, 1 / 8)
    entropy = float(-(p * np.log(p + 1e-9)).sum())
    change = float(np.abs(gray.astype(np.int16) - previous_gray).mean())
    return [
        *hist,
        max(cells),
        float(np.std(cells)),
        jerk,
        divergence,
        curl,
        entropy,
        change,
        float(mag.mean()),
        float(np.percentile(mag, 99)),
    ][:PER_FRAME]


def clip_features(path: Path, fps: float = 10.0, width: int = 160) -> np.ndarray:
    """Motion statistics of one clip (a fixed-length vector): per frame pair, the share of
    pixels in each flow-magnitude band, the busiest third of the view and how uneven motion is
    across it, jerk (change of flow), divergence and curl (people converging, grappling),
    direction entropy, brightness change; then mean, spread, peak and 90th percentile."""
    previous_gray = previous_flow = None
    rows = []
    for f in sample_clip(path, "fixed_rate", rate_fps=fps):
        h, w = f.image.shape[:2]
        gray = cv2.cvtColor(
            cv2.resize(f.image, (width, max(8, round(h * width / w)))), cv2.COLOR_BGR2GRAY
        )
        if previous_gray is not None:
            flow = cv2.calcOpticalFlowFarneback(previous_gray, gray, None, 0.5, 2, 9, 2, 5, 1.1, 0)
            rows.append(_frame_motion(flow, previous_flow, gray, previous_gray))
            previous_flow = flow
        previous_gray = gray
    if len(rows) < 2:
        return np.zeros(FEATURES, np.float32)
    x = np.array(rows, np.float32)
    return np.concatenate([x.mean(0), x.std(0), x.max(0), np.percentile(x, 90, axis=0)]).astype(
        np.float32
    )


@dataclass(frozen=True)
class CrossValidation:
    accuracy: float
    roc_auc: float
    fold_accuracy: list[float]
    clips: int
    recordings: int


def labelled_clips(folder: Path) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """Clips of `fight/` and `noFight/`, their labels, and their source-recording groups."""
    groups = recording_groups(folder)
    paths, labels, owner = [], [], []
    for label, sub in ((1, "fight"), (0, "noFight")):
        for p in sorted((folder / sub).glob("*.mp4")):
            paths.append(p)
            labels.append(label)
            owner.append(groups.get(p.stem, f"clip-{p.stem}"))
    return paths, np.array(labels), np.array(owner)


def grouped_cv(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int = 5, seed: int = 0
) -> CrossValidation:
    """Accuracy and ROC-AUC over folds that never split a source recording."""
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    scores = np.zeros(len(y))
    fold_acc = []
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(x, y, groups):
        assert not set(groups[train_idx]) & set(groups[test_idx])
        model = ExtraTreesClassifier(
            n_estimators=500, min_samples_leaf=2, random_state=seed, n_jobs=2
        )
        model.fit(x[train_idx], y[train_idx])
        scores[test_idx] = model.predict_proba(x[test_idx])[:, 1]
        fold_acc.append(float(((scores[test_idx] > 0.5) == y[test_idx]).mean()))
    return CrossValidation(
        accuracy=float(((scores > 0.5) == y).mean()),
        roc_auc=float(roc_auc_score(y, scores)),
        fold_accuracy=fold_acc,
        clips=len(y),
        recordings=len(set(groups)),
    )
