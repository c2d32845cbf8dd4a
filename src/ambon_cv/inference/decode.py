"""A detector's raw output -> `Detections`: confidence filter, per-class NMS, boxes back into
frame pixels. The raw output is what YOLO heads export: (N, 4 + classes, anchors) with boxes as
centre x, centre y, width, height in model-input pixels."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ambon_cv.detections import CLASSES, Detections
from ambon_cv.inference.letterbox import Placement


def class_map(names: dict[int, str] | Sequence[str]) -> np.ndarray:
    """The model's class index -> ours (by name); -1 for classes we do not know."""
    items = names.items() if isinstance(names, dict) else enumerate(names)
    size = max((int(k) for k, _ in items), default=-1) + 1
    out = np.full(size, -1, np.int64)
    for k, name in names.items() if isinstance(names, dict) else enumerate(names):
        out[int(k)] = CLASSES.index(name) if name in CLASSES else -1
    return out


def decode(
    raw: np.ndarray,
    placements: Sequence[Placement],
    ours: np.ndarray,
    conf: float = 0.25,
    iou: float = 0.7,
    max_det: int = 300,
) -> list[Detections]:
    """One `Detections` per image of the batch (see the module docstring for `raw`)."""
    raw = np.asarray(raw, np.float32)
    if raw.ndim != 3 or raw.shape[1] != 4 + len(ours):
        raise ValueError(
            f"model output has shape {raw.shape}; expected (batch, {4 + len(ours)}, anchors) "
            f"for {len(ours)} classes"
        )
    out = []
    for pred, place in zip(raw, placements, strict=True):
        scores = pred[4:]
        cls = scores.argmax(0)
        best = scores[cls, np.arange(scores.shape[1])]
        keep = (best > conf) & (ours[cls] >= 0)
        if not keep.any():
            out.append(Detections.empty())
            continue
        cx, cy, w, h = pred[:4, keep]
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
        score, cls = best[keep], cls[keep]
        # Per-class NMS in one call: shift each class's boxes to its own region.
        shifted = xyxy + (cls * 8192.0)[:, None]
        xywh = np.concatenate([shifted[:, :2], shifted[:, 2:] - shifted[:, :2]], 1)
        idx = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), score.tolist(), conf, iou), np.int64)
        idx = idx.reshape(-1)[:max_det]
        out.append(
            Detections(
                xyxy=place.to_frame(xyxy[idx]),
                class_id=ours[cls[idx]],
                confidence=score[idx],
            )
        )
    return out
