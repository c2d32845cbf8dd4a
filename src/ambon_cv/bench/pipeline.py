"""The harness's pipeline: decode workers -> batching inference process(es) -> results.

    readers (a thread per stream, newest frame only)  ┐
    in `workers` decode processes, which also fit     ├─> frame queue ─> inference process
    each due frame to the model's input               ┘    (cross-stream dynamic batching:
                                                            up to max_batch, waiting at most
                                                            max_wait_ms; alert engine per
                                                            stream) ─> results to the parent

With `inference_workers` > 1, decode worker w feeds inference process w % n: every stream
stays with one inference process (and its alert engine), and on a CPU several single-threaded
runtimes use the cores without the barrier waits of one runtime's threads.

The naive baseline (`naive_worker`) is what a first attempt looks like: in one process, a
thread per stream that calls ultralytics `YOLO(...).predict` on each due frame, with its own
model (ultralytics' advice for threads).

Every frame carries the monotonic time it was captured (one clock for all processes), so
latency is capture -> result, queueing included.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

from ambon_cv.bench.profiles import StreamProfile
from ambon_cv.bench.streams import Reader, StreamSource
from ambon_cv.config import AlertRules

STATS_EVERY_S = 0.25


@dataclass(frozen=True)
class PipelineConfig:
    model: str  # a file or folder open_backend takes, or triton://host:port/model
    imgsz: int
    conf: float
    threads: int  # inference threads; 0: every core
    max_batch: int
    max_wait_ms: float
    queue_size: int
    rules: AlertRules
    names: tuple[str, ...] = ()  # class names, for a Triton model
    inference_workers: int = 1  # inference processes; decode worker w feeds w % this one


@dataclass
class SlotCounters:
    """Analysis slots of one stream: due = analysed-or-sent + missed."""

    due: int = 0
    sent: int = 0
    missed: int = 0  # the slot passed without a new frame to analyse
    full: int = 0  # the frame queue was full: dropped before inference
    convert_s: float = 0.0


def _schedule(readers, periods, counters, now, pending, on_frame) -> float:
    """Serve every stream whose analysis slot has come; returns the next slot time."""
    for i, reader in enumerate(readers):
        slot = pending[i]
        if now < slot:
            continue
        frame = reader.take()
        c = counters[i]
        if frame is not None:
            c.due += 1
            on_frame(i, frame)
            pending[i] = slot + periods[i]
        elif now >= slot + periods[i]:
            c.due += 1
            c.missed += 1
            pending[i] = slot + periods[i]
        if pending[i] < now - periods[i]:  # far behind (a stall): count the slots, catch up
            behind = int((now - pending[i]) / periods[i])
            c.due += behind
            c.missed += behind
            pending[i] += behind * periods[i]
    return min(pending)


def _stats_message(worker: int, readers, counters) -> tuple:
    return (
        worker,
        time.monotonic(),
        {
            r.profile.name: {**vars(r.stats), **vars(c)}  # flat counters: asdict costs more
            for r, c in zip(readers, counters, strict=True)
        },
    )


def decode_worker(
    worker: int,
    streams: list[tuple[int, StreamProfile, StreamSource]],
    imgsz: int,
    frames_out,
    stats_out,
    stop,
) -> None:
    """One decode process: readers for its streams; fits each due frame and queues it."""
    import os
    import signal

    from ambon_cv.inference.letterbox import fit

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.nice(5)  # inference first when both want a core: readers keep only the newest frame
    halt = threading.Event()
    readers = [Reader(p, s, halt).start() for _, p, s in streams]
    ids = [i for i, _, _ in streams]
    periods = [1.0 / p.rate_fps for _, p, _ in streams]
    counters = [SlotCounters() for _ in streams]
    start = time.monotonic()
    pending = [start + (k % 10) * 0.01 for k in range(len(streams))]
    last_stats = 0.0

    def send(i: int, frame) -> None:
        if frames_out.full():  # inference is behind: drop now, before paying to convert
            counters[i].full += 1
            return
        t = time.perf_counter()
        fitted, place = fit(frame.image(), imgsz)
        counters[i].convert_s += time.perf_counter() - t
        try:
            frames_out.put_nowait((ids[i], frame.captured, time.monotonic(), fitted, place))
            counters[i].sent += 1
        except queue.Full:
            counters[i].full += 1

    while not stop.is_set():
        now = time.monotonic()
        nxt = _schedule(readers, periods, counters, now, pending, send)
        if now - last_stats >= STATS_EVERY_S:
            stats_out.put(_stats_message(worker, readers, counters))
            last_stats = now
        stop.wait(min(max(nxt - time.monotonic(), 0.001), 0.02))
    halt.set()
    for r in readers:
        r.join(2.0)
    stats_out.put(_stats_message(worker, readers, counters))


def inference_worker(
    config: PipelineConfig,
    names: list[str],
    frames_in,
    results_out,
    stop,
    ready,
) -> None:
    """The batching inference process: backend, decode to Detections, alerts per stream."""
    import signal

    from ambon_cv.alerts import AlertEngine
    from ambon_cv.inference.backends import open_backend
    from ambon_cv.inference.decode import class_map, decode
    from ambon_cv.inference.letterbox import to_input

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        backend = open_backend(
            config.model, threads=config.threads or None, names=config.names, imgsz=config.imgsz
        )
        ours = class_map(backend.names)
        if backend.imgsz != config.imgsz:
            raise ValueError(
                f"{config.model} takes {backend.imgsz} px input but bench.imgsz is {config.imgsz}"
            )
    except Exception as exc:
        results_out.put(("error", f"{type(exc).__name__}: {exc}"))
        return
    engine = AlertEngine(config.rules)
    max_batch = min(config.max_batch, backend.max_batch)
    wait_s = config.max_wait_ms / 1000
    backend.infer(to_input([np.zeros((3, config.imgsz, config.imgsz), np.uint8)]))  # warm-up
    ready.set()
    while True:
        try:
            first = frames_in.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                break
            continue
        batch = [first]
        deadline = time.monotonic() + wait_s
        while len(batch) < max_batch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(frames_in.get(timeout=remaining))
            except queue.Empty:
                break
        started = time.monotonic()
        t0 = time.perf_counter()
        raw = backend.infer(to_input([b[3] for b in batch]))
        t1 = time.perf_counter()
        detections = decode(raw, [b[4] for b in batch], ours, conf=config.conf)
        alerts = []
        for (sid, captured, *_), d in zip(batch, detections, strict=True):
            for a in engine.update(names[sid], captured, d):
                alerts.append((a.camera, a.kind, a.raised_s))
        t2 = time.perf_counter()
        done = time.monotonic()
        n = len(batch)
        records = [
            (sid, captured, queued, started, done, (t1 - t0) / n, (t2 - t1) / n, n, len(d))
            for (sid, captured, queued, *_), d in zip(batch, detections, strict=True)
        ]
        results_out.put(("records", records, alerts))
    backend.close()


def naive_worker(
    streams: list[tuple[int, StreamProfile, StreamSource]],
    weights: str,
    config: PipelineConfig,
    names: list[str],
    results_out,
    stats_out,
    stop,
    ready,
) -> None:
    """The baseline: a thread per stream, each with its own ultralytics model, calling
    predict on each due frame (decoding by the same readers and profiles)."""
    import signal

    from ultralytics import YOLO

    from ambon_cv.alerts import AlertEngine
    from ambon_cv.detections import Detections

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    halt = threading.Event()
    engine = AlertEngine(config.rules)
    lock = threading.Lock()
    readers = [Reader(p, s, halt) for _, p, s in streams]
    counters = [SlotCounters() for _ in streams]
    models = [YOLO(weights) for _ in streams]
    for m in models[:1]:
        m.predict(np.zeros((64, 64, 3), np.uint8), imgsz=config.imgsz, verbose=False)
    ready.set()

    def analyse(k: int) -> None:
        sid, profile, _ = streams[k]
        period = 1.0 / profile.rate_fps
        pending = [time.monotonic() + (k % 10) * 0.01]

        def run(i: int, frame) -> None:
            queued = started = time.monotonic()
            t0 = time.perf_counter()
            result = models[k].predict(
                frame.image(), imgsz=config.imgsz, conf=config.conf, device="cpu", verbose=False
            )[0]
            t1 = time.perf_counter()
            d = Detections.from_ultralytics(result)
            with lock:
                alerts = [
                    (a.camera, a.kind, a.raised_s)
                    for a in engine.update(names[sid], frame.captured, d)
                ]
            done = time.monotonic()
            counters[k].sent += 1
            results_out.put(
                (
                    "records",
                    [(sid, frame.captured, queued, started, done, t1 - t0, 0.0, 1, len(d))],
                    alerts,
                )
            )

        while not halt.is_set():
            now = time.monotonic()
            nxt = _schedule([readers[k]], [period], [counters[k]], now, pending, run)
            halt.wait(min(max(nxt - time.monotonic(), 0.001), 0.02))

    for r in readers:
        r.start()
    threads = [
        threading.Thread(target=analyse, args=(k,), daemon=True) for k in range(len(streams))
    ]
    for t in threads:
        t.start()
    while not stop.is_set():
        stats_out.put(_stats_message(0, readers, counters))
        stop.wait(STATS_EVERY_S)
    halt.set()
    for t in threads:
        t.join(5.0)
    for r in readers:
        r.join(2.0)
    stats_out.put(_stats_message(0, readers, counters))
