"""A run's ratios are counted against the slots the target rates put in its window."""

from __future__ import annotations

from ambon_cv.bench.harness import LoadResult
from ambon_cv.bench.profiles import StreamProfile
from ambon_cv.bench.records import FrameRecord
from ambon_cv.bench.summary import summarise
from ambon_cv.config import ServiceLevel


def _served(stream: int, at: list[float]) -> list[FrameRecord]:
    return [FrameRecord(stream, t, t, t, t + 0.05, 0.01, 0.001, 1, 0) for t in at]


def test_a_window_shorter_than_some_periods_counts_the_slots_that_fell_in_it():
    # two 0.5 fps streams whose slots are 1 s out of phase, every slot served, in a 3 s window:
    # one holds a slot at 2.3 only, the other at 1.3 and 3.3; rate x seconds says 1.5 each
    profiles = [StreamProfile(n, n, "sub", "all", 0.5, ("garbage",)) for n in ("a", "b")]
    result = LoadResult("pipeline", profiles, 3.0, window=(1.0, 4.0))
    result.records = _served(0, [2.3]) + _served(1, [1.3, 3.3])
    counters = {"due": 0, "missed": 0, "full": 0, "sent": 0, "decoded": 0}
    result.stats_start = {n: dict(counters) for n in ("a", "b")}
    result.stats_end = {
        "a": {**counters, "origin": 0.3, "period": 2.0},
        "b": {**counters, "origin": -0.7, "period": 2.0},
    }
    s = summarise(result, ServiceLevel())
    assert [p["ratio"] for p in s["per_stream"]] == [1.0, 1.0]
    assert s["analysed_ratio"] == 1.0 and s["least_served_ratio"] == 1.0
    # one slot missed is one slot of three, not a share of 3.0 frames
    result.records = _served(0, [2.3]) + _served(1, [1.3])
    s = summarise(result, ServiceLevel())
    assert [p["ratio"] for p in s["per_stream"]] == [1.0, 0.5]
    assert s["analysed_ratio"] == round(2 / 3, 4)
