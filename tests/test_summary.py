"""The end of make run: the summary says plainly whether the model meets the quality floor, and
which start the detector was fine-tuned from."""

from __future__ import annotations

import json

from ambon_cv.summary import summary_lines


def reports(root, below: list[str]) -> None:
    (root / "reports").mkdir()
    train = {"epochs": 1, "start": "models/base/ambon-base-v1.pt", "metrics/mAP50": 0.9}
    export = {"formats": {"onnx": {"status": "passed"}}, "quality": {"below": below}}
    evaluate = {"frame": {"mAP50": 0.9, "per_class": {}, "synthetic": {"mAP50": 0.95}}}
    for name, data in (("train", train), ("export", export), ("evaluate", evaluate)):
        (root / "reports" / f"{name}.json").write_text(json.dumps(data))


def test_a_model_below_the_floor_is_said_plainly(tmp_path):
    reports(tmp_path, ["garbage incident recall 0.610 < 0.95"])
    lines = summary_lines(tmp_path)
    quality = next(line for line in lines if line.startswith("quality"))
    assert "BELOW the quality floor" in quality and "recall 0.610 < 0.95" in quality
    assert any("from models/base/ambon-base-v1.pt" in line for line in lines)
    assert any("synthetic val mAP50 0.950" in line for line in lines)


def test_a_model_at_the_floor_says_it_may_be_published(tmp_path):
    reports(tmp_path, [])
    assert any("meets the quality floor" in line for line in summary_lines(tmp_path))
