"""The parity bound against the val split's resolution (ambon_cv.export.stage.one_box): a
small split is judged at one box's worth of mAP50, a large one at the bound as set."""

from __future__ import annotations

import pytest

from ambon_cv.export.card import format_table
from ambon_cv.export.stage import judged_classes, mean_ap50, one_box


def test_one_box_is_the_mean_over_classes_of_one_over_their_boxes():
    assert one_box({"garbage": {"instances": 100}, "fight": {"instances": 20}}) == pytest.approx(
        (1 / 100 + 1 / 20) / 2
    )


def test_a_class_with_no_val_boxes_has_no_ap_and_does_not_count():
    split = {"garbage": {"instances": 50}, "fight": {"instances": 0}, "person": {}}
    assert one_box(split) == pytest.approx(1 / 50)
    assert one_box({}) == 0.0


def test_a_large_split_resolves_the_bound_and_a_small_one_does_not():
    large = {c: {"instances": 500} for c in ("garbage", "garbage_bin", "overflow", "fight")}
    small = {**large, "fight": {"instances": 17}}  # the synthetic-only split's fight boxes
    assert one_box(large) < 0.01 < one_box(small)


def test_the_table_says_which_bound_judged_a_format():
    formats = {
        "openvino_fp16": {"status": "passed", "mAP50": 0.86, "drop": 0.011, "bound": 0.01,
                          "tolerance": 0.0268},
        "onnx": {"status": "passed", "mAP50": 0.87, "drop": 0.0, "bound": 0.01,
                 "tolerance": 0.01},
    }  # fmt: skip
    rows = format_table(formats, {})
    assert "0.0268 (one box; 0.01 set)" in rows[2]
    assert rows[3].split("|")[5].strip() == "0.01"


PER_CLASS = {
    "garbage": {"mAP50": 0.76, "instances": 218},
    "overflow": {"mAP50": 0.89, "instances": 378},
    "fight": {"mAP50": 0.79, "instances": 17},
}


def test_the_drop_is_taken_over_the_judged_classes_only():
    int8 = {**PER_CLASS, "fight": {"mAP50": 0.72, "instances": 17}}
    judged = judged_classes(PER_CLASS, ["garbage", "overflow"])
    assert judged == ["garbage", "overflow"]
    assert mean_ap50(PER_CLASS, judged) - mean_ap50(int8, judged) == pytest.approx(0.0)
    every = judged_classes(PER_CLASS, [])  # empty: every class with val boxes
    assert mean_ap50(PER_CLASS, every) - mean_ap50(int8, every) == pytest.approx(0.07 / 3)


def test_a_class_a_format_no_longer_finds_counts_as_zero():
    lost = {"garbage": {"mAP50": 0.76}}
    assert mean_ap50(lost, ["garbage", "overflow"]) == pytest.approx(0.38)


def test_an_unknown_judged_class_is_named_when_the_params_load():
    from pydantic import ValidationError

    from ambon_cv.config import ParityBounds

    with pytest.raises(ValidationError, match=r"classes \['rubbish'\] unknown; known: garbage"):
        ParityBounds(classes=["garbage", "rubbish"])
