"""One load run: start the pipeline (or the naive baseline) for a set of streams, warm up,
measure for a fixed duration, stop, and summarise. Ctrl-C stops early and the summary says
it is partial."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ambon_cv.bench.pipeline import PipelineConfig, decode_worker, inference_worker, naive_worker
from ambon_cv.bench.profiles import StreamProfile
from ambon_cv.bench.streams import StreamSource
from ambon_cv.errors import AmbonError


class BenchError(AmbonError, RuntimeError):
    """The benchmark cannot run; the message says what to do."""


@dataclass
class LoadResult:
    mode: str  # pipeline | naive
    profiles: list[StreamProfile]
    seconds: float  # measured window
    records: list[tuple] = field(default_factory=list)
    alerts: list[tuple] = field(default_factory=list)
    stats_start: dict = field(default_factory=dict)
    stats_end: dict = field(default_factory=dict)
    cpu_percent: list[float] = field(default_factory=list)
    rss_bytes: list[int] = field(default_factory=list)
    interrupted: bool = False


def _tree_usage(proc) -> tuple[float, int]:
    """CPU seconds used so far and resident memory now, of this process and its children."""
    import psutil

    cpu, rss = 0.0, 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            cpu += t.user + t.system
            rss += p.memory_info().rss
        except psutil.Error:
            continue
    return cpu, rss


def run_load(
    profiles: list[StreamProfile],
    sources: list[StreamSource],
    config: PipelineConfig,
    warmup_s: float,
    duration_s: float,
    workers: int = 2,
    naive_weights: str | None = None,
    progress: bool = True,
) -> LoadResult:
    """Drive `profiles` (fed by `sources`) for warmup + duration seconds. With
    `naive_weights`, run the naive baseline on those .pt weights instead of the pipeline."""
    import psutil

    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    inferring = 1 if naive_weights else max(1, config.inference_workers)
    readies = [ctx.Event() for _ in range(inferring)]
    frames_qs = [
        ctx.Queue(maxsize=max(1, config.queue_size // inferring)) for _ in range(inferring)
    ]
    results_q, stats_q = ctx.Queue(), ctx.Queue()
    names = [p.name for p in profiles]
    streams = [(i, p, s) for i, (p, s) in enumerate(zip(profiles, sources, strict=True))]
    procs = []
    if naive_weights:
        mode = "naive"
        procs.append(
            ctx.Process(
                target=naive_worker,
                args=(streams, naive_weights, config, names, results_q, stats_q, stop, readies[0]),
                name="naive",
            )
        )
    else:
        mode = "pipeline"
        procs += [
            ctx.Process(
                target=inference_worker,
                args=(config, names, frames_qs[j], results_q, stop, readies[j]),
                name=f"inference-{j}" if inferring > 1 else "inference",
            )
            for j in range(inferring)
        ]
    result = LoadResult(mode, profiles, duration_s)
    me = psutil.Process(os.getpid())
    t_measure = t_end = float("inf")
    latest: dict[int, dict] = {}
    ended: dict[int, dict] = {}
    try:
        for p in procs:
            p.start()
        for ready, proc in zip(readies, procs, strict=False):
            _wait_ready(ready, results_q, proc)
        if mode == "pipeline":
            n = max(1, min(max(workers, inferring), len(streams)))
            for w in range(n):
                part = streams[w::n]
                procs.append(
                    ctx.Process(
                        target=decode_worker,
                        args=(w, part, config.imgsz, frames_qs[w % inferring], stats_q, stop),
                        name=f"decode-{w}",
                    )
                )
                procs[-1].start()
        t_measure = time.monotonic() + warmup_s
        t_end = t_measure + duration_s
        last_cpu = None
        bar = tqdm(
            total=round(warmup_s + duration_s),
            desc=f"{mode} x{len(profiles)} streams",
            unit="s",
            disable=not progress,
            mininterval=2,
        )
        tick = time.monotonic()
        try:
            while (now := time.monotonic()) < t_end:
                _drain(results_q, result, t_measure)
                _drain_stats(stats_q, latest, result, t_measure, t_end, ended)
                if now - tick >= 1.0:
                    if now >= t_measure:
                        cpu, rss = _tree_usage(me)
                        if last_cpu is not None:
                            result.cpu_percent.append(
                                100 * (cpu - last_cpu[0]) / (now - last_cpu[1])
                            )
                        last_cpu = (cpu, now)
                        result.rss_bytes.append(rss)
                    bar.update(1)
                    tick = now
                time.sleep(0.02)
        except KeyboardInterrupt:
            result.interrupted = True
            result.seconds = max(0.0, time.monotonic() - t_measure)
        bar.close()
    finally:
        stop.set()
        deadline = time.monotonic() + 15
        while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
            _drain(results_q, result, t_measure, until=t_end)
            _drain_stats(stats_q, latest, result, t_measure, t_end, ended)
            time.sleep(0.05)
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(2)
    final = {**latest, **ended}  # a worker that ended early (or an interrupted run): its last
    result.stats_end = {name: s for w in final.values() for name, s in w.items()}
    return result


def _wait_ready(ready, results_q, proc, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready.wait(0.2):
        try:
            msg = results_q.get_nowait()
            if msg[0] == "error":
                raise BenchError(f"the model did not load: {msg[1]}")
        except queue.Empty:
            pass
        if not proc.is_alive():
            raise BenchError(f"the {proc.name} process ended before it was ready")
        if time.monotonic() > deadline:
            raise BenchError(f"the {proc.name} process was not ready after {timeout_s:.0f} s")


def _drain(
    results_q, result: LoadResult, t_measure: float | None, until: float | None = None
) -> None:
    while True:
        try:
            msg = results_q.get_nowait()
        except (queue.Empty, OSError, EOFError):
            return
        if msg[0] != "records":
            continue
        _, records, alerts = msg
        lo = t_measure if t_measure is not None else -np.inf
        hi = until if until is not None else np.inf
        result.records.extend(r for r in records if lo <= r[1] < hi)
        result.alerts.extend(alerts)


def _drain_stats(
    stats_q, latest: dict, result: LoadResult, t_measure: float, t_end: float, ended: dict
) -> None:
    """Counters bracket the measured window: the last snapshot at or before its start and
    the first at or after its end (what happens while stopping does not count)."""
    while True:
        try:
            worker, at, stats = stats_q.get_nowait()
        except (queue.Empty, OSError, EOFError):
            return
        latest[worker] = stats
        if at <= t_measure:
            result.stats_start.update(stats)
        if at >= t_end and worker not in ended:
            ended[worker] = stats
