"""Waiting for a load process to be ready: as long as it makes progress, no longer once it
makes none (a naive loop warming 32 OpenVINO models on a slow box takes minutes; one that
hangs should not be waited on for as long)."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from ambon_cv.bench.harness import BenchError, _wait_ready


class _Process:
    name = "naive"

    def __init__(self, alive: bool = True) -> None:
        self.alive = alive

    def is_alive(self) -> bool:
        return self.alive


def _warming(results: queue.Queue, ready: threading.Event, models: int, every_s: float):
    for k in range(1, models + 1):
        time.sleep(every_s)
        results.put(("warming", k, models))
    ready.set()


def test_a_process_that_keeps_warming_is_waited_for_past_the_stall_limit():
    results, ready = queue.Queue(), threading.Event()
    warming = threading.Thread(target=_warming, args=(results, ready, 8, 0.15))
    started = time.monotonic()
    warming.start()
    _wait_ready(ready, results, _Process(), stall_s=0.5)  # 1.2 s in all, 0.15 s a model
    warming.join()
    assert ready.is_set() and time.monotonic() - started >= 1.0


def test_a_process_that_stops_making_progress_is_named_with_how_far_it_got():
    results, ready = queue.Queue(), threading.Event()
    for k in (1, 2):
        results.put(("warming", k, 8))
    with pytest.raises(BenchError, match=r"naive process was not ready: no progress in 1 s \(2"):
        _wait_ready(ready, results, _Process(), stall_s=0.6)


def test_a_process_that_ends_or_fails_to_load_says_so_at_once():
    results, ready = queue.Queue(), threading.Event()
    with pytest.raises(BenchError, match="ended before it was ready"):
        _wait_ready(ready, results, _Process(alive=False), stall_s=60)
    results.put(("error", "exports/int8_openvino_model: no .xml"))
    with pytest.raises(BenchError, match="did not load: exports/int8_openvino_model"):
        _wait_ready(ready, results, _Process(), stall_s=60)
