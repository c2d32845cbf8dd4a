"""Tracking: a person keeps one track id while it moves, two people keep two, classes never
share a track, a box too weak to start a track is kept untracked, and ids ride in Detections."""

from __future__ import annotations

import numpy as np

from ambon_cv.detections import CLASSES, Detections
from ambon_cv.inference.tracking import Tracker, identity

PERSON, GARBAGE = CLASSES.index("person"), CLASSES.index("garbage")


def _frame(boxes, classes, conf=None):
    return Detections(
        xyxy=np.array(boxes, np.float32),
        class_id=np.array(classes),
        confidence=np.array(conf if conf is not None else [0.9] * len(boxes)),
    )


def test_two_walking_people_keep_two_ids_and_a_pile_its_own():
    tracker = Tracker(frame_rate=5)
    seen = []
    for t in range(8):
        a = [20 + 4 * t, 50, 60 + 4 * t, 150]  # walks right
        b = [400 - 4 * t, 60, 440 - 4 * t, 160]  # walks left
        pile = [250, 200, 300, 240]
        seen.append(tracker.update(_frame([a, b, pile], [PERSON, PERSON, GARBAGE])))
    ids = np.array([d.track_id for d in seen[1:]])
    assert (ids >= 0).all()
    assert (ids == ids[0]).all()  # nobody changes id
    assert len(set(ids[0].tolist())) == 3  # and nobody shares one, across classes too


def test_a_weak_box_stays_in_the_record_untracked():
    tracker = Tracker(frame_rate=5, min_confidence=0.5)
    d = tracker.update(_frame([[0, 0, 10, 30], [50, 0, 60, 30]], [PERSON, PERSON], [0.9, 0.05]))
    assert len(d) == 2
    assert d.track_id[0] >= 0 and d.track_id[1] == -1


def test_track_ids_ride_through_detections():
    d = _frame([[0, 0, 10, 30], [5, 5, 20, 40]], [PERSON, GARBAGE]).with_tracks(np.array([3, 7]))
    assert d.filter(d.class_id == GARBAGE).track_id.tolist() == [7]
    both = Detections.merge([d, d.filter(np.array([True, False]))])
    assert both.track_id.tolist() == [3, 7, 3]
    assert d.to_supervision().tracker_id.tolist() == [3, 7]
    assert Detections.empty().track_id.tolist() == []


def test_identity_counts_a_switch_and_purity_against_ground_truth():
    truth = Detections(np.array([[0, 0, 10, 30]]), np.array([PERSON]), object_id=np.array([4]))
    tracks = [truth.with_tracks(np.array([t])) for t in (1, 1, 1, 2)]
    r = identity(zip([truth] * 4, tracks, strict=True), "person")
    assert r == {"objects": 1, "matched_frames": 4, "id_switches": 1, "purity": 0.75}
    assert identity([], "person")["purity"] is None
