"""One load run: start the pipeline (or the naive baseline) for a set of streams, warm up,
measure for a fixed duration, stop, and summarise. Ctrl-C stops early and the summary says
it is partial.

The warm-up lasts `warmup_s` and then until every stream has had `SETTLED_SLOTS` analysis
slots come due (at most `warmup_most_s`): a stream's first slot is always inferred (its
change gate has nothing to compare with yet), so a window that opens before every stream got
that far measures the start, not the load. Past capacity a stream's slots come seldom (at
440 streams on 2 cores, one every 5 s), and a fixed 4 s warm-up put most streams' first
slots inside the window. On an Intel Xeon, 440 streams analysed 84-88 frames/s measured
after 4 s (gated share 0.49); settled (a 12-13 s warm-up), 82-92 in seven runs (gated share
0.48-0.53): the first slots were part of the gap to 210 streams (95-101), not all of it."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ambon_cv.bench.pipeline import (
    PipelineConfig,
    decode_worker,
    inference_worker,
    naive_worker,
    stream_worker,
)
from ambon_cv.bench.profiles import StreamProfile
from ambon_cv.bench.records import AlertRecord, FrameRecord
from ambon_cv.bench.slots import FrameSlots
from ambon_cv.bench.streams import StreamSource
from ambon_cv.errors import AmbonError


class BenchError(AmbonError, RuntimeError):
    """The benchmark cannot run; the message says what to do."""


@dataclass
class LoadResult:
    mode: str  # pipeline | naive
    profiles: list[StreamProfile]
    seconds: float  # measured window
    window: tuple[float, float] = (0.0, 0.0)  # its start and end (monotonic time)
    records: list[FrameRecord] = field(default_factory=list)
    alerts: list[AlertRecord] = field(default_factory=list)
    stats_start: dict = field(default_factory=dict)
    stats_end: dict = field(default_factory=dict)
    cpu_percent: list[float] = field(default_factory=list)
    memory_bytes: list[int] = field(default_factory=list)  # the load's processes, PSS
    controller_bytes: list[int] = field(default_factory=list)  # this harness process, PSS
    interrupted: bool = False
    warmup_s: float = 0.0  # how long the warm-up lasted (until every stream had settled)


SETTLED_SLOTS = 2  # slots come due per stream before the window opens: its gate has compared


def settled(latest: dict, names: list[str], slots: int = SETTLED_SLOTS) -> bool:
    """Whether every stream in `names` has had `slots` analysis slots come due (served or
    missed: a starved stream does not hold the window back), from the workers' latest
    counters (`latest`: worker -> {stream: counters}).

    Example:
        >>> settled({0: {"a": {"due": 2}}, 1: {"b": {"due": 1}}}, ["a", "b"])
        False
        >>> settled({0: {"a": {"due": 2}}, 1: {"b": {"due": 3}}}, ["a", "b"])
        True
    """
    due = {name: s.get("due", 0) for stats in latest.values() for name, s in stats.items()}
    return all(due.get(name, 0) >= slots for name in names)


def _load_usage(controller, load: list) -> tuple[float, int, int]:
    """CPU seconds used so far by the load (its processes, their children and this controller),
    and the memory now of the load's processes and of the controller, as PSS: a page that
    several processes share (the runtime's libraries, a model, the frame slots) is counted
    once, split among them, so the sum is what the box holds. Only the load's own processes
    count: the calling process's other children (a test session's MongoDB, an RTSP server)
    are not the load."""
    import psutil

    def usage(p) -> tuple[float, int]:
        t = p.cpu_times()
        return t.user + t.system, p.memory_full_info().pss

    cpu, own_pss = usage(controller)
    load_pss = 0
    for top in load:
        try:
            tree = [top, *top.children(recursive=True)]
        except psutil.Error:  # ended: its stats came in on the queue
            continue
        for p in tree:
            try:
                p_cpu, p_pss = usage(p)
            except psutil.Error:
                continue
            cpu, load_pss = cpu + p_cpu, load_pss + p_pss
    return cpu, load_pss, own_pss


def run_load(
    profiles: list[StreamProfile],
    sources: list[StreamSource],
    config: PipelineConfig,
    warmup_s: float,
    duration_s: float,
    workers: int = 0,
    naive_weights: str | None = None,
    progress: bool = True,
    quota=None,
    streaming=None,
    warmup_most_s: float = 30.0,
) -> LoadResult:
    """Drive `profiles` (fed by `sources`) for a warm-up (`warmup_s`, then until every stream
    has settled, at most `warmup_most_s`) and `duration_s` measured seconds, in `workers`
    worker (or decode) processes, 0: one per core. With `naive_weights`, run the naive baseline on
    those .pt weights instead of the pipeline. With `quota` (an emulate.CpuQuota), every
    process of the load runs inside its CPU cgroup. `streaming` (a threading.Event) is set
    once the models are loaded and the streams start (the warm-up begins)."""
    import psutil

    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    results_q, stats_q = ctx.Queue(), ctx.Queue()
    names = [p.name for p in profiles]
    streams = [(i, p, s) for i, (p, s) in enumerate(zip(profiles, sources, strict=True))]
    n = max(1, min(workers or len(os.sched_getaffinity(0)), len(streams)))
    queues = (results_q, stats_q, stop)
    if naive_weights:
        mode, layout = "naive", _naive(ctx, streams, naive_weights, config, names, *queues)
    elif config.layout == "per_core":
        mode, layout = "pipeline", _per_core(ctx, streams, config, names, n, *queues)
    else:
        mode, layout = "pipeline", _central(ctx, streams, config, names, n, *queues)
    procs, decoders, readies = layout.first, layout.then, layout.readies
    result = LoadResult(mode, profiles, duration_s)
    me = psutil.Process(os.getpid())
    t_measure = t_end = float("inf")
    latest: dict[int, dict] = {}
    ended: dict[int, dict] = {}
    try:
        for p in procs:
            p.start()
            if quota is not None:
                quota.add(p.pid)
        for ready, proc in zip(readies, procs, strict=True):
            _wait_ready(ready, results_q, proc)
        for p in decoders:  # once inference is ready, so streams are not waiting on it
            procs.append(p)
            p.start()
            if quota is not None:
                quota.add(p.pid)
        if streaming is not None:
            streaming.set()
        t_start = time.monotonic()
        t_measure = t_start + warmup_s
        t_settled = t_start + max(warmup_s, warmup_most_s)  # the window opens by then anyway
        t_end = t_measure + duration_s
        warming = True
        last_cpu = None
        load = _processes(procs)
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
                _drain(results_q, result, None)  # the window is cut once it is known
                _drain_stats(stats_q, latest, result, t_measure, t_end, ended)
                if warming and now >= t_measure:
                    # the window opens now if every stream has settled (by the counters seen
                    # so far, which open it), else a little later
                    warming = not (settled(latest, names) or now >= t_settled)
                    t_measure = now + (0.25 if warming else 0.0)
                    for stats in latest.values() if not warming else ():
                        result.stats_start.update(stats)  # the counters the window opens at
                    t_end = t_measure + duration_s
                    bar.total = round(t_end - t_start)
                if now - tick >= 1.0:
                    if now >= t_measure:
                        cpu, load_mem, own_mem = _load_usage(me, load)
                        if last_cpu is not None:
                            result.cpu_percent.append(
                                100 * (cpu - last_cpu[0]) / (now - last_cpu[1])
                            )
                        last_cpu = (cpu, now)
                        result.memory_bytes.append(load_mem)
                        result.controller_bytes.append(own_mem)
                    bar.update(1)
                    tick = now
                time.sleep(0.02)
        except KeyboardInterrupt:
            result.interrupted = True
            result.seconds = max(0.0, time.monotonic() - t_measure)
            t_end = t_measure + result.seconds
        bar.close()
        result.window, result.warmup_s = (t_measure, t_end), round(t_measure - t_start, 2)
    finally:
        stop.set()
        deadline = time.monotonic() + 15
        procs = [p for p in procs if p.pid is not None]  # a start that failed has nothing to stop
        while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
            _drain(results_q, result, t_measure, until=t_end)
            _drain_stats(stats_q, latest, result, t_measure, t_end, ended)
            time.sleep(0.05)
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(2)
    lo, hi = result.window
    result.records = [r for r in result.records if lo <= r.captured < hi]
    final = {**latest, **ended}  # a worker that ended early (or an interrupted run): its last
    result.stats_end = {name: s for w in final.values() for name, s in w.items()}
    return result


def _processes(procs) -> list:
    """The started processes of a load, as psutil handles (one that has already ended is left
    out: its stats came in on the queue)."""
    import psutil

    out = []
    for p in procs:
        try:
            out.append(psutil.Process(p.pid))
        except psutil.Error:
            continue
    return out


@dataclass
class Layout:
    """The processes of a run: `first` (each sets its `readies` event once its model is
    loaded), `then` (started after), and what they share, held here for the whole run: a
    started process forgets its arguments, and a queue nobody holds is unlinked before a
    child that is still starting can open it."""

    first: list
    then: list
    readies: list
    shared: list = field(default_factory=list)


def _naive(ctx, streams, weights: str, config: PipelineConfig, names, results_q, stats_q, stop):
    ready = ctx.Event()
    naive = ctx.Process(
        target=naive_worker,
        args=(streams, weights, config, names, results_q, stats_q, stop, ready),
        name="naive",
    )
    return Layout([naive], [], [ready])


def _per_core(ctx, streams, config: PipelineConfig, names, n: int, results_q, stats_q, stop):
    """Layout `per_core`: `n` workers, worker w pinned to core w (round robin). Unpinned,
    OpenVINO put both workers' runtimes on one core: 156 frames/s at 210 streams, not 340."""
    cores = sorted(os.sched_getaffinity(0))
    dealt = deal(streams, n)
    readies = [ctx.Event() for _ in range(n)]
    workers = [
        ctx.Process(
            target=stream_worker,
            args=(
                w,
                n,
                dealt[w],
                config,
                names,
                cores[w % len(cores)],
                results_q,
                stats_q,
                stop,
                readies[w],
            ),
            name=f"streams-{w}",
        )
        for w in range(n)
    ]
    return Layout(workers, [], readies)


