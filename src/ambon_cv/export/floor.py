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
    out = []
    per_class = evaluation.get("frame", {}).get("synthetic", {}).get("per_class", {})
    for cls, least in floor.synthetic_map50.items():
        have = per_class.get(cls, {}).get("mAP50")
        if have is None or have < least:
            out.append(f"synthetic val mAP50 {cls} {_f(have)} < {least}")
    real = evaluation.get("real", {}).get("garbage", {})
    for cls, least in floor.real_map50.items():
        have = real.get("mAP50" if cls == "all" else f"mAP50/{cls}")
        if have is None or have < least:
            out.append(f"real street-garbage mAP50 {cls} {_f(have)} < {least}")
    garbage = evaluation.get("event", {}).get("garbage", {})
    recall = garbage.get("incident_recall")
    if recall is None or recall < floor.garbage_incident_recall:
        out.append(f"garbage incident recall {_f(recall)} < {floor.garbage_incident_recall}")
    false = garbage.get("false_alerts_per_camera_hour")
    if false is None or false > floor.garbage_false_alerts_per_camera_hour:
        out.append(
            f"garbage false alerts per camera-hour {_f(false)} > "
            f"{floor.garbage_false_alerts_per_camera_hour}"
        )
    out += _fight_shortfalls(evaluation, floor)
    return out


def _fight_shortfalls(evaluation: dict, floor: QualityFloor) -> list[str]:
    out = []
    # the hour of held-out hot-spot footage where it was run (it resolves ~1 an hour), else
    # the held-out event clips
    fight = evaluation.get("fight_hours") or evaluation.get("event", {}).get("fight", {})
    recall = fight.get("incident_recall_with_open_alerts")
    if recall is None or recall < floor.fight_incident_recall:
        out.append(
            f"fight incident recall (open alerts counted) {_f(recall)} < "
            f"{floor.fight_incident_recall}"
        )
    bound = floor.fight_false_alerts_per_camera_hour
    false = fight.get("false_alerts_per_camera_hour")
    if false is None or false > bound:
        out.append(f"fight false alerts per camera-hour {_f(false)} > {bound}")
    stream = evaluation.get("real", {}).get("fights_stream", {})
    alerted = stream.get("fight_clips_alerted")
    if alerted is None or alerted < floor.real_fight_clips_alerted:
        out.append(f"real fight clips alerted {_f(alerted)} < {floor.real_fight_clips_alerted}")
    false = stream.get("false_alerts_per_camera_hour")
    if false is None or false > bound:
        out.append(
            f"real non-fight clips' false fight alerts per camera-hour {_f(false)} > {bound}"
        )
    return out


def _f(v) -> str:
    return "not measured" if v is None else f"{v:.3f}"
