"""The alert budget: how many false fight alerts per camera-hour the command center accepts
(`fights.budget`), and the opening threshold of a fight incident that meets it.

Clips are played as streams through the alert engine (`ambon_cv.alerts`, the incident rule of
`evaluate.alerts`): the non-fight clips one after another as one camera (its false alerts per
camera-hour) and each fight clip as its own camera (the share that raises an alert). Most
shared clips are 2 s, shorter than an incident's minimum duration: an incident still open
when a clip ends is counted as alerted, on both sides (a fight seen, a false alert). The
lowest opening threshold whose false alerts stay within the budget is chosen; lower would
alert more, higher would find fewer fights. The operating curve (false alerts per
camera-hour against fight clips alerted, over thresholds) is the report's DVC plot.

Chosen on the same clips it is judged on, the budget would look met by construction, so
`out_of_fold_operating_point` chooses it on the other recordings' clips and judges it on each
fold's own: what a new camera would see.

Example:
    >>> from ambon_cv.config import AlertRules
    >>> rules = AlertRules(fight_keep=0.5, fight_min_s=0.5)
    >>> quiet = StreamedClip("n1", fight=False, scores=[0.2, 0.6, 0.7, 0.3], seconds=3.0)
    >>> fight = StreamedClip("f1", fight=True, scores=[0.9, 0.95, 0.9], seconds=3.0)
    >>> [round(p.false_alerts_per_camera_hour) for p in operating_curve([quiet, fight], rules,
    ...     hop_s=0.5, thresholds=[0.6, 0.8])]
    [1200, 0]
    >>> choose_open([quiet, fight], rules, hop_s=0.5, budget=0.5, thresholds=[0.6, 0.8]).open
    0.8
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ambon_cv.alerts import AlertEngine
from ambon_cv.config import AlertRules
from ambon_cv.detections import CLASSES, Detections

FIGHT = CLASSES.index("fight")
THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.50, 0.995, 0.01))


@dataclass(frozen=True)
class StreamedClip:
    """One clip's window scores, every hop_s, as the live analytic gives them."""

    name: str
    fight: bool
    scores: Sequence[float]
    seconds: float  # of footage
    recording: str = ""


@dataclass(frozen=True)
class OperatingPoint:
    open: float
    false_alerts: int
    no_fight_seconds: float
    fight_clips: int
    fight_clips_alerted: int

    @property
    def false_alerts_per_camera_hour(self) -> float:
        hours = self.no_fight_seconds / 3600
        return self.false_alerts / hours if hours else float("nan")

    @property
    def fight_share_alerted(self) -> float:
        return self.fight_clips_alerted / self.fight_clips if self.fight_clips else float("nan")

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "false_alerts_per_camera_hour": round(self.false_alerts_per_camera_hour, 2),
            "fight_share_alerted": round(self.fight_share_alerted, 4),
        }


def window(score: float) -> Detections:
    """One fight-analytic window's score as the alert engine reads it (the box says nothing
    here: only the score is played)."""
    box = np.array([[0, 0, 1, 1]], np.float32)
    return Detections(box, np.array([FIGHT]), np.array([score]), meta={"analytic": "fight"})


def play(
    clips: Sequence[StreamedClip], rules: AlertRules, open_threshold: float, hop_s: float
) -> OperatingPoint:
    """The clips as streams through the alert engine at this opening threshold."""
    quiet, offset, pending = AlertEngine(rules, fight_open=open_threshold), 0.0, 0
    for clip in clips:
        if not clip.fight:
            for i, s in enumerate(clip.scores):
                quiet.update("no-fight", offset + i * hop_s, window(s))
            pending += quiet.end_of_footage("no-fight")  # open when the clip ended: counted
            offset += clip.seconds + rules.merge_s + hop_s  # one clip's incident ends with it
    alerted, fights = 0, [c for c in clips if c.fight]
    for clip in fights:
        engine = AlertEngine(rules, fight_open=open_threshold)
        for i, s in enumerate(clip.scores):
            engine.update(clip.name, i * hop_s, window(s))
        alerted += bool(engine.alerts) or engine.end_of_footage(clip.name)
    false_alerts = len(quiet.alerts) + pending
    seconds = sum(c.seconds for c in clips if not c.fight)
    return OperatingPoint(open_threshold, false_alerts, seconds, len(fights), alerted)


def operating_curve(
    clips: Sequence[StreamedClip],
    rules: AlertRules,
    hop_s: float,
    thresholds: Sequence[float] = THRESHOLDS,
) -> list[OperatingPoint]:
    """One operating point per opening threshold at or above `rules.fight_keep`."""
    return [play(clips, rules, t, hop_s) for t in thresholds if t >= rules.fight_keep]


def choose_open(
    clips: Sequence[StreamedClip],
    rules: AlertRules,
    hop_s: float,
    budget: float,
    thresholds: Sequence[float] = THRESHOLDS,
) -> OperatingPoint:
    """The lowest opening threshold whose false alerts per camera-hour on the non-fight clips
    are within `budget` (the highest tried when none is)."""
    curve = operating_curve(clips, rules, hop_s, thresholds)
    if not curve:
        raise ValueError(f"no threshold tried is at or above fight_keep ({rules.fight_keep})")
    within = [p for p in curve if p.false_alerts_per_camera_hour <= budget]
    return within[0] if within else curve[-1]


def out_of_fold_operating_point(
    clips: Sequence[StreamedClip],
    rules: AlertRules,
    hop_s: float,
    budget: float,
    folds: Sequence[Sequence[int]],
) -> dict:
    """Each fold's threshold chosen on the other folds' clips, played on its own; summed over
    the folds (`folds`: the held-out clip indices of each, grouped by recording)."""
    false_alerts, seconds, alerted, fights, chosen = 0, 0.0, 0, 0, []
    for held_out in folds:
        out = set(held_out)
        rest = [c for i, c in enumerate(clips) if i not in out]
        point = choose_open(rest, rules, hop_s, budget)
        judged = play([clips[i] for i in held_out], rules, point.open, hop_s)
        chosen.append(point.open)
        false_alerts += judged.false_alerts
        seconds += judged.no_fight_seconds
        alerted += judged.fight_clips_alerted
        fights += judged.fight_clips
    total = OperatingPoint(float(np.median(chosen)), false_alerts, seconds, fights, alerted)
    return {**total.as_dict(), "open_per_fold": chosen}
