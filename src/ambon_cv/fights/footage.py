"""Windows of the synthetic city's recorded footage as training examples for the fight
classifier: a window inside a rendered fight is a fight, a window that touches no fight is not,
and windows half in, half out are left out.

The real clips teach what a real fight looks like; these teach the rendered city's look, so the
analytic that the held-out synthetic events and the live-load benchmark run is not scoring a
world it never saw. They are added to every training fold and never tested on: the held-out
event clips are rendered with their own seed, and the real clips share no recording with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ambon_cv.fights.motion import MotionIntervals, SlidingWindows, window_features
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
    scores them (at its least flows a second), the whole clip as training sees it (at the
    training clips' `flow_fps`: the same pass of the frames when the two agree)."""
    windows = SlidingWindows(features, window_s, hop_s)
    live = windows.intervals
    whole_rate = float(features.get("flow_fps", 0.0))
    whole = None  # the whole clip's own flow, when training takes other frames than the stream
    if whole_rate != live.flow_fps:
        whole = MotionIntervals(live.width, live.interval_s, live.window_fraction, whole_rate, 1e9)
    rows: list[tuple[float, list[float]]] = []
    ends, feats = [], []
    for f in sample_clip(path, "fixed_rate", rate_fps=1000.0, colour="luma"):
        row = whole.push(f.time_s, f.image) if whole is not None else None
        if row is not None:
            rows.append(row)
        if not windows.wants(f.time_s):
            continue
        out = windows.push(f.time_s, f.image)
        if windows.row is not None and whole is None:
            rows.append(windows.row)
        if out is not None:
            ends.append(out[0])
            feats.append(out[1])
    if not rows:
        raise ClipDecodeError(f"{path}: too short for one motion interval")
    pooled = window_features([r for _, r in rows])
    x = np.stack(feats) if feats else np.zeros((0, len(pooled)))
    seconds = rows[-1][0] - rows[0][0] + windows.intervals.interval_s
    return np.array(ends), x, pooled, float(seconds)


@dataclass
class RecordedWindows:
    """Every window of a footage folder's clips, as the streaming analytic scores them."""

    x: np.ndarray  # one feature row per window
    labels: np.ndarray  # `window_labels`: 1 fight, 0 none, -1 half in
    cameras: np.ndarray
    clips: np.ndarray  # the clip id: each clip is its own clock
    ends: np.ndarray  # window end, seconds into its clip
    fights: list[dict]  # the fight incidents, keyed by clip id (as `alerts.match_alerts` takes)
    problems: list[str]  # a line per clip that could not be decoded


def recorded_windows(
    footage: Path, features: dict, window_s: float, hop_s: float, progress: bool = True
) -> RecordedWindows:
    """The windows of every clip in a footage folder (the `footage` stage's output:
    `manifest.parquet`, `incidents.parquet`, `clips/`), labelled by its fight incidents."""
    import pandas as pd
    from tqdm.auto import tqdm

    manifest = pd.read_parquet(footage / "manifest.parquet")
    incidents = pd.read_parquet(footage / "incidents.parquet")
    fights = incidents[incidents["kind"] == "fight"]
    rows = manifest[manifest["status"] == "ok"] if "status" in manifest else manifest
    xs, labels, cameras, clips, ends, problems = [], [], [], [], [], []
    clip_cameras = list(zip(rows["clip"], rows["camera"], strict=True))
    for clip, camera in tqdm(
        clip_cameras, desc="footage windows", unit="clip", disable=not progress
    ):
        name = Path(clip).stem
        spans = [
            (float(a), float(b))
            for a, b in fights.loc[fights["clip"] == name, ["start_s", "end_s"]].to_numpy()
        ]
        try:
            end, x, _, _ = clip_windows(footage / "clips" / clip, features, window_s, hop_s)
        except ClipDecodeError as err:
            problems.append(str(err))
            continue
        xs.append(x)
        labels.append(window_labels(end, window_s, spans))
        cameras += [camera] * len(end)
        clips += [name] * len(end)
        ends.append(end)
    incidents_by_clip = [
        dict(camera=r.clip, kind="fight", start_s=r.start_s, end_s=r.end_s)
        for r in fights.itertuples()
    ]
    return RecordedWindows(
        np.concatenate(xs) if xs else np.zeros((0, 1), np.float32),
        np.concatenate(labels) if labels else np.zeros(0, np.int64),
        np.array(cameras),
        np.array(clips),
        np.concatenate(ends) if ends else np.zeros(0),
        incidents_by_clip,
        problems,
    )


def footage_windows(
    footage: Path, features: dict, window_s: float, hop_s: float, progress: bool = True
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The labelled windows of a footage folder (half-in windows left out): (features, labels,
    problems)."""
    w = recorded_windows(footage, features, window_s, hop_s, progress)
    keep = w.labels >= 0
    return w.x[keep], w.labels[keep], w.problems
