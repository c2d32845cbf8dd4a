"""From per-frame detections to alerts an operator sees, and how alerts score against
incidents. One module, shared by evaluation and the live-load benchmark.

Rules (`AlertRules`, the `evaluate.alerts` section of params.yaml):
- fight: raised when at least `k` of the last `n` fight scores of a camera reach
  `fight_min_confidence`. The scores come from one place, `fight_source`: the streaming fight
  analytic's windows (`ambon_cv.fights.analytic`, Detections marked `meta["analytic"] ==
  "fight"`), or, only to compare, the detector's `fight` boxes of each analysed frame;
- garbage (garbage or overflow boxes): raised when a box stays in the same place (IoU with the
  first sighting >= `same_place_iou`) for `min_presence_s` seconds;
- per camera and kind: no second alert within `cooldown_s` of the last one, and an alert
  whose evidence starts within `merge_s` of the previous alert's end is merged into it.

Example:
    >>> import numpy as np
    >>> from ambon_cv.detections import CLASSES, Detections
    >>> engine = AlertEngine(AlertRules())
    >>> fight = Detections(np.array([[10, 10, 60, 90]]), np.array([CLASSES.index("fight")]),
    ...                    np.array([0.9]), meta={"analytic": "fight"})  # an analytic window
    >>> alerts = [a for t in range(3) for a in engine.update("pemkot-02", t * 0.5, fight)]
    >>> [(a.camera, a.kind) for a in alerts]
    [('pemkot-02', 'fight')]
"""

from __future__ import annotations

from collections import deque
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
class _CameraState:
    fight_window: deque = field(default_factory=deque)
    fight_first: float | None = None  # start of the current run of fight evidence
    fight_last_seen: float = 0.0
    fight_last_t: float | None = None  # the last analysed frame
    garbage: list[_Track] = field(default_factory=list)
    last_alert: dict[str, Alert] = field(default_factory=dict)


class AlertEngine:
    """Keeps per-camera state; feed it each analysed frame in time order."""

    def __init__(self, rules: AlertRules) -> None:
        self.rules = rules
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
        cooling = previous is not None and t - previous.raised_s < self.rules.cooldown_s
        if merged or cooling:
            previous.last_seen_s = t
            return None
        alert = Alert(camera, kind, first, t, t, tuple(float(v) for v in box), float(score))
        state.last_alert[kind] = alert
        return alert

    def _fight(self, camera, state, t, d) -> Alert | None:
        r = self.rules
        keep = (d.class_id == FIGHT) & (d.confidence >= r.fight_min_confidence)
        seen = bool(keep.any())
        if state.fight_last_t is not None and t - state.fight_last_t > r.merge_s:
            state.fight_window.clear()  # the stream was away: old frames say nothing now
        state.fight_last_t = t
        state.fight_window.append(seen)
        if len(state.fight_window) > r.fight_n:
            state.fight_window.popleft()
        if seen:
            if state.fight_first is None or t - state.fight_last_seen > r.merge_s:
                state.fight_first = t
            state.fight_last_seen = t
        if seen and sum(state.fight_window) >= r.fight_k:
            best = int(np.argmax(np.where(keep, d.confidence, -1)))
            return self._emit(
                state, camera, "fight", state.fight_first, t, d.xyxy[best], d.confidence[best]
            )
        prev = state.last_alert.get("fight")
        if seen and prev is not None and state.fight_first - prev.last_seen_s <= r.merge_s:
            prev.last_seen_s = max(prev.last_seen_s, t)  # the alerted fight goes on
        return None

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
