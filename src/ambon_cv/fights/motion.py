"""Motion features of a clip, for telling real fights from ordinary activity with clip labels
only (no boxes).

Two feature sets, both from dense optical flow (Farneback) on a small grey copy of the clip:

- `statistics`, the first baseline: flow between frames sampled at a fixed rate, summarised
  over the whole view (magnitude bands, the busiest third of the view, jerk, divergence, curl,
  direction entropy);
- `region` (the default, better by measurement, see `benchmarks/fight_cv.py`): flow between
  consecutive frames, summed over a short interval (about 0.16 s), then described inside the
  busiest window of the view, where a fight's motion concentrates: how intense, how uneven,
  how many directions at once, how sharp the motion boundaries are, how little of it is
  coherent translation (a walker, a car), and how it changes from one interval to the next.

Each returns one fixed-length vector per clip; the classifier lives in `fights.classifier`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from ambon_cv.frames.sample import ClipDecodeError, sample_clip

FEATURE_SETS = ("region", "statistics")

# --- the first baseline: whole-view statistics at a fixed rate ---------------------------------

MAGNITUDE_BINS = np.array([0.0, 0.5, 1, 2, 3, 5, 8, 1e9])  # pixels per frame at 160 px width
PER_FRAME = 16
STATISTICS_FEATURES = 4 * PER_FRAME  # mean, std, max and 90th percentile over the clip


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


def _pool(rows: list[list[float]], size: int) -> np.ndarray:
    if len(rows) < 2:
        return np.zeros(size, np.float32)
    x = np.array(rows, np.float32)
    return np.concatenate([x.mean(0), x.std(0), x.max(0), np.percentile(x, 90, axis=0)])


def _small_grey(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    small = cv2.resize(image, (width, max(8, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 2, 9, 2, 5, 1.1, 0)


def statistics_features(path: Path, fps: float = 10.0, width: int = 160) -> np.ndarray:
    """Whole-view motion statistics of one clip, flow between frames `1/fps` apart."""
    previous_gray = previous_flow = None
    rows = []
    for f in sample_clip(path, "fixed_rate", rate_fps=fps):
        gray = _small_grey(f.image, width)
        if previous_gray is not None:
            flow = _flow(previous_gray, gray)
            rows.append(_frame_motion(flow, previous_flow, gray, previous_gray))
            previous_flow = flow
        previous_gray = gray
    return _pool(rows, STATISTICS_FEATURES)


# --- the region features (default) ---------------------------------------------------------------

PER_INTERVAL = 16
REGION_FEATURES = 4 * PER_INTERVAL + 8  # pooled per-interval rows + temporal shape of two


def _orientation_entropy(angle: np.ndarray, weight: np.ndarray) -> float:
    h = np.bincount(
        (angle / (2 * np.pi) * 8).astype(int).ravel() % 8, weights=weight.ravel(), minlength=8
    )
    p = h / (h.sum() + 1e-9)
    return float(-(p * np.log(p + 1e-9)).sum())


def _interval_motion(
    flow: np.ndarray, previous: np.ndarray | None, window_fraction: float
) -> list[float]:
    """One interval's flow described inside its busiest window (a square `window_fraction` of
    the width, placed where the mean flow magnitude is highest)."""
    u, v = flow[..., 0], flow[..., 1]
    mag, ang = cv2.cartToPolar(u, v)
    h, w = mag.shape
    k = max(4, int(w * window_fraction))
    density = cv2.blur(mag, (k, k))
    cy, cx = np.unravel_index(int(np.argmax(density)), density.shape)
    y0, x0 = max(0, cy - k // 2), max(0, cx - k // 2)
    win = (slice(y0, y0 + k), slice(x0, x0 + k))
    m, a = mag[win], ang[win]
    uy, ux = np.gradient(u)
    vy, vx = np.gradient(v)
    boundary_u, boundary_v = np.hypot(ux, uy), np.hypot(vx, vy)
    boundary = boundary_u[win] + boundary_v[win]
    moving = mag > 1.0
    if moving.sum() > 5:
        ys, xs = np.nonzero(moving)
        spread = float(ys.std() / h + xs.std() / w)
    else:
        spread = 0.0
    peak, mean_win = float(density.max()), float(m.mean())
    jerk = (
        float(np.abs(flow - previous).mean() / (np.abs(flow).mean() + 1e-3))
        if previous is not None
        else 0.0
    )
    return [
        peak,  # how intense the busiest place is
        float(m.std()),  # how uneven inside it
        float(np.percentile(m, 90)),
        _orientation_entropy(a, m),  # many directions at once
        _orientation_entropy(np.arctan2(uy[win], ux[win]) % (2 * np.pi), boundary_u[win]),
        _orientation_entropy(np.arctan2(vy[win], vx[win]) % (2 * np.pi), boundary_v[win]),
        float(boundary.mean()),  # motion boundaries: limbs against bodies
        float(boundary.mean() / (mean_win + 1e-3)),
        float(np.abs(vx - uy)[win].mean()),  # curl: grappling, turning
        float(np.abs(ux + vy)[win].mean()),  # divergence: converging, scattering
        float(moving.mean()),  # how much of the view moves
        spread,  # how scattered the motion is
        float(peak / (float(mag.mean()) + 1e-3)),  # how concentrated
        float(mag.mean()),
        float((abs(u[win].mean()) + abs(v[win].mean())) / (mean_win + 1e-3)),  # coherence
        jerk,  # change of flow from the last interval
    ]


def _temporal_shape(signal: np.ndarray) -> list[float]:
    """Burstiness of a per-interval signal: variation, autocorrelation at lags 1 and 2, and the
    mean step between intervals, all relative to its level."""
    if len(signal) < 4:
        return [0.0] * 4
    d = signal - signal.mean()
    energy = float((d * d).sum()) + 1e-9
    level = float(signal.mean()) + 1e-6
    return [
        float(signal.std()) / level,
        float((d[1:] * d[:-1]).sum()) / energy,
        float((d[2:] * d[:-2]).sum()) / energy,
        float(np.abs(np.diff(signal)).mean()) / level,
    ]


def region_features_of_frames(
    greys: Iterable[np.ndarray], fps: float, interval_s: float = 0.16, window_fraction: float = 0.25
) -> np.ndarray:
    """The region features of a sequence of small grey frames taken at `fps` (every frame)."""
    step = max(1, round(interval_s * fps))
    rows: list[list[float]] = []
    previous_grey = summed = previous = None
    pairs = 0
    for grey in greys:
        if previous_grey is not None:
            flow = _flow(previous_grey, grey)
            summed = flow if summed is None else summed + flow
            pairs += 1
            if pairs == step:
                rows.append(_interval_motion(summed, previous, window_fraction))
                previous, summed, pairs = summed, None, 0
        previous_grey = grey
    if len(rows) < 2:
        return np.zeros(REGION_FEATURES, np.float32)
    x = np.array(rows, np.float32)
    shape = _temporal_shape(x[:, 0]) + _temporal_shape(x[:, 13])
    return np.concatenate([_pool(rows, 4 * PER_INTERVAL), shape]).astype(np.float32)


def region_features(
    path: Path, width: int = 160, interval_s: float = 0.16, window_fraction: float = 0.25
) -> np.ndarray:
    """The region features of one clip file (every frame decoded)."""
    greys, times = [], []
    for f in sample_clip(path, "fixed_rate", rate_fps=1000.0):  # every frame
        greys.append(_small_grey(f.image, width))
        times.append(f.time_s)
    if len(greys) < 2:
        raise ClipDecodeError(f"{path}: fewer than 2 frames, no motion to measure")
    span = times[-1] - times[0]
    fps = (len(times) - 1) / span if span > 0 else 25.0
    return region_features_of_frames(greys, fps, interval_s, window_fraction)


def clip_features(
    path: Path,
    features: str = "region",
    width: int = 160,
    interval_s: float = 0.16,
    window_fraction: float = 0.25,
    statistics_fps: float = 10.0,
) -> np.ndarray:
    """One clip's feature vector, by feature set name.

    Raises:
        ClipDecodeError: the clip cannot be decoded (the message names it).
    """
    if features == "region":
        return region_features(path, width, interval_s, window_fraction)
    if features == "statistics":
        return statistics_features(path, statistics_fps, width)
    raise ValueError(f"unknown fight feature set {features!r} (one of {', '.join(FEATURE_SETS)})")
