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


RULES = AlertRules(fight_open=0.8, fight_keep=0.5, fight_min_s=1.0, merge_s=5)


def scores(*values: float) -> list[Detections]:
    """Fight-analytic windows with these scores (one every 0.5 s with `feed(..., fps=2)`)."""
    return [det(FIGHT, conf=v) for v in values]


def test_an_incident_opens_high_stays_open_low_and_alerts_once_it_lasted():
    # opens at 0.9 (t=1.0), stays open at 0.6 and 0.55 (under the opening threshold), alerts
    # at t=2.0 when it has lasted 1 s, once, however long it goes on
    seq = scores(0.1, 0.3, 0.9, 0.6, 0.55, 0.6, 0.7, 0.6, 0.6)
    alerts = feed(AlertEngine(RULES), "cam", seq, fps=2)
    assert len(alerts) == 1 and alerts[0].kind == "fight"
    assert alerts[0].first_seen_s == 1.0 and alerts[0].raised_s == 2.0
    assert alerts[0].last_seen_s == 4.0  # an incident still open keeps its alert's evidence
    assert alerts[0].score == pytest.approx(0.9)


def test_no_incident_under_the_opening_threshold_nor_shorter_than_its_minimum():
    assert feed(AlertEngine(RULES), "cam", scores(*[0.75] * 20), fps=2) == []  # never opens
    assert feed(AlertEngine(RULES), "cam", scores(0.9, 0.7, 0.2, 0.9, 0.6, 0.1), fps=2) == []
    assert feed(AlertEngine(RULES), "cam", [det(PERSON)] * 10) == []


def test_a_dip_under_keep_closes_the_incident_and_a_prompt_return_joins_its_alert():
    engine = AlertEngine(RULES)
    first = feed(engine, "cam", scores(0.9, 0.9, 0.9, 0.2, 0.9, 0.9, 0.9), fps=2)
    assert len(first) == 1  # the second opening is 1 s after the first closed: merged
    assert first[0].last_seen_s == 3.0
    # minutes later, a new incident: a new alert (fights have no cooldown: one per incident)
    assert len(feed(engine, "cam", scores(0.9, 0.9, 0.9), fps=2, start=30.0)) == 1
    assert len(feed(engine, "cam-b", scores(0.9, 0.9, 0.9), fps=2)) == 1  # cameras apart


def test_a_stream_away_longer_than_merge_closes_what_was_open():
    engine = AlertEngine(RULES)
    assert feed(engine, "cam", scores(0.9, 0.9), fps=2) == []
    assert feed(engine, "cam", scores(0.6, 0.6, 0.6), fps=2, start=20.0) == []  # never reopened


def test_the_budget_threshold_must_be_given():
    engine = AlertEngine(AlertRules())  # fight_open: budget
    with pytest.raises(ValueError, match="fight model's threshold"):
        feed(engine, "cam", scores(0.9), fps=2)
    assert len(feed(AlertEngine(AlertRules(), fight_open=0.8), "c", scores(*[0.9] * 3), 2)) == 1
    with pytest.raises(ValueError, match="cannot exceed fight_open"):
        AlertRules(fight_open=0.4, fight_keep=0.5)


def test_garbage_cooldown_and_merge_per_camera():
    rules = AlertRules(garbage_min_presence_s=2, cooldown_s=30, merge_s=5)
    engine = AlertEngine(rules)
    pile = [det(GARBAGE, (300, 200, 360, 240))] * 15  # 3 s at 5 fps
    first = feed(engine, "cam-a", pile)
    assert len(first) == 1
    assert feed(engine, "cam-a", pile, start=5.0) == []  # a pause of 2 s: merged
    assert first[0].last_seen_s == pytest.approx(5.0 + 14 / 5)
    assert len(feed(engine, "cam-b", pile, start=5.0)) == 1
    assert feed(engine, "cam-a", pile, start=27.0) == []  # inside the 30 s cooldown
    elsewhere = [det(GARBAGE, (10, 20, 70, 60))] * 15  # a new pile, well after the cooldown
    assert len(feed(engine, "cam-a", elsewhere, start=90.0)) == 1


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
    engine = AlertEngine(AlertRules(fight_open=0.7, fight_min_s=0.2))
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
    engine = AlertEngine(AlertRules(fight_open=0.7, fight_min_s=0.2))
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
    engine = AlertEngine(AlertRules(fight_open=0.7, fight_min_s=0.2, merge_s=10))
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
    rules = AlertRules(fight_open=0.7, fight_min_s=0.2)
    assert feed(AlertEngine(rules), "cam", [detector_box] * 5) == []
    assert len(feed(AlertEngine(rules), "cam", [det(FIGHT)] * 5)) == 1
    # the detector as the source (to compare): its boxes count, the analytic's windows do not
    rules = AlertRules(fight_open=0.7, fight_min_s=0.2, fight_source="detector")
    assert len(feed(AlertEngine(rules), "cam", [detector_box] * 5)) == 1
    assert feed(AlertEngine(rules), "cam", [det(FIGHT)] * 5) == []
