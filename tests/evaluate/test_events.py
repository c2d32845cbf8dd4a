"""The gated-versus-ungated verdict of event evaluation (ambon_cv.evaluate.events), on
hand-made alerts: nothing lost, an incident missed, an alert late by more than one period."""

from __future__ import annotations

from types import SimpleNamespace

from ambon_cv.alerts import Alert
from ambon_cv.evaluate.events import _first_alerts, _gating

INCIDENTS = [
    dict(camera="c1", kind="garbage", start_s=10.0, end_s=30.0),
    dict(camera="c2", kind="fight", start_s=5.0, end_s=9.0),
]


def alert(camera: str, kind: str, raised_s: float) -> Alert:
    return Alert(camera, kind, raised_s - 1, raised_s, raised_s + 5, (0, 0, 1, 1), 0.9)


def engine(*alerts: Alert) -> SimpleNamespace:
    return SimpleNamespace(alerts=list(alerts))


GATE = SimpleNamespace(skipped_share=0.6)
UNGATED = engine(alert("c1", "garbage", 20.0), alert("c2", "fight", 6.0))


def test_first_alerts_pair_each_incident_with_its_earliest_alert():
    alerts = [alert("c1", "garbage", 25.0), alert("c1", "garbage", 20.0), alert("c3", "fight", 6)]
    assert _first_alerts(alerts, INCIDENTS, "garbage") == {0: 20.0}
    assert _first_alerts(alerts, INCIDENTS, "fight") == {}  # another camera's alert


def test_the_same_alerts_within_one_period_lose_nothing():
    gated = engine(alert("c1", "garbage", 20.2), alert("c2", "fight", 6.0))
    out = _gating(UNGATED, gated, INCIDENTS, 1.0, GATE, fps=5)
    assert out["nothing_lost"] and out["lost"] == [] and out["skipped_share"] == 0.6
    assert out["garbage"]["max_alert_delay_s"] == 0.2 and out["analysis_period_s"] == 0.2
    assert out["fight"]["incident_recall"] == out["fight"]["incident_recall_ungated"] == 1.0


def test_a_missed_incident_or_a_late_alert_is_named():
    missed = _gating(UNGATED, engine(alert("c1", "garbage", 20.0)), INCIDENTS, 1.0, GATE, fps=5)
    assert not missed["nothing_lost"]
    assert missed["lost"] == ["fight: 1 incidents found ungated are missed gated"]
    late = engine(alert("c1", "garbage", 21.0), alert("c2", "fight", 6.0))
    out = _gating(UNGATED, late, INCIDENTS, 1.0, GATE, fps=5)
    assert out["lost"] == ["garbage: an alert 1.00 s later than ungated"]
