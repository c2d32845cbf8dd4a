"""Windows of the synthetic city's recorded footage as training examples for the fight
classifier: a window inside a rendered fight is a fight, a window that touches no fight is not,
and windows half in, half out are left out.

The real clips teach what a real fight looks like; these teach the rendered city's look, so the
analytic that the held-out synthetic events and the live-load benchmark run is not scoring a
world it never saw. They are added to every training fold and never tested on: the held-out
event clips are rendered with their own seed, and the real clips share no recording with them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ambon_cv.fights.motion import SlidingWindows, window_features
from ambon_cv.frames.sample import ClipDecodeError, sample_clip


def window_labels(
    ends: np.ndarray, window_s: float, fights: list[tuple[float, float]], inside: float = 0.75
) -> np.ndarray:
    """1: at least `inside` of the window overlaps a fight; 0: no overlap; -1: in between."""
    labels = np.zeros(len(ends), np.int64)
    for i, end in enumerate(ends):
        start = end - window_s
        overlap = sum(max(0.0, min(end, b) - max(start, a)) for a, b in fights)
        labels[i] = 1 if overlap >= inside * window_s else (0 if overlap <= 0 else -1)
    return labels


def clip_windows(
    path: Path, features: dict, window_s: float, hop_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(window end times, their feature rows, the whole clip as one window, the seconds of
    motion measured) of one clip, a window every `hop_s` seconds as the streaming analytic
    scores them."""
    windows = SlidingWindows(features, window_s, hop_s)
    rows: list[tuple[float, list[float]]] = []
    ends, feats = [], []
    for f in sample_clip(path, "fixed_rate", rate_fps=1000.0, colour="luma"):
        if not windows.wants(f.time_s):
            continue
        out = windows.push(f.time_s, f.image)
        if windows.row is not None:
            rows.append(windows.row)
        if out is not None:
            ends.append(out[0])
            feats.append(out[1])
    if not rows:
        raise ClipDecodeError(f"{path}: too short for one motion interval")
    whole = window_features([r for _, r in rows])
    x = np.stack(feats) if feats else np.zeros((0, len(whole)))
    seconds = rows[-1][0] - rows[0][0] + windows.intervals.interval_s
    return np.array(ends), x, whole, float(seconds)


def footage_windows(
    footage: Path, features: dict, window_s: float, hop_s: float, progress: bool = True
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labelled windows of every clip in a footage folder (the `footage` stage's output:
    `manifest.parquet`, `incidents.parquet`, `clips/`): (features, labels, problems)."""
    import pandas as pd
    from tqdm.auto import tqdm

    manifest = pd.read_parquet(footage / "manifest.parquet")
    incidents = pd.read_parquet(footage / "incidents.parquet")
    fights = incidents[incidents["kind"] == "fight"]
    xs, ys, problems = [], [], []
    rows = manifest[manifest["status"] == "ok"] if "status" in manifest else manifest
    for clip in tqdm(list(rows["clip"]), desc="footage windows", unit="clip", disable=not progress):
        name = Path(clip).stem
        spans = [
            (float(a), float(b))
            for a, b in fights.loc[fights["clip"] == name, ["start_s", "end_s"]].to_numpy()
        ]
        try:
            ends, x, _, _ = clip_windows(footage / "clips" / clip, features, window_s, hop_s)
        except ClipDecodeError as err:
            problems.append(str(err))
            continue
        y = window_labels(ends, window_s, spans)
        keep = y >= 0
        xs.append(x[keep])
        ys.append(y[keep])
    if not xs:
        return np.zeros((0, 1), np.float32), np.zeros(0, np.int64), problems
    return np.concatenate(xs), np.concatenate(ys), problems
