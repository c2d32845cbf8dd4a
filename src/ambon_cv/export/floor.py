"""The quality floor a model must reach before it is published (`export.floor`): per-class val
mAP50 on the synthetic city, mAP50 on real street photos, the garbage and the fight alerts'
incident recall and false alerts per camera-hour on the held-out clips, and the fight alerts
on the real clips (fight clips alerted, false alerts of the non-fight clips as a stream), all
read from the evaluate stage's report. A figure that was not measured counts as below the
floor: a model with no fight analytic does not meet it."""

from __future__ import annotations

from ambon_cv.config import QualityFloor


def shortfalls(evaluation: dict, floor: QualityFloor) -> list[str]:
    """Every way `evaluation` (reports/evaluate.json) falls below `floor`, one line each.

    Example:
        >>> ev = {"frame": {"synthetic": {"per_class": {"garbage": {"mAP50": 0.9}}}},
        ...       "real": {"garbage": {"mAP50": 0.75, "mAP50/garbage": 0.6}},
        ...       "event": {"garbage": {"incident_recall": 0.9,
        ...                             "false_alerts_per_camera_hour": 0.5}}}
        >>> shortfalls(ev, QualityFloor(synthetic_map50={"garbage": 0.8}))[:2]
        ['garbage incident recall 0.900 < 0.95', 'fight incident recall (open alerts counted) \
not measured < 0.9']
    """
    out: list[str] = []
    per_class = evaluation.get("frame", {}).get("synthetic", {}).get("per_class", {})
    for cls, least in floor.synthetic_map50.items():
        _at_least(out, f"synthetic val mAP50 {cls}", per_class.get(cls, {}).get("mAP50"), least)
    real = evaluation.get("real", {}).get("garbage", {})
    for cls, least in floor.real_map50.items():
        have = real.get("mAP50" if cls == "all" else f"mAP50/{cls}")
        _at_least(out, f"real street-garbage mAP50 {cls}", have, least)
    garbage = evaluation.get("event", {}).get("garbage", {})
    _at_least(
        out, "garbage incident recall", garbage.get("incident_recall"),
        floor.garbage_incident_recall,
    )  # fmt: skip
    _at_most(
        out, "garbage false alerts per camera-hour",
        garbage.get("false_alerts_per_camera_hour"), floor.garbage_false_alerts_per_camera_hour,
    )  # fmt: skip
    # fights: the hour of held-out hot-spot footage where it was run (it resolves about one
    # false alert an hour), else the held-out event clips; and the real clips as streams
    fight = evaluation.get("fight_hours") or evaluation.get("event", {}).get("fight", {})
    bound = floor.fight_false_alerts_per_camera_hour
    _at_least(
        out, "fight incident recall (open alerts counted)",
        fight.get("incident_recall_with_open_alerts"), floor.fight_incident_recall,
    )  # fmt: skip
    _at_most(
        out, "fight false alerts per camera-hour", fight.get("false_alerts_per_camera_hour"),
        bound,
    )  # fmt: skip
    stream = evaluation.get("real", {}).get("fights_stream", {})
    _at_least(
        out, "real fight clips alerted", stream.get("fight_clips_alerted"),
        floor.real_fight_clips_alerted,
    )  # fmt: skip
    _at_most(
        out, "real non-fight clips' false fight alerts per camera-hour",
        stream.get("false_alerts_per_camera_hour"), bound,
    )  # fmt: skip
    return out


def _at_least(out: list[str], what: str, have: float | None, least: float) -> None:
    if have is None or have < least:
        out.append(f"{what} {_f(have)} < {least}")


def _at_most(out: list[str], what: str, have: float | None, most: float) -> None:
    if have is None or have > most:
        out.append(f"{what} {_f(have)} > {most}")


def _f(v) -> str:
    return "not measured" if v is None else f"{v:.3f}"
