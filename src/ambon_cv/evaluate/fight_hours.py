"""The fight alerts on an hour of held-out hot-spot footage: enough to resolve about one false
alert per camera-hour, which the held-out event clips (minutes) cannot.

The rendered city's fight hot spots, with their own seed and fights spread out
(`evaluate.fight_hours`), go through the streaming fight analytic alone (no detector: the
fight rule does not read it) and the alert engine's incident rule. Every rate comes with its
counts and a 95% interval; the operating curve over opening thresholds shows what else the
footage would allow.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ambon_cv.alerts import AlertEngine, match_alerts
from ambon_cv.config import AlertRules, Camera, FightHours, SyntheticCity
from ambon_cv.fights.analytic import clip_window_scores, incident_rules
from ambon_cv.fights.budget import window
from ambon_cv.fights.classifier import FightModel
from ambon_cv.fights.workers import per_clip
from ambon_cv.footage.synth import RenderedClip, plan_clips, render_clip
from ambon_cv.intervals import rate_interval, share_interval

CURVE = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.96, 0.97, 0.98, 0.99)


def fight_city(cameras: list[Camera], base: SyntheticCity, p: FightHours) -> SyntheticCity:
    """The city of the fight hours: the hot spots, its own seed, length and fight rate."""
    rates = base.incidents_per_camera_hour.model_copy(update={"fight": p.fights_per_camera_hour})
    return base.model_copy(
        update={
            "seed": p.seed,
            "cameras": [c.id for c in cameras],
            "clips_per_camera": p.clips_per_camera,
            "clip_seconds": p.clip_seconds,
            "incidents_per_camera_hour": rates,
        }
    )


def _render_and_score(job) -> tuple[RenderedClip, list[tuple[float, float]]]:
    """One held-out clip rendered (its incidents, no per-frame boxes), scored by the fight
    analytic, and deleted: in a worker process, so rendering and scoring overlap."""
    import cv2

    plan, city, cam_index, out, model_dir = job
    cv2.setNumThreads(1)
    # x264's ultrafast: a third of the footage stage's veryfast time; the same fight figures
    # within their intervals (reports/experiments/2026-12-08-fights-hour-encoding.md)
    clip = render_clip(plan, city, cam_index, out, boxes=False, preset="ultrafast")
    model = FightModel.load(Path(model_dir))
    scores = [(t, float(d.confidence[0])) for t, d in clip_window_scores(model, clip.path)]
    clip.path.unlink()
    return clip, scores


def replay(
    windows: dict[str, list[tuple[float, float]]],
    incidents: list[dict],
    rules: AlertRules,
    open_threshold: float,
    hours: float,
    camera_open: dict[str, float] | None = None,
) -> dict:
    """Every clip's window scores through the alert engine at this opening threshold (and a
    clip's camera's own, where `camera_open` has one: keyed by clip), scored against the
    incidents (dicts with camera = the clip id)."""
    engine = AlertEngine(rules, fight_open=open_threshold, camera_open=camera_open)
    for clip, rows in windows.items():
        for t, score in rows:
            engine.update(clip, t, window(score))
    m = match_alerts(engine.alerts, incidents, hours, "fight")
    return {
        **m.as_dict(),
        "open": open_threshold,
        "detected": m.detected,
        "covered": m.covered,
        "false_alerts": m.false_alerts,
        "hours": round(hours, 3),
        "false_alerts_per_camera_hour_95": rate_interval(m.false_alerts, hours),
        "incident_recall_with_open_alerts_95": share_interval(m.detected + m.covered, m.incidents),
    }


def fight_hours(
    model_dir: Path,
    rules: AlertRules,
    cameras: list[Camera],
    base: SyntheticCity,
    p: FightHours,
    progress: bool = True,
) -> dict | None:
    """Render the fight hours, score every clip with the fight analytic in `p.workers`
    processes, and replay the windows through the alert engine: at the model's opening
    threshold (the budget's), and over `CURVE` for the operating curve. None when skipped."""
    if not p.clips_per_camera or not cameras:
        return None
    model = FightModel.load(model_dir)
    rules = incident_rules(rules, model)
    city = fight_city(cameras, base, p)
    plans = plan_clips(cameras, city)
    index = {c.id: i for i, c in enumerate(cameras)}
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(plan, city, index[plan.camera.id], Path(tmp), str(model_dir)) for plan in plans]
        done = per_clip(_render_and_score, jobs, p.workers, progress, "fight hours")
    windows = {clip.clip: scores for clip, scores in done}
    clips = [clip for clip, _ in done]
    rows = [
        dict(camera=i["clip"], kind=i["kind"], start_s=i["start_s"], end_s=i["end_s"])
        for clip in clips
        for i in clip.incidents
    ]
    hours = len(clips) * city.clip_seconds / 3600
    own = {c.clip: model.camera_open[c.camera] for c in clips if c.camera in model.camera_open}
    shipped = replay(windows, rows, rules, float(rules.fight_open), hours, own)
    return {
        **shipped,
        "clips": len(clips),
        "fights_per_camera_hour": p.fights_per_camera_hour,
        "curve": [
            {
                k: v
                for k, v in replay(windows, rows, rules, t, hours).items()
                if k in ("open", "false_alerts_per_camera_hour", "incident_recall_with_open_alerts")
            }
            for t in CURVE
            if t >= rules.fight_keep
        ],
    }
