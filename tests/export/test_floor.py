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
    "real": {"garbage": {"mAP50": 0.72, "mAP50/garbage": 0.58}},
    "event": {"garbage": {"incident_recall": 0.96, "false_alerts_per_camera_hour": 0.8}},
}


def test_a_model_at_the_floor_has_no_shortfalls():
    assert shortfalls(GOOD, QualityFloor()) == []


def test_each_shortfall_is_named_with_its_figure_and_bound():
    weak = {
        "frame": {"synthetic": {"per_class": {"garbage": {"mAP50": 0.42}}}},
        "real": {"garbage": {"mAP50": 0.03, "mAP50/garbage": 0.0}},
        "event": {"garbage": {"incident_recall": 0.61, "false_alerts_per_camera_hour": 13.3}},
    }
    assert shortfalls(weak, QualityFloor()) == [
        "synthetic val mAP50 garbage 0.420 < 0.8",
        "synthetic val mAP50 garbage_bin not measured < 0.8",
        "synthetic val mAP50 overflow not measured < 0.8",
        "real street-garbage mAP50 all 0.030 < 0.7",
        "real street-garbage mAP50 garbage 0.000 < 0.55",
        "garbage incident recall 0.610 < 0.95",
        "garbage false alerts per camera-hour 13.300 > 1.0",
    ]


def test_an_unevaluated_model_is_below_every_floor():
    assert len(shortfalls({}, QualityFloor())) == 7
