"""Learning real fights from clips labelled only per clip: motion features and a classifier,
judged by cross-validation grouped by source recording.

A detector trained on the synthetic city does not recognise real fights. This module is the
measured baseline for the real-fight path: dense optical flow (Farneback) over the clip at a
low resolution, summarised into motion statistics (magnitude percentiles, the share of fast
pixels, direction entropy, frame-to-frame change, their variation over time), and a
gradient-boosted classifier. Folds are grouped by source recording (`videos.txt`), because one
recording often yields both fight and noFight clips and a model would otherwise learn scenes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ambon_cv.curate.records import recording_groups
from ambon_cv.frames.sample import sample_clip

FEATURES = 24


def clip_features(path: Path, fps: float = 10.0, width: int = 160) -> np.ndarray:
    """Motion statistics of one clip (a fixed-length vector)."""
    prev = None
    per_frame = []
    for f in sample_clip(path, "fixed_rate", rate_fps=fps):
        h, w = f.image.shape[:2]
        gray = cv2.cvtColor(
            cv2.resize(f.image, (width, max(8, round(h * width / w)))), cv2.COLOR_BGR2GRAY
        )
        if prev is not None:
            flow = cv2.calcOpticalFlowFarneback(prev, gray, None, 0.5, 2, 9, 2, 5, 1.1, 0)
            mag, ang = cv2.cartToPolar(flow[..., 0], flow[..., 1])
            moving = mag > 1.0
            hist = np.bincount((ang[moving] / (2 * np.pi) * 8).astype(int) % 8, minlength=8).astype(
                float
            )
            p = hist / hist.sum() if hist.sum() else np.full(8, 1 / 8)
            entropy = float(-(p * np.log(p + 1e-9)).sum())
            diff = float(np.abs(gray.astype(np.int16) - prev).mean())
            per_frame.append(
                [
                    mag.mean(),
                    np.percentile(mag, 90),
                    np.percentile(mag, 99),
                    moving.mean(),
                    (mag > 3.0).mean(),
                    entropy,
                    diff,
                    mag.std(),
                ]
            )
        prev = gray
    if len(per_frame) < 2:
        return np.zeros(FEATURES, np.float32)
    x = np.array(per_frame, np.float32)
    return np.concatenate([x.mean(0), x.std(0), x.max(0)]).astype(np.float32)


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
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    scores = np.zeros(len(y))
    fold_acc = []
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(x, y, groups):
        assert not set(groups[train_idx]) & set(groups[test_idx])
        model = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=seed
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
