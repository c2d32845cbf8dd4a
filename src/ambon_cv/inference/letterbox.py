"""Frames to the model's input and its boxes back to the frame: the same letterbox ultralytics
uses (keep the aspect ratio, pad with grey to a square), so every backend sees the input the
model was trained on.

Example:
    >>> import numpy as np
    >>> batch, boxes = letterbox([np.zeros((360, 640, 3), np.uint8)], 256)
    >>> batch.shape, batch.dtype
    ((1, 3, 256, 256), dtype('float32'))
    >>> boxes[0].scale
    0.4
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD = 114  # ultralytics' letterbox grey


@dataclass(frozen=True)
class Placement:
    """Where a frame landed in the model input: resized by `scale`, shifted by the padding."""

    scale: float
    pad_x: float
    pad_y: float
    width: int
    height: int

    def to_frame(self, xyxy: np.ndarray) -> np.ndarray:
        """Boxes in model-input pixels -> frame pixels, clipped to the frame."""
        out = xyxy.astype(np.float32, copy=True)
        out[:, [0, 2]] = ((out[:, [0, 2]] - self.pad_x) / self.scale).clip(0, self.width)
        out[:, [1, 3]] = ((out[:, [1, 3]] - self.pad_y) / self.scale).clip(0, self.height)
        return out


def fit(
    frame: np.ndarray, size: int, out: np.ndarray | None = None
) -> tuple[np.ndarray, Placement]:
    """One BGR frame -> a (3, size, size) uint8 RGB array (letterboxed) and its placement.
    A quarter of the float input's bytes: what crosses between benchmark processes. With
    `out` (a (3, size, size) uint8 array, e.g. a shared-memory slot), written there."""
    h, w = frame.shape[:2]
    scale = min(size / h, size / w)
    nh, nw = round(h * scale), round(w * scale)
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas = np.full((size, size, 3), PAD, np.uint8)
    canvas[top : top + nh, left : left + nw] = (
        cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nh, nw) != (h, w) else frame
    )
    chw = canvas[:, :, ::-1].transpose(2, 0, 1)
    if out is None:
        out = np.ascontiguousarray(chw)
    else:
        out[...] = chw
    return out, Placement(scale, float(left), float(top), w, h)


def to_input(fitted: list[np.ndarray]) -> np.ndarray:
    """Fitted uint8 frames -> the (N, 3, S, S) float32 batch in [0, 1] every backend takes."""
    batch = np.stack(fitted).astype(np.float32)
    batch *= np.float32(1 / 255)
    return batch


def letterbox(frames: list[np.ndarray], size: int) -> tuple[np.ndarray, list[Placement]]:
    """A batch of BGR frames -> (N, 3, size, size) float32 and one placement per frame."""
    fitted = [fit(f, size) for f in frames]
    return to_input([f for f, _ in fitted]), [p for _, p in fitted]
