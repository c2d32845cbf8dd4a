"""Each worker's scheduler: everything when it fits; past capacity the fight analytic on the
hot spots by priority within its share, the detector shared fairly, and a real worker that
sheds that way on a tiny load."""

from __future__ import annotations

import queue
import time

import pytest

from ambon_cv.bench.profiles import StreamProfile
from ambon_cv.bench.scheduler import Costs, Scheduler

COSTS = Costs(frame_s=0.01, keyframe_s=0.002, fight_s=0.05)


def _quiet(name: str, priority: int = 0) -> StreamProfile:
    return StreamProfile(name, name, "sub", "keyframes", 0.5, ("garbage",), priority=priority)


def _hot(name: str, priority: int = 0) -> StreamProfile:
    return StreamProfile(
        name, name, "sub", "all", 0.5, ("garbage", "fight"), fight=True, priority=priority
    )


def test_a_load_that_fits_gets_everything():
    plan = Scheduler([_quiet("a"), _hot("b"), _quiet("c")], budget_cores=0.9)
    plan.plan(COSTS)
    assert plan.share == 1.0 and plan.fight_on == [False, True, False]
    assert plan.order[0] == 1  # hot spots are served first in a pass


def test_past_capacity_fights_go_by_priority_and_the_detector_is_shared_fairly():
    hot = [_hot(f"h{k}", priority=k) for k in range(20)]  # 20 x 0.05 = 1 core of fights
    quiet = [_quiet(f"q{k}") for k in range(100)]
    plan = Scheduler(hot + quiet, budget_cores=0.9, fight_share=0.5)
    plan.plan(COSTS)
    on = [p.name for p, f in zip(plan.profiles, plan.fight_on, strict=True) if f]
    assert sorted(on) == sorted(f"h{k}" for k in range(11, 20))  # 9 fit in 0.45 core: the
    # highest priorities
    # the rest of the budget pays for the same fraction of every stream's detector rate
    detector = sum(
        p.rate_fps * (COSTS.frame_s + (0 if f else COSTS.keyframe_s))
        for p, f in zip(plan.profiles, plan.fight_on, strict=True)
    )
    assert plan.wanted == pytest.approx((0.9 - 9 * 0.05) / detector)
    assert 0 < plan.wanted < 1


def test_falling_behind_lowers_the_budget_and_keeping_up_restores_it():
    plan = Scheduler([_quiet("a")], budget_cores=0.9)
    for _ in range(5):
        plan.feedback(behind=True)
    assert plan.pressure == pytest.approx(0.85**4)  # from the second late plan on
    for _ in range(30):
        plan.feedback(behind=False)
    assert plan.pressure == 1.0


def test_one_late_plan_between_good_ones_is_a_burst_not_a_lower_budget():
    plan = Scheduler([_quiet("a")], budget_cores=0.9)
    for _ in range(10):
        plan.feedback(behind=True)
        plan.feedback(behind=False)
    assert plan.pressure == 1.0


def test_a_worker_with_time_to_spare_past_capacity_takes_more_and_gives_it_back():
    quiet = [_quiet(f"q{k}") for k in range(400)]  # 400 x 0.5 x 12 ms = 2.4 cores asked
    plan = Scheduler(quiet, budget_cores=0.9)
    plan.plan(COSTS)
    planned = plan.wanted
    assert planned == pytest.approx(0.375)
    for _ in range(3):  # it slept half of each plan and kept up: the costs plan too little
        plan.feedback(behind=False, idle=0.5)
        plan.plan(COSTS)
    assert plan.wanted == pytest.approx(planned * 1.125**3)
    plan.feedback(behind=False, idle=0.05)  # busy: what it asks for holds
    plan.plan(COSTS)
    assert plan.wanted == pytest.approx(planned * 1.125**3)
    plan.feedback(behind=True)  # one late plan is a burst: the boost holds
    plan.plan(COSTS)
    assert plan.wanted == pytest.approx(planned * 1.125**3)
    plan.feedback(behind=False)
    for _ in range(2):  # a full queue, then late frames: the boost comes back down
        plan.feedback(behind=False, crowded=True)
    plan.feedback(behind=True)
    plan.feedback(behind=True)  # late at two plans running: a lasting lag
    plan.plan(COSTS)
    assert plan.wanted == pytest.approx(planned * 1.125**3 * 0.9**3 * 0.85)
    for _ in range(20):  # never below what the costs plan
        plan.feedback(behind=False, crowded=True)
    plan.plan(COSTS)
    assert plan.wanted == pytest.approx(planned)


