"""From per-frame detections to alerts an operator sees, and how alerts score against
incidents. One module, shared by evaluation and the live-load benchmark.

Rules (`AlertRules`, the `evaluate.alerts` section of params.yaml):
- fight: an incident, not a window. The scores come from one place, `fight_source`: the
  streaming fight analytic's windows (`ambon_cv.fights.analytic`, Detections marked
  `meta["analytic"] == "fight"`), or, only to compare, the detector's `fight` boxes. An
  incident opens on a window scoring at least `fight_open` (the fight model's threshold,
  chosen to meet the false-alert budget), stays open while windows score at least the lower
  `fight_keep` (hysteresis), and raises its one alert once it has lasted `fight_min_s`. While
  it stays open its alert's evidence grows (an operator already has it on screen);
- garbage (garbage or overflow boxes): raised when a box stays in the same place (IoU with the
  first sighting >= `same_place_iou`) for `min_presence_s` seconds; no second garbage alert
  on a camera within `cooldown_s` of the last;
- per camera and kind: an alert whose evidence starts within `merge_s` of the previous alert's
  end is merged into it (a fight that pauses for a breath is one incident).

Example:
    >>> import numpy as np
    >>> from ambon_cv.detections import CLASSES, Detections
    >>> engine = AlertEngine(AlertRules(fight_open=0.8, fight_keep=0.5, fight_min_s=1.0))
    >>> fight = Detections(np.array([[10, 10, 60, 90]]), np.array([CLASSES.index("fight")]),
    ...                    np.array([0.9]), meta={"analytic": "fight"})  # an analytic window
    >>> alerts = [a for t in range(6) for a in engine.update("pemkot-02", t * 0.5, fight)]
    >>> [(a.camera, a.kind) for a in alerts]
    [('pemkot-02', 'fight')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ambon_cv.config import AlertRules
from ambon_cv.detections import CLASSES, Detections

FIGHT = CLASSES.index("fight")
GARBAGE = (CLASSES.index("garbage"), CLASSES.index("overflow"))
TOLERANCE_S = 2.0  # an alert this long before an incident's start or after its end is true


@dataclass
class Alert:
    camera: str
    kind: str  # fight | garbage
    first_seen_s: float  # when the evidence began
    raised_s: float  # when the alert fired
    last_seen_s: float  # evidence last seen (grows while merged evidence continues)
    box: tuple[float, float, float, float]
    score: float


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Track:
    box: np.ndarray
    since: float
    last: float
    score: float


@dataclass
class _Incident:
    """A fight incident while it stays open."""

    start: float
    box: np.ndarray
    score: float
    alert: Alert | None = None  # raised once it lasted fight_min_s (or the merged earlier one)


@dataclass
class _CameraState:
    incident: _Incident | None = None  # the open fight incident
    fight_last_t: float | None = None  # the last fight score
    garbage: list[_Track] = field(default_factory=list)
    last_alert: dict[str, Alert] = field(default_factory=dict)


class AlertEngine:
    """Keeps per-camera state; feed it each analysed frame in time order.

    `fight_open` is the fight rule's opening threshold where `rules.fight_open` is `budget`:
    the fight model's (`FightModel.open_threshold`); `camera_open` a calibrated camera's own
    (keyed as `update`'s cameras are)."""

    def __init__(
        self,
        rules: AlertRules,
        fight_open: float | None = None,
        camera_open: Mapping[str, float] | None = None,
    ) -> None:
        self.rules = rules
        self.fight_open = rules.fight_open if fight_open is None else fight_open
        self.camera_open = dict(camera_open or {})
        self.cameras: dict[str, _CameraState] = {}
        self.alerts: list[Alert] = []

    def update(self, camera: str, t: float, detections: Detections) -> list[Alert]:
        """New alerts raised by this frame (merged evidence extends earlier alerts)."""
        state = self.cameras.setdefault(camera, _CameraState())
        raised = []
        from_analytic = detections.meta.get("analytic") == "fight"
        ours = from_analytic == (self.rules.fight_source == "analytic")
        if ours and (alert := self._fight(camera, state, t, detections)) is not None:
            raised.append(alert)
        if from_analytic:
            self.alerts += raised
            return raised  # a fight window holds no garbage
        raised += self._garbage(camera, state, t, detections)
        self.alerts += raised
        return raised

    def end_of_footage(self, camera: str) -> bool:
        """The camera's footage ended (a clip played as a stream): forget its open incident.
        True when one was open without its alert yet: it had opened and held, and the footage
        ended before `fight_min_s` could tell; a clip-level count takes it as alerted."""
        state = self.cameras.get(camera)
        if state is None or state.incident is None:
            return False
        pending = state.incident.alert is None
        state.incident, state.fight_last_t = None, None
        return pending

    def _emit(
        self,
        state: _CameraState,
        camera: str,
        kind: str,
        first: float,
        t: float,
        box: np.ndarray,
        score: float,
    ) -> Alert | None:
        previous = state.last_alert.get(kind)
        merged = previous is not None and first - previous.last_seen_s <= self.rules.merge_s
        cooling = (
            kind == "garbage"
            and previous is not None
            and t - previous.raised_s < self.rules.cooldown_s
        )
        if merged or cooling:
            previous.last_seen_s = max(previous.last_seen_s, t)
            return None
        alert = Alert(camera, kind, first, t, t, tuple(float(v) for v in box), float(score))
        state.last_alert[kind] = alert
        return alert

    def _fight(self, camera, state, t, d) -> Alert | None:
        r = self.rules
        opens = self.camera_open.get(camera, self.fight_open)
        if isinstance(opens, str):
            raise ValueError(
                "evaluate.alerts.fight_open is 'budget': give the engine the fight model's "
                "threshold (AlertEngine(rules, fight_open=model.open_threshold))"
            )
        fights = d.class_id == FIGHT
        best = int(np.argmax(np.where(fights, d.confidence, -1))) if fights.any() else -1
        score = float(d.confidence[best]) if best >= 0 else 0.0
        if state.fight_last_t is not None and t - state.fight_last_t > r.merge_s:
            state.incident = None  # the stream was away: what was open says nothing now
        state.fight_last_t = t
        incident = state.incident
        if incident is None:
            if score < opens:
                return None
            incident = state.incident = _Incident(t, d.xyxy[best].copy(), score)
        elif score < r.fight_keep:
            state.incident = None  # closed; a new one within merge_s joins its alert
            return None
        if score > incident.score:
            incident.box, incident.score = d.xyxy[best].copy(), score
        if incident.alert is not None:  # still open: the operator's alert goes on
            incident.alert.last_seen_s = max(incident.alert.last_seen_s, t)
            return None
        if t - incident.start < r.fight_min_s:
            return None
        alert = self._emit(state, camera, "fight", incident.start, t, incident.box, incident.score)
        incident.alert = alert if alert is not None else state.last_alert["fight"]
        return alert

    def _garbage(self, camera, state, t, d) -> list[Alert]:
        r = self.rules
        keep = np.isin(d.class_id, GARBAGE) & (d.confidence >= r.garbage_min_confidence)
        boxes, scores = d.xyxy[keep], d.confidence[keep]
        matched = set()
        for box, score in zip(boxes, scores, strict=True):
            best = max(state.garbage, key=lambda tr: iou(tr.box, box), default=None)
            if best is not None and iou(best.box, box) >= r.same_place_iou:
                best.last, best.score = t, max(best.score, float(score))
                matched.add(id(best))
            else:
                track = _Track(box.copy(), t, t, float(score))
                state.garbage.append(track)
                matched.add(id(track))
        # a pile not seen for a while is gone (collected, or a false sighting)
        state.garbage = [
            tr
            for tr in state.garbage
            if id(tr) in matched or t - tr.last <= r.garbage_min_presence_s / 2
        ]
        out = []
        for tr in state.garbage:
            if id(tr) in matched and tr.last - tr.since >= r.garbage_min_presence_s:
                alert = self._emit(state, camera, "garbage", tr.since, t, tr.box, tr.score)
                if alert is not None:
                    out.append(alert)
        return out


@dataclass(frozen=True)
class EventMetrics:
    incidents: int
    detected: int
    alerts: int
    true_alerts: int
    false_alerts: int
    camera_hours: float
    time_to_alert_s: list[float]
    covered: int = 0  # not raised during, but inside an open (merged) alert's evidence span
    unseen: int = 0  # over before observation began (end_s <= 0): never in view, not scored

    @property
    def incident_recall(self) -> float:
        return self.detected / self.incidents if self.incidents else float("nan")

    @property
    def incident_recall_with_open_alerts(self) -> float:
        """Counting too the incidents an operator already had an open alert for: the same
        camera's alert, merged, whose evidence ran on into the incident."""
        n = self.detected + self.covered
        return n / self.incidents if self.incidents else float("nan")

    @property
    def alert_precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else float("nan")

    @property
    def false_alerts_per_camera_hour(self) -> float:
        return self.false_alerts / self.camera_hours if self.camera_hours else float("nan")

    def time_to_alert(self, q: float) -> float:
        return (
            float(np.percentile(self.time_to_alert_s, q)) if self.time_to_alert_s else float("nan")
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "incidents": self.incidents,
            "incidents_unseen": self.unseen,
            "alerts": self.alerts,
            "incident_recall": self.incident_recall,
            "incident_recall_with_open_alerts": self.incident_recall_with_open_alerts,
            "alert_precision": self.alert_precision,
            "false_alerts_per_camera_hour": self.false_alerts_per_camera_hour,
            "time_to_alert_median_s": self.time_to_alert(50),
            "time_to_alert_p95_s": self.time_to_alert(95),
        }


def match_alerts(
    alerts: list[Alert],
    incidents: list[dict],
    camera_hours: float,
    kind: str,
    tolerance_s: float = TOLERANCE_S,
) -> EventMetrics:
    """Score alerts of one kind against ground-truth incidents (dicts with camera, kind,
    start_s, end_s, in the same clock as the alerts; observation begins at 0). An incident over
    before observation began (end_s <= 0: a rendered clip starts while its city's time runs on,
    so a fight may have ended before the first frame) was never in view: it is not scored, only
    counted (`unseen`). An alert is true when it fires during an incident of its camera
    (within `tolerance_s` after its end); an incident is detected when at least one true alert
    falls in it; time to alert counts from the incident's start (or from the start of
    observation when the incident began before it, start_s < 0). An incident that no alert was
    raised in, but that an earlier alert of its camera was still open for (its merged evidence,
    raised_s..last_seen_s, reaches into the incident), is `covered`.

    `camera` is the key of one clock: when every clip has its own clock (synthetic clips,
    clip-relative seconds), pass the clip id as both the alerts' and the incidents' camera."""
    of_kind = [
        i
        for i in incidents
        if i["kind"] in ({"garbage", "overflow"} if kind == "garbage" else {kind})
    ]
    mine = [i for i in of_kind if i["end_s"] > 0]
    ours = [a for a in alerts if a.kind == kind]
    detected, true_alerts, delays = set(), 0, []
    for a in ours:
        hits = [
            n
            for n, i in enumerate(mine)
            if i["camera"] == a.camera
            and i["start_s"] - tolerance_s <= a.raised_s <= i["end_s"] + tolerance_s
        ]
        if hits:
            true_alerts += 1
            for n in hits:
                if n not in detected:
                    detected.add(n)
                    delays.append(a.raised_s - max(mine[n]["start_s"], 0.0))
    covered = {
        n
        for n, i in enumerate(mine)
        if n not in detected
        and any(
            a.camera == i["camera"] and a.raised_s <= i["end_s"] and a.last_seen_s >= i["start_s"]
            for a in ours
        )
    }
    return EventMetrics(
        len(mine),
        len(detected),
        len(ours),
        true_alerts,
        len(ours) - true_alerts,
        camera_hours,
        delays,
        len(covered),
        len(of_kind) - len(mine),
    )
