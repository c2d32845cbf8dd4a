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
