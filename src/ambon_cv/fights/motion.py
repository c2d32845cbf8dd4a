"""Motion features of a clip, for telling real fights from ordinary activity with clip labels
only (no boxes).

Two feature sets, both from dense optical flow (Farneback) on a small grey copy of the clip
(its luma plane, scaled down: no colour conversion, in training as in the live stream):

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

from collections import deque
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


# Farneback on the 128 px grey copy: a 5 px window over a 7 px polynomial (sigma 1.5) sees
# limbs, not bodies. Grouped 5-fold CV on the 200 shared clips (5 draws): 0.853 +- 0.007,
# ROC-AUC 0.908, against 0.830 +- 0.008 / 0.897 for the former 9 px window over 5 px (sigma 1.1),
# at 2.9 ms a flow against 2.5 (Intel Xeon, one thread); a 3 or 13 px window, one or three
# iterations were all worse (benchmarks/fight_cv.py measures the settings in params.yaml).
# OpenCV's DIS flow in its place is 4-20x cheaper a flow and scores 0.66-0.72
# (benchmarks/fight_classifiers.py)
# (pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags)
FLOW = (0.5, 2, 5, 2, 7, 1.5, 0)


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cv2.calcOpticalFlowFarneback(a, b, None, *FLOW)


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


def window_gradient(a: np.ndarray, y0: int, x0: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`np.gradient(a)` (rows, columns) inside the `k`-square window at (`y0`, `x0`), computed
    on the window and a one-pixel margin only: the same figures as the whole view's gradient
    cropped (central differences inside, one-sided at the view's edges), on about an eighth of
    the pixels for a quarter-width window.

    Example:
        >>> a = np.random.default_rng(0).random((9, 16)).astype(np.float32)
        >>> gy, gx = window_gradient(a, 5, 0, 4)  # at the left edge, cut off at the bottom
        >>> full_y, full_x = np.gradient(a)
        >>> np.array_equal(gy, full_y[5:9, 0:4]) and np.array_equal(gx, full_x[5:9, 0:4])
        True
    """
    h, w = a.shape
    ya, xa = max(0, y0 - 1), max(0, x0 - 1)
    gy, gx = np.gradient(a[ya : min(h, y0 + k + 1), xa : min(w, x0 + k + 1)])
    win = (slice(y0 - ya, y0 - ya + k), slice(x0 - xa, x0 - xa + k))
    return gy[win], gx[win]


