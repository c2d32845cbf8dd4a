"""The alert logic on hand-made detection sequences, and incident matching."""

from __future__ import annotations

import numpy as np
import pytest

from ambon_cv.alerts import AlertEngine, match_alerts
from ambon_cv.config import AlertRules
from ambon_cv.detections import CLASSES, Detections

FIGHT, GARBAGE, PERSON = (CLASSES.index(c) for c in ("fight", "garbage", "person"))
NOTHING = Detections.empty()


def det(cls: int, box=(100, 100, 200, 220), conf: float = 0.8) -> Detections:
    """A detector's box, or for `fight` a window of the fight analytic with this score."""
    meta = {"analytic": "fight"} if cls == FIGHT else {}
    return Detections(np.array([box], np.float32), np.array([cls]), np.array([conf]), meta=meta)


QUIET = det(FIGHT, conf=0.0)  # a fight-analytic window that saw no fight


def feed(engine, camera, frames, fps=5.0, start=0.0):
    raised = []
    for i, d in enumerate(frames):
        raised += engine.update(camera, start + i / fps, d)
    return raised


def test_fight_fires_on_k_of_n_and_not_below():
    rules = AlertRules(fight_k=3, fight_n=5)
    seq = [det(FIGHT), QUIET, det(FIGHT), QUIET, det(FIGHT)]
    alerts = feed(AlertEngine(rules), "cam", seq)
    assert len(alerts) == 1 and alerts[0].kind == "fight"
    assert alerts[0].first_seen_s == 0.0 and alerts[0].raised_s == pytest.approx(0.8)
    flicker = [det(FIGHT), QUIET, QUIET, det(FIGHT), QUIET, QUIET] * 5  # 2 of 5 at most
    assert feed(AlertEngine(rules), "cam", flicker) == []
    weak = [det(FIGHT, conf=0.1)] * 10
    assert feed(AlertEngine(rules), "cam", weak) == []
    assert feed(AlertEngine(rules), "cam", [det(PERSON)] * 10) == []


def test_cooldown_and_merge_per_camera():
    rules = AlertRules(fight_k=2, fight_n=3, cooldown_s=30, merge_s=5)
    engine = AlertEngine(rules)
    fight = [det(FIGHT)] * 10  # 2 s of fighting at 5 fps
    first = feed(engine, "cam-a", fight)
    assert len(first) == 1
    # a pause of 3 s then more fighting: the same incident (merged), no new alert
    assert feed(engine, "cam-a", fight, start=5.0) == []
    assert first[0].last_seen_s == pytest.approx(5.0 + 9 / 5)
    # another camera is independent
    assert len(feed(engine, "cam-b", fight, start=5.0)) == 1
    # 20 s later: still inside the 30 s cooldown
    assert feed(engine, "cam-a", fight, start=27.0) == []
    # 60 s later: a new alert
    assert len(feed(engine, "cam-a", fight, start=90.0)) == 1


def test_garbage_must_stay_in_the_same_place():
    rules = AlertRules(garbage_min_presence_s=10)
    pile = [det(GARBAGE, (300, 200, 360, 240))] * 55  # 11 s at 5 fps
    alerts = feed(AlertEngine(rules), "cam", pile)
    assert len(alerts) == 1 and alerts[0].kind == "garbage"
    assert alerts[0].raised_s == pytest.approx(10.0)
    short = [det(GARBAGE, (300, 200, 360, 240))] * 40  # 8 s: not yet
    assert feed(AlertEngine(rules), "cam", short) == []
    moving = [det(GARBAGE, (10 + 12 * i, 200, 70 + 12 * i, 240)) for i in range(60)]
    assert feed(AlertEngine(rules), "cam", moving) == [], "a moving object is not a pile"


