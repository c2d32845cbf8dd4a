"""How many of evaluate's held-out fight incidents can any analytic alert on, under the alert
rules? The held-out clips are 30 s long and the synthetic city renders fights boosted to 120
per camera-hour, while the alert engine raises no second alert of a kind on a camera within
`evaluate.alerts.cooldown_s` (60 s) of the last one. A clip holding two or three fights can
then alert on one of them at most, whatever the analytic. This renders the same clips the
`evaluate` stage renders (`evaluate.events`, the fight hot spots), lets an ideal analytic
alert at the earliest moment each incident and the cooldown allow, and sets the recall that
`evaluate` measured beside that ceiling, for the shipped cooldown and shorter ones.

Run: .venv/bin/python benchmarks/fight_alert_ceiling.py
     [--out reports/experiments/2026-12-06-fights-alert-ceiling.md]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd

from ambon_cv.alerts import TOLERANCE_S  # as evaluate scores alerts
from ambon_cv.config import load_cameras, load_params
from ambon_cv.evaluate.events import held_out_city
from ambon_cv.footage.synth import render_city


def ceiling(incidents: pd.DataFrame, cooldown_s: float) -> int:
    """The most incidents an ideal analytic detects: per clip, incidents by their end, each
    alerted at the earliest moment it and the cooldown allow (one alert counts for every
    incident it falls in)."""
    hits = 0
    for _, clip in incidents.groupby("clip"):  # each clip is its own clock
        last = None
        for r in clip.sort_values("end_s").itertuples():
            if last is not None and r.start_s - TOLERANCE_S <= last <= r.end_s + TOLERANCE_S:
                hits += 1
                continue
            t = max(r.start_s - TOLERANCE_S, 0.0, last + cooldown_s if last is not None else 0.0)
            if t <= r.end_s + TOLERANCE_S:
                hits, last = hits + 1, t
    return hits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", type=Path, default=Path("reports/experiments/2026-12-06-fights-alert-ceiling.md")
    )
    args = ap.parse_args()
    params = load_params(Path("params.yaml"))
    registry = load_cameras(Path("data/cameras.yaml"))
    ev, rules = params.evaluate.events, params.evaluate.alerts
    cameras, city = held_out_city(params, registry)  # as the evaluate stage renders them
    with tempfile.TemporaryDirectory() as tmp:
        clips = render_city(cameras, city, Path(tmp), progress=True)
        incidents = pd.read_parquet(Path(tmp) / "incidents.parquet")
    fights = incidents[(incidents.kind == "fight") & (incidents.end_s > 0)]  # seen, as scored
    per_clip = fights.groupby("clip").size().reindex([c.clip for c in clips], fill_value=0)
    measured = None
    report = Path("reports/evaluate.json")
    if report.exists():
        measured = json.loads(report.read_text())["event"]["fight"]
    cooldowns = sorted({rules.cooldown_s, 30.0, 10.0, 0.0}, reverse=True)
    rows = [(c, ceiling(fights, c)) for c in cooldowns]
    n = len(fights)
    lines = [
        "# Fight incidents any analytic could alert on (evaluate's held-out clips)",
        "",
        f"{len(clips)} held-out clips of {ev.clip_seconds:g} s (seed {ev.seed}, the fight hot "
        f"spots), {n} fight incidents in view, {float((fights.end_s - fights.start_s).mean()):.1f}"
        f" s long on average. Fight incidents per clip: "
        + ", ".join(f"{k} on {v} clips" for k, v in per_clip.value_counts().sort_index().items())
        + ".",
        "",
        "An ideal analytic alerts at the earliest moment each incident and the cooldown allow "
        "(one alert per camera and kind within `cooldown_s` of the last one, as the alert "
        "engine does).",
        "",
        "| cooldown s | incidents an ideal analytic detects | recall ceiling |",
        "|---|---|---|",
        *[
            f"| {c:g}{' (shipped)' if c == rules.cooldown_s else ''} | {h} of {n} | {h / n:.3f} |"
            for c, h in rows
        ],
        "",
    ]
    if measured:
        shipped = (
            rows[0][1] if rows[0][0] == rules.cooldown_s else ceiling(fights, rules.cooldown_s)
        )
        found = round(measured["incident_recall"] * measured["incidents"])
        lines += [
            f"`evaluate` (reports/evaluate.json) detected {found} of {measured['incidents']} "
            f"(recall {measured['incident_recall']:.3f}): {found} of the {shipped} the shipped "
            f"cooldown leaves detectable ({found / shipped:.2f}), with "
            f"{measured['false_alerts_per_camera_hour']:.1f} false alerts per camera-hour.",
            "",
        ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
