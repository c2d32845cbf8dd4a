"""Event-level evaluation: whole held-out clips, every analysed frame, alerts against incidents.

The held-out clips are rendered by the synthetic city with their own seed (a stretch of the
city's time no training frame comes from), on the cameras that run the analytic. Each clip is
its own clock, so alerts and incidents are keyed by clip.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from ambon_cv.alerts import AlertEngine, AlertRules, EventMetrics, match_alerts
from ambon_cv.config import Camera, SyntheticCity
from ambon_cv.evaluate.detector import Detector
from ambon_cv.fights.analytic import clip_window_scores
from ambon_cv.fights.classifier import FightModel
from ambon_cv.frames.sample import sample_clip


def evaluate_events(
    detector: Detector,
    cameras: list[Camera],
    city: SyntheticCity,
    rules: AlertRules,
    analysis_fps: float,
    progress: bool = True,
    fights: FightModel | None = None,
) -> tuple[dict[str, EventMetrics], list[dict]]:
    """Render the held-out clips, run the deployed analytics on them as live streams (the
    detector on every analysed frame; the streaming fight analytic on every decoded frame of
    the cameras that run a fight analytic) into one alert engine, and score alerts per kind.
    Returns the metrics per kind and a timeline row per alert/incident (for plots)."""
    from tqdm.auto import tqdm

    from ambon_cv.footage.synth import render_city

    engine = AlertEngine(rules)
    hot_spots = {c.id for c in cameras if c.analytic("fight") is not None}
    with tempfile.TemporaryDirectory() as tmp:
        clips = render_city(cameras, city, Path(tmp), progress=progress)
        incidents = pd.read_parquet(Path(tmp) / "incidents.parquet")
        for clip in tqdm(clips, desc="event evaluation", unit="clip", disable=not progress):
            frames = list(sample_clip(clip.path, "fixed_rate", rate_fps=analysis_fps))
            for f, dets in zip(frames, detector(f.image for f in frames), strict=True):
                engine.update(clip.clip, f.time_s, dets)
            if fights is not None and clip.camera in hot_spots:
                for t, window in clip_window_scores(fights, clip.path):
                    engine.update(clip.clip, t, window)
    rows = [
        dict(camera=r.clip, kind=r.kind, start_s=r.start_s, end_s=r.end_s)
        for r in incidents.itertuples()
    ]
    hours = len(clips) * city.clip_seconds / 3600
    metrics = {
        kind: match_alerts(engine.alerts, rows, hours, kind) for kind in ("fight", "garbage")
    }
    timeline = [
        dict(clip=r["camera"], what=f"incident:{r['kind']}", start_s=r["start_s"], end_s=r["end_s"])
        for r in rows
    ]
    timeline += [
        dict(clip=a.camera, what=f"alert:{a.kind}", start_s=a.raised_s, end_s=a.last_seen_s)
        for a in engine.alerts
    ]
    return metrics, timeline
