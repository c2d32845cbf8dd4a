"""The model card (ambon_cv.export.card) from given reports: what it says and when it warns."""

from __future__ import annotations

from ambon_cv.export.card import build_card, card_markdown, known_limits

EVALUATION = {
    "frame": {"mAP50": 0.9, "mAP50-95": 0.6, "per_class": {"garbage": {"mAP50": 0.4}}},
    "real": {
        "fights_classifier": {"accuracy": 0.8, "roc_auc": 0.88, "source": "out of fold"},
        "fights_stream": {
            "false_alerts": 1,
            "no_fight_seconds": 3600,
            "false_alerts_per_camera_hour": 1.0,
        },
    },
}
FORMATS = {
    "onnx": {"status": "passed", "mAP50": 0.9, "drop": 0.0, "bound": 0.01, "precision": "fp32"},
    "tensorrt_fp16": {"status": "skipped", "reason": "no GPU on this machine"},
}
REPORT = {
    "imgsz": 256,
    "formats": FORMATS,
    "speed": {"pytorch": {"1": {"latency_ms": 10.0}}},
    "quality": {"meets_floor": True, "below": []},
}


def card(tmp_path, report=REPORT):
    params = {"export": {"triton": {"model_name": "ambon-detector"}}}
    return build_card("1.2.3", params, EVALUATION, report, tmp_path, ["garbage", "fight"], {})


def test_the_card_names_the_model_its_input_and_its_limits(tmp_path):
    c = card(tmp_path)
    assert c["name"] == "ambon-detector" and c["version"] == "1.2.3" and c["imgsz"] == 256
    assert c["metrics"]["frame"] == {"mAP50": 0.9, "mAP50-95": 0.6}
    assert c["machine"]  # the CPU beside every speed figure
    text = card_markdown(c)
    assert text.startswith("# Model card: ambon-detector v1.2.3")
    assert "Input 256 px, classes: garbage, fight." in text
    assert "BELOW THE QUALITY FLOOR" not in text


def test_the_limits_say_what_is_weak_and_what_was_not_built():
    limits = known_limits(EVALUATION, FORMATS)
    assert any("Weak on `garbage`: val mAP50 0.40" in line for line in limits)
    assert any("tensorrt_fp16 not built here: no GPU" in line for line in limits)
    assert any("1 false alerts in 3600 s (1.0 per camera-hour)" in line for line in limits)
    assert any("about one clip in 5 is misjudged" in line for line in limits)


def test_a_model_below_the_floor_says_so_first(tmp_path):
    weak = {**REPORT, "quality": {"meets_floor": False, "below": ["garbage mAP50 0.40 < 0.8"]}}
    text = card_markdown(card(tmp_path, weak))
    assert text.startswith("**BELOW THE QUALITY FLOOR** (export.floor): garbage mAP50 0.40")
