"""Per-camera calibration: each hot spot's opening threshold set to the alert budget on its own
recorded footage (a normal day: the `footage` stage's manifest).

A camera whose view makes the analytic restless (traffic through the busiest window, trees,
a market) raises false alerts at the global threshold; its own footage says how high its
threshold must be to stay within `fights.budget`. Calibration only raises a camera's threshold
above the global one, never lowers it: minutes of quiet footage cannot prove that a camera
may alert more. A camera with less footage than `fights.calibration.min_minutes` keeps the
global threshold, and the report says so; a clip that cannot be decoded is named and the
camera's other clips go on.

Where the footage comes with its incidents (the rendered city's `incidents.parquet`), the
windows during a known fight are not counted as false alerts; a recorder's export has none,
so every window of it counts (a fight in the calibration footage makes that camera stricter).

Example:
    >>> from ambon_cv.config import AlertRules
    >>> quiet = [StreamedClip("c1", False, [0.1] * 100 + [0.905] * 4 + [0.1] * 100, 102.0)]
    >>> rules = AlertRules(fight_keep=0.5, fight_min_s=1.0)
    >>> calibrate_camera("pemkot-02", quiet, rules, 0.5, budget=0.5, global_open=0.8,
    ...                  min_minutes=1.0).open
    0.91
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ambon_cv.config import AlertRules
from ambon_cv.fights.budget import THRESHOLDS, StreamedClip, choose_open

HIGHEST = THRESHOLDS[-1]


@dataclass(frozen=True)
class CameraCalibration:
    camera: str
    open: float  # the camera's opening threshold
    minutes: float  # of its footage scored
    false_alerts: int  # on that footage, at its threshold
    how: str  # own footage | too little footage | no footage decoded | over budget at the top
    unreadable: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {**asdict(self), "unreadable": list(self.unreadable)}


def calibrate_camera(
    camera: str,
    clips: list[StreamedClip],
    rules: AlertRules,
    hop_s: float,
    budget: float,
    global_open: float,
    min_minutes: float,
    unreadable: tuple[str, ...] = (),
) -> CameraCalibration:
    """One camera's threshold from its clips' window scores (all non-fight footage)."""
    minutes = sum(c.seconds for c in clips) / 60
    if not clips:
        return CameraCalibration(camera, global_open, 0.0, 0, "no footage decoded", unreadable)
    if minutes < min_minutes:
        return CameraCalibration(camera, global_open, minutes, 0, "too little footage", unreadable)
    tried = [t for t in THRESHOLDS if t >= global_open] or [HIGHEST]
    point = choose_open(clips, rules, hop_s, budget, tried)
    within = point.false_alerts_per_camera_hour <= budget
    how = "own footage" if within else "over budget at the top"
    return CameraCalibration(camera, point.open, minutes, point.false_alerts, how, unreadable)


def known_fights(footage: Path) -> dict[str, list[tuple[float, float]]]:
    """Clip stem -> (start, end) of each fight the footage's incidents name (none for a
    recorder's export, which has no incidents file)."""
    file = footage / "incidents.parquet"
    if not file.is_file():
        return {}
    rows = pd.read_parquet(file)
    out: dict[str, list[tuple[float, float]]] = {}
    for r in rows[rows["kind"] == "fight"].itertuples():
        out.setdefault(str(r.clip), []).append((float(r.start_s), float(r.end_s)))
    return out


def quiet_scores(
    windows: list[tuple[float, float]], fights: list[tuple[float, float]], window_s: float
) -> list[float]:
    """Window scores with those overlapping a known fight set to 0 (not a false alert).

    Example:
        >>> quiet_scores([(2.0, 0.9), (4.0, 0.9), (9.0, 0.9)], [(3.0, 5.0)], window_s=2.0)
        [0.9, 0.0, 0.9]
    """
    out = []
    for t, score in windows:
        during = any(t - window_s < end and t > start for start, end in fights)
        out.append(0.0 if during else score)
    return out


def hot_spot_clips(root: Path, footage: Path, hot_spots: set[str]) -> dict[str, list[Path]]:
    """Camera -> its usable clips in the footage's manifest, for the hot spots only (the
    manifest's paths are relative to the project `root`)."""
    manifest = footage / "manifest.parquet"
    if not manifest.is_file():
        return {}
    rows = pd.read_parquet(manifest)
    rows = rows[(rows["status"] == "ok") & rows["camera"].isin(hot_spots)]
    out: dict[str, list[Path]] = {}
    for r in rows.itertuples():
        path = Path(r.path)
        out.setdefault(str(r.camera), []).append(path if path.is_absolute() else root / path)
    return out


def calibrate_cameras(
    model_dir: Path,
    clips_by_camera: dict[str, list[Path]],
    fights_by_clip: dict[str, list[tuple[float, float]]],
    rules: AlertRules,
    budget: float,
    global_open: float,
    min_minutes: float,
    workers: int = 2,
    progress: bool = True,
) -> dict[str, CameraCalibration]:
    """Every hot spot's threshold from its clips, scored by the fight analytic in `workers`
    processes (a clip that cannot be decoded is named in its camera's entry)."""
    from ambon_cv.fights.analytic import score_clips
    from ambon_cv.fights.classifier import FightModel

    features = FightModel.load(model_dir).features
    window_s, hop_s = float(features.get("window_s", 2.0)), float(features.get("hop_s", 0.5))
    paths = [p for clips in clips_by_camera.values() for p in clips]
    scored = dict(zip(paths, score_clips(model_dir, paths, workers, progress), strict=True))
    out = {}
    for camera, clips in sorted(clips_by_camera.items()):
        streams, broken = [], []
        for path in clips:
            result = scored[path]
            if isinstance(result, str):
                broken.append(result)
                continue
            windows, seconds = result
            scores = quiet_scores(windows, fights_by_clip.get(path.stem, []), window_s)
            streams.append(StreamedClip(path.stem, False, scores, seconds))
        out[camera] = calibrate_camera(
            camera, streams, rules, hop_s, budget, global_open, min_minutes, tuple(broken)
        )
    return out