def _interval_motion(
    flow: np.ndarray, previous: np.ndarray | None, window_fraction: float
) -> tuple[list[float], tuple[float, float]]:
    """One interval's flow described inside its busiest window (a square `window_fraction` of
    the width, placed where the mean flow magnitude is highest), and where that window is (its
    centre as a share of the width and height)."""
    u, v = flow[..., 0], flow[..., 1]
    mag, ang = cv2.cartToPolar(u, v)
    h, w = mag.shape
    k = max(4, int(w * window_fraction))
    density = cv2.blur(mag, (k, k))
    cy, cx = np.unravel_index(int(np.argmax(density)), density.shape)
    y0, x0 = max(0, cy - k // 2), max(0, cx - k // 2)
    win = (slice(y0, y0 + k), slice(x0, x0 + k))
    m, a = mag[win], ang[win]
    uy, ux = window_gradient(u, y0, x0, k)
    vy, vx = window_gradient(v, y0, x0, k)
    boundary_u, boundary_v = np.hypot(ux, uy), np.hypot(vx, vy)
    boundary = boundary_u + boundary_v
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
    row = [
        peak,  # how intense the busiest place is
        float(m.std()),  # how uneven inside it
        float(np.percentile(m, 90)),
        _orientation_entropy(a, m),  # many directions at once
        _orientation_entropy(np.arctan2(uy, ux) % (2 * np.pi), boundary_u),
        _orientation_entropy(np.arctan2(vy, vx) % (2 * np.pi), boundary_v),
        float(boundary.mean()),  # motion boundaries: limbs against bodies
        float(boundary.mean() / (mean_win + 1e-3)),
        float(np.abs(vx - uy).mean()),  # curl: grappling, turning
        float(np.abs(ux + vy).mean()),  # divergence: converging, scattering
        float(moving.mean()),  # how much of the view moves
        spread,  # how scattered the motion is
        float(peak / (float(mag.mean()) + 1e-3)),  # how concentrated
        float(mag.mean()),
        float((abs(u[win].mean()) + abs(v[win].mean())) / (mean_win + 1e-3)),  # coherence
        jerk,  # change of flow from the last interval
    ]
    return row, ((cx + 0.5) / w, (cy + 0.5) / h)


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


class MotionIntervals:
    """The region motion of a live stream, one row per interval, computed as frames arrive.

    Frames may come at any rate and size: each is reduced to a grey copy `width` pixels wide
    (so flow is in a share of the view, not in the camera's pixels); with `flow_fps` set, the
    camera's frames are taken in the longest whole steps that keep at least `flow_fps` flows a
    second (a 25 fps camera every 2nd frame for 10, 30 fps every 3rd, 15 fps every one; 0:
    every frame); flow between the frames used is summed until `interval_s` seconds have
    passed, and the sum is scaled to exactly `interval_s` so a 10 fps and a 25 fps camera
    measure the same motion. A gap longer than `max_gap_s` (a dropped stream) starts afresh.

    Example (a 25 fps camera, at least 10 flows a second):
        >>> m, used = MotionIntervals(flow_fps=10), []
        >>> for k in range(9):
        ...     if m.wants(k / 25):
        ...         used.append(k)
        ...         _ = m.push(k / 25, np.zeros((9, 16), np.uint8))
        >>> used
        [0, 2, 4, 6, 8]
    """

    def __init__(
        self,
        width: int = 160,
        interval_s: float = 0.16,
        window_fraction: float = 0.25,
        flow_fps: float = 0.0,
        max_gap_s: float = 1.0,
    ) -> None:
        self.width, self.interval_s, self.window_fraction = width, interval_s, window_fraction
        self.flow_fps = flow_fps
        self.step_s = 1.0 / flow_fps if flow_fps > 0 else 0.0  # the longest gap between flows
        self.max_gap_s = max_gap_s
        self.flow = _flow  # (grey, next grey) -> flow; benchmarks/fight_classifiers.py swaps it
        self._seen: float | None = None  # the last frame offered
        self._spacing = 0.0  # the camera's frame gap, a running mean
        self.reset()

    def reset(self) -> None:
        self._grey: np.ndarray | None = None
        self._t = 0.0
        self._summed: np.ndarray | None = None
        self._since = 0.0
        self._previous: np.ndarray | None = None
        self.busiest = (0.5, 0.5)  # centre of the last interval's busiest window (shares)

    def wants(self, t: float) -> bool:
        """Whether a frame at `t` would be used (callers can skip converting the others).

        The camera's frame gap is followed as frames are offered (a running mean, so stamps
        rounded to the millisecond do not move it); the step is the most whole gaps within
        1/`flow_fps` (5% spare, so a camera at 20 or 30 fps is not on the edge of two steps),
        and a frame is used once it is at least half a gap short of a step after the last one
        used. Each frame is offered once: asking again about the same `t` is the same question.
        """
        if t != self._seen:
            gap = t - self._seen if self._seen is not None else 0.0
            if 0 < gap <= self.max_gap_s:
                self._spacing = gap if not self._spacing else 0.9 * self._spacing + 0.1 * gap
            self._seen = t
        if self._grey is None or t < self._t or not self.step_s or not self._spacing:
            return True
        step = max(1, int(self.step_s / self._spacing + 0.05))
        return t - self._t >= (step - 0.5) * self._spacing

    def push(self, t: float, image: np.ndarray) -> tuple[float, list[float]] | None:
        """Feed one frame (BGR or grey, any size); returns (end time, row) when an interval
        closes."""
        if self._grey is not None and (t < self._t or t - self._t > self.max_gap_s):
            self.reset()
        if not self.wants(t):
            return None
        grey = image if image.ndim == 2 and image.shape[1] == self.width else None
        grey = grey if grey is not None else _small_grey(image, self.width)
        if self._grey is None:
            self._grey, self._t, self._since = grey, t, t
            return None
        if grey.shape != self._grey.shape:  # the camera changed resolution: start again
            self.reset()
            self._grey, self._t, self._since = grey, t, t
            return None
        flow = self.flow(self._grey, grey)
        self._summed = flow if self._summed is None else self._summed + flow
        self._grey, self._t = grey, t
        span = t - self._since
        if span < self.interval_s - 1e-3:
            return None
        summed = self._summed * (self.interval_s / span)
        row, self.busiest = _interval_motion(summed, self._previous, self.window_fraction)
        self._previous, self._summed, self._since = summed, None, t
        return t, row


def live_flow_fps(features: dict) -> float:
    """The least flows a second the live analytic takes (`MotionIntervals.flow_fps`): the
    stream's setting, or the training clips' for a model saved before there was one."""
    return float(features.get("stream_flow_fps", features.get("flow_fps", 0.0)))


def flows_a_second(camera_fps: float, flow_fps: float) -> float:
    """The flows a second `MotionIntervals(flow_fps=...)` takes from a camera sending
    `camera_fps` frames a second: every k-th frame, k the longest whole step that keeps at
    least `flow_fps` (the camera's own rate when it is slower).

    Example:
        >>> [flows_a_second(fps, 10) for fps in (10, 15, 20, 25, 30)]
        [10.0, 15.0, 10.0, 12.5, 10.0]
    """
    if flow_fps <= 0 or camera_fps <= flow_fps:
        return float(camera_fps)
    return camera_fps / int(camera_fps / flow_fps + 1e-6)


def window_features(rows: list[list[float]] | np.ndarray) -> np.ndarray:
    """One window's feature vector from its interval rows: each row feature pooled over the
    window (mean, spread, max, 90th percentile) and the burstiness of intensity and overall
    motion."""
    if len(rows) < 2:
        return np.zeros(REGION_FEATURES, np.float32)
    x = np.asarray(rows, np.float32)
    shape = _temporal_shape(x[:, 0]) + _temporal_shape(x[:, 13])
    return np.concatenate([_pool(list(x), 4 * PER_INTERVAL), shape]).astype(np.float32)


FULL_WINDOW = 0.8  # a window is scored once this share of it holds motion rows


def first_window_end(first_row_s: float, interval_s: float, window_s: float) -> float:
    """When the first window of a stream is full enough to score: `FULL_WINDOW` of
    `window_s` after its first interval began (a 2 s clip's intervals end before 2 s: the last
    frame of a 2.0 s clip at 30 fps is 1.97 s after the first, its last interval ends at 1.83)."""
    return first_row_s - interval_s + max(interval_s, FULL_WINDOW * window_s)


class SlidingWindows:
    """A stream's motion as windows: every `hop_s` seconds, the feature vector of the last
    `window_s` seconds of interval rows (`window_features`), pooled exactly as a training clip
    is. The one definition of a window, for the live analytic and for scoring recorded clips.

    `features` is the analytic's settings (width, interval_s, window_fraction, the live
    analytic's least flows a second `stream_flow_fps` (else the training clips' `flow_fps`),
    and window_s / hop_s unless given). After each `push`, `row` is the interval row that frame
    closed (None if it closed none)."""

    def __init__(
        self, features: dict, window_s: float | None = None, hop_s: float | None = None
    ) -> None:
        f = features
        self.window_s = float(window_s or f.get("window_s", 2.0))
        self.hop_s = float(hop_s or f.get("hop_s", 0.5))
        self.intervals = MotionIntervals(
            int(f.get("width", 160)),
            float(f.get("interval_s", 0.16)),
            float(f.get("window_fraction", 0.25)),
            live_flow_fps(f),
        )
        self.rows: deque[tuple[float, list[float]]] = deque()
        self.next_end: float | None = None
        self.row: tuple[float, list[float]] | None = None

    def reset(self) -> None:
        """Forget the view (the stream dropped, or a different scene follows)."""
        self.intervals.reset()
        self.rows.clear()
        self.next_end = None

    def wants(self, t: float) -> bool:
        """Whether the frame at `t` is used at all (a caller may skip converting the others)."""
        return self.intervals.wants(t)

    def push(self, t: float, image: np.ndarray) -> tuple[float, np.ndarray] | None:
        """One decoded frame; returns (window end, window features) when a hop ends."""
        if self.rows and t - self.rows[-1][0] > self.intervals.max_gap_s:
            self.reset()  # a dropped stream: the old rows no longer describe the view
        self.row = self.intervals.push(t, image)
        if self.row is None:
            return None
        end = self.row[0]
        self.rows.append(self.row)
        while self.rows and self.rows[0][0] <= end - self.window_s + 1e-6:
            self.rows.popleft()
        if self.next_end is None:
            self.next_end = first_window_end(
                self.rows[0][0], self.intervals.interval_s, self.window_s
            )
        if end + 1e-6 < self.next_end:
            return None
        # on the hop grid, not from this row: rows end every interval_s, hops need not
        self.next_end = max(self.next_end + self.hop_s, end - self.hop_s / 2)
        return end, window_features([r for _, r in self.rows])


def region_features(
    path: Path,
    width: int = 160,
    interval_s: float = 0.16,
    window_fraction: float = 0.25,
    flow_fps: float = 0.0,
) -> np.ndarray:
    """The region features of one clip file: every interval row of the clip, pooled as one
    window (exactly what the streaming analytic computes on a window of the same length)."""
    intervals = MotionIntervals(width, interval_s, window_fraction, flow_fps, max_gap_s=1e9)
    rows, frames = [], 0
    for f in sample_clip(path, "fixed_rate", rate_fps=1000.0, colour="luma"):  # every frame
        frames += 1
        if (out := intervals.push(f.time_s, f.image)) is not None:
            rows.append(out[1])
    if frames < 2:
        raise ClipDecodeError(f"{path}: fewer than 2 frames, no motion to measure")
    return window_features(rows)


def slower_camera_features(
    path: Path,
    steps: list[int] | tuple[int, ...],
    slowest_fps: float,
    width: int = 160,
    interval_s: float = 0.16,
    window_fraction: float = 0.25,
) -> list[np.ndarray]:
    """The region features of one clip as slower cameras would send it: for each step `k`,
    every k-th decoded frame only (a 25 fps clip as a 12.5 and an 8.3 fps camera), one window
    each, in order of `steps`. A step that leaves fewer than `slowest_fps` frames a second is
    left out (the clip is already slow). For training the classifier and judging it on slower
    cameras (the live analytic sees what its camera sends): flow between frames further apart
    measures the same motion differently, and the cameras send 10 to 25 fps.

    Raises:
        ClipDecodeError: the clip cannot be decoded (the message names it).
    """
    runs = {k: MotionIntervals(width, interval_s, window_fraction, 0.0, 1e9) for k in steps}
    rows: dict[int, list[list[float]]] = {k: [] for k in steps}
    times: list[float] = []
    for n, f in enumerate(sample_clip(path, "fixed_rate", rate_fps=1000.0, colour="luma")):
        times.append(f.time_s)
        for k, intervals in runs.items():
            if n % k == 0 and (out := intervals.push(f.time_s, f.image)) is not None:
                rows[k].append(out[1])
    if len(times) < 2:
        raise ClipDecodeError(f"{path}: fewer than 2 frames, no motion to measure")
    fps = (len(times) - 1) / max(times[-1] - times[0], 1e-6)
    return [window_features(rows[k]) for k in steps if fps / k >= slowest_fps and rows[k]]


def clip_features(
    path: Path,
    features: str = "region",
    width: int = 160,
    interval_s: float = 0.16,
    window_fraction: float = 0.25,
    statistics_fps: float = 10.0,
    flow_fps: float = 0.0,
) -> np.ndarray:
    """One clip's feature vector, by feature set name.

    Raises:
        ClipDecodeError: the clip cannot be decoded (the message names it).
    """
    if features == "region":
        return region_features(path, width, interval_s, window_fraction, flow_fps)
    if features == "statistics":
        return statistics_features(path, statistics_fps, width)
    raise ValueError(f"unknown fight feature set {features!r} (one of {', '.join(FEATURE_SETS)})")
