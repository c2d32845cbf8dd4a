"""The parity bound against the val split's resolution (ambon_cv.export.stage.one_box): a
small split is judged at one box's worth of mAP50, a large one at the bound as set."""

from __future__ import annotations

import pytest

from ambon_cv.export.card import format_table
from ambon_cv.export.stage import one_box


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