def test_the_share_moves_towards_what_the_costs_ask_by_a_tenth_a_plan():
    quiet = [_quiet(f"q{k}") for k in range(400)]  # 2.4 cores asked of 0.9: 0.375 wanted
    plan = Scheduler(quiet, budget_cores=0.9)
    shares = []
    for _ in range(12):
        plan.plan(COSTS)
        shares.append(plan.share)
    assert plan.wanted == pytest.approx(0.375)
    assert shares[:3] == pytest.approx([0.9, 0.81, 0.729])  # down by 10% a plan ...
    assert shares[-1] == pytest.approx(0.375)  # ... until it is there, not below
    fits = Scheduler(quiet[:100], budget_cores=0.9)  # 0.6 core asked: all of it
    fits.share = 0.5  # as if it had just been past capacity
    fits.plan(COSTS)
    assert fits.wanted == 1.0 and fits.share == pytest.approx(0.55)  # up by 10% a plan


def test_a_share_still_climbing_back_to_a_load_that_fits_is_not_boosted():
    plan = Scheduler([_quiet(f"q{k}") for k in range(100)], budget_cores=0.9)  # 0.6 core
    plan.share = 0.5  # just past capacity: the share climbs back by 10% a plan
    for _ in range(5):
        plan.plan(COSTS)
        plan.feedback(behind=False, idle=0.5)  # asleep: the load fits, nothing to take
    assert plan.wanted == 1.0 and plan.share < 1.0 and plan.boost == 1.0


def test_a_load_that_fits_is_not_boosted_by_sleeping():
    plan = Scheduler([_quiet("a"), _hot("b")], budget_cores=0.9)
    for _ in range(5):
        plan.feedback(behind=False, idle=0.9)
        plan.plan(COSTS)
    assert plan.share == 1.0 and plan.boost == 1.0


@pytest.mark.slow
def test_a_worker_past_its_budget_sheds_every_stream_alike(bench_project):
    """A real worker over 8 recorded clips whose detector frames cost (as it measures them)
    far more than its budget: every stream gets the same share of its slots, none starves."""
    from ambon_cv.bench.pipeline import PipelineConfig, WorkerStreams
    from ambon_cv.bench.stage import camera_clips
    from ambon_cv.bench.streams import StreamSource
    from ambon_cv.config import AlertRules

    root, _ = bench_project
    pool = [c for cs in camera_clips(root).values() for c in cs]
    streams = [
        (k, _quiet(f"s{k}"), StreamSource("clip", str(pool[k % len(pool)]))) for k in range(8)
    ]
    # a budget of 0.02 core against 8 x 0.5 frames/s at 10 ms each (0.04 core): half of it
    config = PipelineConfig("", 64, 0.25, 1, 16, 25, 64, AlertRules(), budget_cores=0.02)
    desk = WorkerStreams(0, streams, queue.Queue(), config)
    served = [0] * 8

    def take(i: int, frame) -> None:
        served[i] += 1
        desk.detector_cpu[0] += 0.01  # what each frame would cost the detector
        desk.detector_cpu[1] += 1

    start = time.monotonic()
    while (now := time.monotonic()) - start < 16:
        nxt = desk.serve(now, take)
        time.sleep(min(max(nxt - time.monotonic(), 0.0005), 0.02))
    desk.close()
    share = desk.scheduler.share
    assert 0.2 < share < 0.8, share
    expected = 16 * 0.5 * share
    assert min(served) >= 0.5 * expected and max(served) <= 2 * expected + 1, served
    assert max(served) - min(served) <= 2, served  # alike: no stream gets all it asks
    assert sum(r.stats.skipped_keyframes for r in desk.readers) > 0  # nor decodes for nothing
    # every keyframe decoded is one a slot took (each stream may end with one on its way)
    assert sum(r.stats.decoded for r in desk.readers) <= sum(served) + len(streams)