def _central(ctx, streams, config: PipelineConfig, names, n: int, results_q, stats_q, stop):
    """Layout `central`: inference processes (started first) and `n` decode processes."""
    inferring = max(1, config.inference_workers)
    n = max(n, min(inferring, len(streams)))
    waiting = max(1, config.queue_size // inferring)
    frames_qs = [ctx.Queue(maxsize=waiting) for _ in range(inferring)]
    # a frame holds its slot while it waits and while its batch is being built
    slots = [FrameSlots(ctx, waiting + config.max_batch, config.imgsz) for _ in range(inferring)]
    readies = [ctx.Event() for _ in range(inferring)]
    inference = [
        ctx.Process(
            target=inference_worker,
            args=(config, names, frames_qs[j], slots[j], results_q, stop, readies[j]),
            name=f"inference-{j}" if inferring > 1 else "inference",
        )
        for j in range(inferring)
    ]
    decoders = []
    dealt = deal(streams, n)
    for w in range(n):
        j = w % inferring  # the inference process this decoder feeds, and its slots
        part = (w // inferring, len(range(j, n, inferring)))
        decoders.append(
            ctx.Process(
                target=decode_worker,
                args=(
                    w,
                    dealt[w],
                    config.imgsz,
                    frames_qs[j],
                    slots[j],
                    part,
                    stats_q,
                    stop,
                    config,
                ),
                name=f"decode-{w}",
            )
        )
    return Layout(inference, decoders, readies, [frames_qs, slots])


def deal(streams: list[tuple], n: int) -> list[list[tuple]]:
    """`streams` (id, profile, source) shared among `n` workers: the fight hot spots (a
    stream decoded in full with its fight analytic costs ten quiet ones) dealt round robin
    first, then the others, so every worker carries the same mix.

    Example:
        >>> from types import SimpleNamespace as P
        >>> s = [(i, P(fight=i < 4), None) for i in range(8)]
        >>> [[i for i, _, _ in w] for w in deal(s, 2)]
        [[0, 2, 4, 6], [1, 3, 5, 7]]
        >>> s = [(i, P(fight=i % 4 == 0), None) for i in range(8)]  # hot spots 0 and 4
        >>> [[i for i, _, _ in w] for w in deal(s, 2)]
        [[0, 1, 3, 6], [4, 2, 5, 7]]
    """
    ordered = [x for x in streams if x[1].fight] + [x for x in streams if not x[1].fight]
    return [ordered[w::n] for w in range(n)]


def _wait_ready(ready, results_q, proc, stall_s: float = 120) -> None:
    """Until `proc` is ready to take the load. A process that reports progress (the naive
    baseline warms a model per stream, seconds each for an OpenVINO export, and says so) is
    waited for as long as it makes some; one that fails, ends, or shows none for `stall_s`
    is a BenchError."""
    deadline = time.monotonic() + stall_s
    warmed = 0
    while not ready.wait(0.2):
        try:
            msg = results_q.get_nowait()
            if msg[0] == "error":
                raise BenchError(f"the model did not load: {msg[1]}")
            if msg[0] == "warming":
                warmed, deadline = msg[1], time.monotonic() + stall_s
        except queue.Empty:
            pass
        if not proc.is_alive():
            raise BenchError(f"the {proc.name} process ended before it was ready")
        if time.monotonic() > deadline:
            done = f" ({warmed} models warmed)" if warmed else ""
            raise BenchError(
                f"the {proc.name} process was not ready: no progress in {stall_s:.0f} s{done}"
            )


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
        result.records.extend(r for r in records if lo <= r.captured < hi)
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
