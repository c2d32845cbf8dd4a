"""Event-level evaluation: whole held-out clips, every analysed frame, alerts against incidents.

The held-out clips are rendered by the synthetic city with their own seed (a stretch of the
city's time no training frame comes from), on the cameras that run the analytic. Each clip is
its own clock, so alerts and incidents are keyed by clip.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from ambon_cv.alerts import TOLERANCE_S, AlertEngine, AlertRules, EventMetrics, match_alerts
from ambon_cv.config import Camera, CameraRegistry, ChangeGating, Params, SyntheticCity
from ambon_cv.detections import Detections
from ambon_cv.evaluate.detector import Detector
from ambon_cv.fights.analytic import alert_engine, clip_window_scores
from ambon_cv.fights.classifier import FightModel
from ambon_cv.frames.sample import sample_clip
from ambon_cv.inference.gate import ChangeGate
from ambon_cv.inference.tracking import Tracker, identity

TRACKS_JUDGED = ("person", "garbage")  # the fight analytic's people, the piles' presence


def held_out_city(params: Params, registry: CameraRegistry) -> tuple[list[Camera], SyntheticCity]:
    """The cameras and the synthetic city of the held-out clips (`evaluate.events`): the
    cameras named there, else the fight hot spots, each with the events' own seed, clip count
    and length (the rest as `footage.synthetic` renders)."""
    ev = params.evaluate.events
    cameras = (
        registry.select(ev.cameras)
        if ev.cameras
        else [c for c in registry.cameras if c.analytic("fight") is not None]
    )
    city = params.footage.synthetic.model_copy(
        update={
            "seed": ev.seed,
            "cameras": [c.id for c in cameras],
            "clips_per_camera": ev.clips_per_camera,
            "clip_seconds": ev.clip_seconds,
        }
    )
    return cameras, city


def evaluate_events(
    detector: Detector,
    cameras: list[Camera],
    city: SyntheticCity,
    rules: AlertRules,
    analysis_fps: float,
    progress: bool = True,
    fights: FightModel | None = None,
    gate: ChangeGating | None = None,
) -> tuple[dict[str, EventMetrics], list[dict], dict | None]:
    """Render the held-out clips, run the deployed analytics on them as live streams (the
    detector on every analysed frame; the streaming fight analytic on every decoded frame of
    the cameras that run a fight analytic) into one alert engine, and score alerts per kind.

    With `gate`, the same frames also go through change-gated inference into a second alert
    engine (a frame whose view did not change takes the detections of the last one inferred),
    so the two sets of event metrics compare on identical footage.

    Every analysed frame's detections are tracked (one tracker per clip, as per camera live),
    and the tracks are judged against the clips' ground-truth identities.

    Returns the metrics per kind, a timeline row per alert/incident (for plots), the gating
    comparison (None without `gate`) and the tracking figures per class."""
    from tqdm.auto import tqdm

    from ambon_cv.footage.synth import render_city

    gating = ChangeGate(gate) if gate is not None else None
    hot_spots = {c.id for c in cameras if c.analytic("fight") is not None}
    tracked: dict[str, list[dict]] = {cls: [] for cls in TRACKS_JUDGED}
    with tempfile.TemporaryDirectory() as tmp:
        clips = render_city(cameras, city, Path(tmp), progress=progress)
        # the budget's threshold, and each calibrated hot spot's own (the engine is keyed by
        # clip: every clip has its own clock)
        of_camera = {c.clip: c.camera for c in clips}
        engine = alert_engine(rules, fights, of_camera)
        gated = alert_engine(rules, fights, of_camera) if gate is not None else None
        incidents = pd.read_parquet(Path(tmp) / "incidents.parquet")
        for clip in tqdm(clips, desc="event evaluation", unit="clip", disable=not progress):
            frames = list(sample_clip(clip.path, "fixed_rate", rate_fps=analysis_fps))
            truth = pd.read_parquet(clip.truth).set_index("frame_index")
            tracker, pairs = Tracker(analysis_fps), []
            last = None
            for f, found in zip(frames, detector(f.image for f in frames), strict=True):
                dets = tracker.update(found, f.image.shape[:2])
                if f.index in truth.index:
                    row = truth.loc[f.index]
                    pairs.append(
                        (Detections.from_columns(row.boxes, row.classes, row.object_ids), dets)
                    )
                engine.update(clip.clip, f.time_s, dets)
                if gating is not None:
                    if gating.needs_inference(clip.clip, f.time_s, f.image) or last is None:
                        last = dets
                    gated.update(clip.clip, f.time_s, last)
            for cls in TRACKS_JUDGED:
                tracked[cls].append(identity(pairs, cls))
            if fights is not None and clip.camera in hot_spots:
                for t, window in clip_window_scores(fights, clip.path):
                    engine.update(clip.clip, t, window)
                    if gated is not None:
                        gated.update(clip.clip, t, window)
    rows = [
        dict(camera=r.clip, kind=r.kind, start_s=r.start_s, end_s=r.end_s)
        for r in incidents.itertuples()
    ]
    hours = len(clips) * city.clip_seconds / 3600
    metrics = {
        kind: match_alerts(engine.alerts, rows, hours, kind) for kind in ("fight", "garbage")
    }
    comparison = None
    if gated is not None:
        comparison = _gating(engine, gated, rows, hours, gating, analysis_fps)
    timeline = [
        dict(clip=r["camera"], what=f"incident:{r['kind']}", start_s=r["start_s"], end_s=r["end_s"])
        for r in rows
    ]
    timeline += [
        dict(clip=a.camera, what=f"alert:{a.kind}", start_s=a.raised_s, end_s=a.last_seen_s)
        for a in engine.alerts
    ]
    return metrics, timeline, comparison, {c: _pooled(r) for c, r in tracked.items()}


def _pooled(per_clip: list[dict]) -> dict:
    """One class's tracking figures over every clip (purity weighted by matched frames)."""
    matched = sum(r["matched_frames"] for r in per_clip)
    return {
        "objects": sum(r["objects"] for r in per_clip),
        "matched_frames": matched,
        "id_switches": sum(r["id_switches"] for r in per_clip),
        "purity": (
            sum(r["purity"] * r["matched_frames"] for r in per_clip if r["purity"] is not None)
            / matched
            if matched
            else None
        ),
    }


