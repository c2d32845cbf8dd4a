"""The alert budget: the opening threshold chosen from a known distribution of window scores,
judged out of fold, and incidents still open when a clip ends."""

from __future__ import annotations

import numpy as np
import pytest

from ambon_cv.config import AlertRules
from ambon_cv.fights.budget import (
    StreamedClip,
    choose_open,
    operating_curve,
    out_of_fold_operating_point,
    play,
)

RULES = AlertRules(fight_keep=0.5, fight_min_s=1.0, merge_s=10)
HOP = 0.5


def quiet_footage(peaks: list[float], seconds: float = 60.0) -> list[StreamedClip]:
    """Non-fight footage: long clips of low scores, each with one burst of three windows
    (long enough to alert) peaking at the given score."""
    clips = []
    for n, peak in enumerate(peaks):
        scores = [0.1] * int(seconds / HOP)
        scores[100:103] = [peak, peak, peak]
        clips.append(StreamedClip(f"quiet-{n}", False, scores, seconds))
    return clips


def fights(peaks: list[float]) -> list[StreamedClip]:
    return [StreamedClip(f"fight-{n}", True, [p] * 4, 2.0) for n, p in enumerate(peaks)]


def test_the_budget_picks_the_lowest_threshold_within_it():
    # 6 clips of a minute (0.1 hour): bursts at 0.625, 0.715 ... 0.885 make 1 false alert each
    # at any opening threshold under their peak
    peaks = [0.625, 0.715, 0.745, 0.805, 0.835, 0.885]
    clips = quiet_footage(peaks) + fights([0.9, 0.86, 0.8, 0.6])
    # 10 an hour allowed (one in the 0.1 hour): everything above the second-highest burst
    point = choose_open(clips, RULES, HOP, budget=10.0)
    assert point.open == pytest.approx(0.84)
    assert (point.false_alerts, point.fight_clips_alerted) == (1, 2)
    assert point.false_alerts_per_camera_hour == pytest.approx(10.0)
    # 30 an hour: above the fourth (0.745); more fights found
    loose = choose_open(clips, RULES, HOP, budget=30.0)
    assert loose.open == pytest.approx(0.75) and loose.fight_clips_alerted == 3
    # the curve falls to 0 false alerts and never finds more fights as it rises
    curve = operating_curve(clips, RULES, HOP)
    assert [p.false_alerts for p in curve] == sorted((p.false_alerts for p in curve), reverse=True)
    assert curve[-1].false_alerts == 0


def test_no_threshold_meets_an_impossible_budget_and_the_highest_is_taken():
    clips = quiet_footage([0.995]) + fights([0.999])
    point = choose_open(clips, RULES, HOP, budget=0.5)
    assert point.open == pytest.approx(0.99) and point.false_alerts == 1


def test_an_incident_open_when_its_clip_ends_counts_on_both_sides():
    # one window over the threshold, then the clip ends: too short to have alerted, counted
    short_fight = StreamedClip("f", True, [0.9], 2.0)
    short_quiet = StreamedClip("q", False, [0.9], 2.0)
    point = play([short_fight, short_quiet], RULES, 0.8, HOP)
    assert (point.fight_clips_alerted, point.false_alerts) == (1, 1)
    closed = play([StreamedClip("q", False, [0.9, 0.2], 2.5)], RULES, 0.8, HOP)
    assert closed.false_alerts == 0  # it closed before the clip ended: nothing alerted


def test_out_of_fold_judges_each_fold_by_a_threshold_chosen_on_the_others():
    rng = np.random.default_rng(0)
    clips = quiet_footage(list(rng.uniform(0.6, 0.95, 8))) + fights(list(rng.uniform(0.7, 1, 8)))
    folds = [list(range(i, len(clips), 4)) for i in range(4)]
    honest = out_of_fold_operating_point(clips, RULES, HOP, budget=5.0, folds=folds)
    assert len(honest["open_per_fold"]) == 4
    assert honest["fight_clips"] == 8 and honest["no_fight_seconds"] == 8 * 60.0
    # chosen on the others, a fold's own burst can sit above the threshold: honest figures
    # are never better than the ones chosen on every clip
    every = choose_open(clips, RULES, HOP, budget=5.0)
    assert honest["false_alerts"] >= every.false_alerts
