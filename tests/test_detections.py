"""The one detections record: validation, filtering, and its edges (Parquet columns,
FiftyOne)."""

from __future__ import annotations

import numpy as np
import pytest

from ambon_cv.detections import CLASSES, Detections


def _two() -> Detections:
    return Detections(
        xyxy=np.array([[10, 20, 50, 80], [0, 0, 640, 360]]),
        class_id=np.array([CLASSES.index("garbage"), CLASSES.index("person")]),
        confidence=np.array([0.9, 0.3]),
        object_id=np.array([7, -1]),
    )


def test_defaults_and_validation():
    d = Detections(xyxy=[[1, 2, 3, 4]], class_id=[0])
    assert d.confidence.tolist() == [1.0] and d.object_id.tolist() == [-1]
    assert len(Detections.empty()) == 0
    with pytest.raises(ValueError, match="x2 < x1"):
        Detections(xyxy=[[5, 0, 1, 4]], class_id=[0])
    with pytest.raises(ValueError, match="confidence has 1 values for 2 boxes"):
        Detections(xyxy=[[0, 0, 1, 1], [0, 0, 2, 2]], class_id=[0, 1], confidence=[0.5])


def test_filter_keeps_every_column():
    d = _two()
    kept = d.filter(d.confidence > 0.5)
    assert kept.class_names() == ["garbage"] and kept.object_id.tolist() == [7]


def test_columns_round_trip_and_unknown_classes_are_named():
    d = _two()
    back = Detections.from_columns(**{k: v for k, v in d.to_columns().items()})
    assert np.allclose(back.xyxy, d.xyxy) and back.class_names() == d.class_names()
    with pytest.raises(ValueError, match="motorbike"):
        Detections.from_columns([[0, 0, 1, 1]], ["motorbike"])


def test_to_fiftyone_is_relative_and_keeps_what_each_kind_carries(project):
    d = _two()  # `project`: FiftyOne connected to the test database first
    pred = d.to_fiftyone(640, 360)
    assert [x.label for x in pred.detections] == ["garbage", "person"]
    assert pred.detections[1].bounding_box == pytest.approx([0, 0, 1, 1])
    assert pred.detections[0].bounding_box == pytest.approx(
        [10 / 640, 20 / 360, 40 / 640, 60 / 360]
    )
    assert pred.detections[0].confidence == pytest.approx(0.9)
    truth = d.to_fiftyone(640, 360, truth=True)
    assert truth.detections[0].object_id == 7 and truth.detections[0].confidence is None


def test_from_fiftyone_is_the_inverse_of_to_fiftyone(project):
    d = _two()
    pred = Detections.from_fiftyone(d.to_fiftyone(640, 360), 640, 360)
    assert np.allclose(pred.xyxy, d.xyxy, atol=1e-3) and pred.class_names() == d.class_names()
    assert np.allclose(pred.confidence, d.confidence) and pred.object_id.tolist() == [-1, -1]
    truth = Detections.from_fiftyone(d.to_fiftyone(640, 360, truth=True), 640, 360)
    assert truth.confidence.tolist() == [1.0, 1.0] and truth.object_id.tolist() == [7, -1]
    assert len(Detections.from_fiftyone(None, 640, 360)) == 0  # a sample without the field
    import fiftyone as fo

    odd = fo.Detections(detections=[fo.Detection(label="motorbike", bounding_box=[0, 0, 1, 1])])
    with pytest.raises(ValueError, match="motorbike"):
        Detections.from_fiftyone(odd, 640, 360)


def test_to_supervision_keeps_ids_as_tracker_ids_and_the_class_names():
    sv = _two().to_supervision()
    assert sv.xyxy.shape == (2, 4) and sv.class_id.tolist() == [0, CLASSES.index("person")]
    assert sv.tracker_id.tolist() == [7, -1] and sv.confidence.tolist() == pytest.approx([0.9, 0.3])
    assert list(sv.data["class_name"]) == ["garbage", "person"]


def test_label_studio_results_are_percent_and_round_trip():
    d = _two()
    results = d.to_labelstudio(640, 360, "label", "image")
    first = results[0]
    assert first["type"] == "rectanglelabels" and first["from_name"] == "label"
    assert first["value"]["rectanglelabels"] == ["garbage"]
    assert first["value"]["x"] == pytest.approx(100 * 10 / 640)
    assert first["value"]["width"] == pytest.approx(100 * 40 / 640)
    assert results[1]["value"]["height"] == pytest.approx(100)
    # a choice is not a box: left out; the boxes come back as ground truth
    choice = {"type": "choices", "value": {"choices": ["night"]}}
    back = Detections.from_labelstudio([*results, choice], 640, 360)
    assert np.allclose(back.xyxy, d.xyxy, atol=1e-3) and back.class_names() == d.class_names()
    assert back.confidence.tolist() == [1.0, 1.0]
    results[0]["value"]["rectanglelabels"] = ["motorbike"]
    with pytest.raises(ValueError, match="motorbike"):
        Detections.from_labelstudio(results, 640, 360)