def _gating(
    engine: AlertEngine, gated: AlertEngine, rows, hours, gate: ChangeGate, fps: float
) -> dict:
    """Gated against ungated event metrics: the share of inferences skipped, and whether
    nothing was lost (every incident found ungated is found gated, its first alert at most one
    analysis period later)."""
    period = 1 / fps
    out: dict = {"skipped_share": gate.skipped_share, "analysis_period_s": round(period, 3)}
    lost = []
    for kind in ("fight", "garbage"):
        on, off = (match_alerts(e.alerts, rows, hours, kind) for e in (gated, engine))
        first_off = _first_alerts(engine.alerts, rows, kind)
        first_on = _first_alerts(gated.alerts, rows, kind)
        shifts = [first_on[n] - t for n, t in first_off.items() if n in first_on]
        missing = [n for n in first_off if n not in first_on]
        out[kind] = {
            "incident_recall": on.incident_recall,
            "incident_recall_ungated": off.incident_recall,
            "false_alerts": on.false_alerts,
            "false_alerts_ungated": off.false_alerts,
            "max_alert_delay_s": round(max(shifts), 3) if shifts else 0.0,
        }
        if missing:
            lost.append(f"{kind}: {len(missing)} incidents found ungated are missed gated")
        elif shifts and max(shifts) > period + 1e-6:
            lost.append(f"{kind}: an alert {max(shifts):.2f} s later than ungated")
    out["nothing_lost"] = not lost
    out["lost"] = lost
    return out


def _first_alerts(alerts, rows: list[dict], kind: str, tolerance_s: float = TOLERANCE_S) -> dict:
    """Incident index -> when its first alert of `kind` was raised (as `match_alerts` pairs
    them: the same camera, raised from `tolerance_s` before its start to as long after its
    end)."""
    kinds = {"garbage", "overflow"} if kind == "garbage" else {kind}
    first: dict[int, float] = {}
    for n, i in enumerate(rows):
        if i["kind"] not in kinds:
            continue
        raised = [
            a.raised_s
            for a in alerts
            if a.kind == kind
            and a.camera == i["camera"]
            and i["start_s"] - tolerance_s <= a.raised_s <= i["end_s"] + tolerance_s
        ]
        if raised:
            first[n] = min(raised)
    return first