def test_incident_matching():
    rules = AlertRules(fight_k=2, fight_n=3, cooldown_s=30)
    engine = AlertEngine(rules)
    feed(engine, "clip-1", [QUIET] * 10 + [det(FIGHT)] * 10)  # fight from 2.0 s, alert 2.2 s
    feed(engine, "clip-2", [det(FIGHT)] * 5)  # a false alert: no fight on clip-2
    incidents = [
        {"camera": "clip-1", "kind": "fight", "start_s": 1.5, "end_s": 6.0},
        {"camera": "clip-3", "kind": "fight", "start_s": 0.0, "end_s": 4.0},  # missed
        {"camera": "clip-1", "kind": "garbage", "start_s": -50.0, "end_s": 4.0},
    ]
    m = match_alerts(engine.alerts, incidents, camera_hours=0.5, kind="fight")
    assert (m.incidents, m.detected, m.alerts, m.true_alerts, m.false_alerts) == (2, 1, 2, 1, 1)
    assert m.incident_recall == 0.5 and m.alert_precision == 0.5
    assert m.false_alerts_per_camera_hour == 2.0
    assert m.time_to_alert(50) == pytest.approx(2.2 - 1.5)
    assert set(m.as_dict()) >= {"incident_recall", "time_to_alert_p95_s"}


def test_an_incident_over_before_the_clip_began_is_not_scored():
    """A rendered clip starts while its city's time runs on: a fight that ended at -0.6 s was
    never in view. It is counted apart, not as a missed incident; one still on at 0 is scored."""
    engine = AlertEngine(AlertRules(fight_k=2, fight_n=3))
    feed(engine, "clip-1", [det(FIGHT)] * 10)  # an alert at 0.2 s
    incidents = [
        {"camera": "clip-1", "kind": "fight", "start_s": -9.0, "end_s": -0.6},  # never seen
        {"camera": "clip-1", "kind": "fight", "start_s": -4.0, "end_s": 3.0},  # on at 0
        {"camera": "clip-1", "kind": "garbage", "start_s": -50.0, "end_s": 0.0},  # gone at 0
    ]
    m = match_alerts(engine.alerts, incidents, camera_hours=1, kind="fight")
    assert (m.incidents, m.unseen, m.detected, m.false_alerts) == (1, 1, 1, 0)
    assert m.incident_recall == 1.0 and m.as_dict()["incidents_unseen"] == 1
    assert m.time_to_alert(50) == pytest.approx(0.2)  # from the start of observation
    g = match_alerts(engine.alerts, incidents, camera_hours=1, kind="garbage")
    assert (g.incidents, g.unseen) == (0, 1)


def test_an_open_merged_alert_covers_the_next_incident_on_its_camera():
    rules = AlertRules(fight_k=2, fight_n=3, cooldown_s=60, merge_s=10)
    engine = AlertEngine(rules)
    # a fight 0-4 s, a pause, a second fight 6-10 s: one alert, its evidence merged to 10 s
    feed(engine, "cam", [det(FIGHT)] * 20 + [QUIET] * 10 + [det(FIGHT)] * 20)
    incidents = [
        {"camera": "cam", "kind": "fight", "start_s": 0.0, "end_s": 4.0},
        {"camera": "cam", "kind": "fight", "start_s": 6.0, "end_s": 10.0},
        {"camera": "cam", "kind": "fight", "start_s": 30.0, "end_s": 35.0},  # nothing open
    ]
    m = match_alerts(engine.alerts, incidents, camera_hours=1, kind="fight")
    assert len(engine.alerts) == 1 and engine.alerts[0].last_seen_s >= 6.0
    assert (m.detected, m.covered) == (1, 1)
    assert m.incident_recall == pytest.approx(1 / 3)
    assert m.incident_recall_with_open_alerts == pytest.approx(2 / 3)


def test_fight_alerts_come_from_one_source():
    detector_box = Detections(np.array([[100, 100, 200, 220]]), np.array([FIGHT]), np.array([0.9]))
    # by default the detector's fight boxes raise nothing: the fight analytic is the source
    assert feed(AlertEngine(AlertRules(fight_k=2, fight_n=3)), "cam", [detector_box] * 5) == []
    assert len(feed(AlertEngine(AlertRules(fight_k=2, fight_n=3)), "cam", [det(FIGHT)] * 5)) == 1
    # the detector as the source (to compare): its boxes count, the analytic's windows do not
    rules = AlertRules(fight_k=2, fight_n=3, fight_source="detector")
    assert len(feed(AlertEngine(rules), "cam", [detector_box] * 5)) == 1
    assert feed(AlertEngine(rules), "cam", [det(FIGHT)] * 5) == []
