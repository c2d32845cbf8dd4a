"""The quality floor: every figure below it is named, and a figure never measured is below."""

from __future__ import annotations

from ambon_cv.config import QualityFloor
from ambon_cv.export.floor import shortfalls

GOOD = {
    "frame": {
        "synthetic": {
            "per_class": {c: {"mAP50": 0.9} for c in ("garbage", "garbage_bin", "overflow")}
        }
    },
    "real": {
        "garbage": {"mAP50": 0.72, "mAP50/garbage": 0.58},
        "fights_stream": {"fight_clips_alerted": 0.85, "false_alerts_per_camera_hour": 0.0},
    },
    "event": {
        "garbage": {"incident_recall": 0.96, "false_alerts_per_camera_hour": 0.8},
        "fight": {"incident_recall_with_open_alerts": 0.92, "false_alerts_per_camera_hour": 0.9},
    },
}


def test_a_model_at_the_floor_has_no_shortfalls():
    assert shortfalls(GOOD, QualityFloor()) == []


def test_each_shortfall_is_named_with_its_figure_and_bound():
    weak = {
        "frame": {"synthetic": {"per_class": {"garbage": {"mAP50": 0.42}}}},
        "real": {"garbage": {"mAP50": 0.03, "mAP50/garbage": 0.0}},
        "event": {
            "garbage": {"incident_recall": 0.61, "false_alerts_per_camera_hour": 13.3},
            "fight": {
                "incident_recall_with_open_alerts": 0.45,
                "false_alerts_per_camera_hour": 53.3,
            },
        },
    }
    assert shortfalls(weak, QualityFloor()) == [
        "synthetic val mAP50 garbage 0.420 < 0.8",
        "synthetic val mAP50 garbage_bin not measured < 0.8",
        "synthetic val mAP50 overflow not measured < 0.8",
        "real street-garbage mAP50 all 0.030 < 0.7",
        "real street-garbage mAP50 garbage 0.000 < 0.55",
        "garbage incident recall 0.610 < 0.95",
        "garbage false alerts per camera-hour 13.300 > 1.0",
        "fight incident recall (open alerts counted) 0.450 < 0.9",
        "fight false alerts per camera-hour 53.300 > 1.0",
        "real fight clips alerted not measured < 0.8",
        "real non-fight clips' false fight alerts per camera-hour not measured > 1.0",
    ]


def test_fight_alerts_over_the_budget_fail_the_floor():
    noisy = {**GOOD, "real": {**GOOD["real"], "fights_stream": {
        "fight_clips_alerted": 0.9, "false_alerts_per_camera_hour": 18.9}}}  # fmt: skip
    assert shortfalls(noisy, QualityFloor()) == [
        "real non-fight clips' false fight alerts per camera-hour 18.900 > 1.0"
    ]


def test_an_unevaluated_model_is_below_every_floor():
    assert len(shortfalls({}, QualityFloor())) == 11
