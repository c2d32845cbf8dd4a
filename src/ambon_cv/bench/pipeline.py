"""The harness's pipeline, in one of two layouts (params bench.layout).

`per_core` (the default, for a CPU): a worker process per core, pinned to it, serves its share
of the streams alone: replays or reads them, fits each frame whose analysis slot has come and
infers them in batches across its streams, with one single-threaded runtime:

    worker w on core w: streams w, w+n, ... -> newest frame per stream -> fit
                        -> batch (max_batch, or the oldest waited max_wait_ms) -> infer
                        -> Detections -> alert engine per stream -> results to the parent

No frame crosses a process and no two processes take turns on a core. At 210 streams on
2 cores it analysed 331-347 frames/s against 229-235 for `central` (two paired runs).

`central` (for a GPU or a Triton server, where one runtime should see every frame): decode
processes fit due frames into shared-memory slots (`FrameSlots`) and queue their numbers to
`inference_workers` batching inference processes; decode worker w feeds inference process
w % n, so every stream stays with one alert engine. The inference processes yield the CPU to
decoding (a live stream cannot wait; inference sheds load by dropping frames).

In both, a stream whose slot comes while max queued frames wait is dropped before it is
converted, and counted.

The naive baseline (`naive_worker`) is what a first attempt looks like: in one process, a
thread per stream that calls ultralytics `YOLO(...).predict` on each due frame, with its own
model (ultralytics' advice for threads).

Every frame carries the monotonic time it was captured (one clock for all processes), so
latency is capture -> result, queueing included.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ambon_cv.bench.profiles import StreamProfile
from ambon_cv.bench.records import AlertRecord, FrameRecord
from ambon_cv.bench.scheduler import PLAN_EVERY_S, Costs, RecentCost, Scheduler
from ambon_cv.bench.slots import FrameSlots
from ambon_cv.bench.streams import ClipReplay, Reader, StreamSource
from ambon_cv.config import AlertRules, ChangeGating
from ambon_cv.cores import cores

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
    inference_workers: int = 1  # central: inference processes; decode worker w feeds w % this
    layout: str = "per_core"  # per_core | central: see the module's docstring
    fights: str = ""  # the exported fight analytic (a fight-clips/ folder); "" runs none
    gate: ChangeGating | None = None  # change-gated inference (per_core); None: infer all
    fight_share: float = 0.6  # past capacity, the most of a worker's budget fights may take
    budget_cores: float = 0.9  # of its core, what a worker plans to use


@dataclass
class SlotCounters:
    """Analysis slots of one stream: due = analysed-or-sent + missed."""

    due: int = 0
    sent: int = 0
    missed: int = 0  # the slot passed without a new frame to analyse
    full: int = 0  # the frame queue was full: dropped before inference
    reused: int = 0  # the view had not changed: its last detections, not inferred again
    convert_s: float = 0.0
    share: float = 1.0  # of its target rate the worker's scheduler gives it now
    # its slots at the full target rate: origin, origin + period, ... (monotonic time), so a
    # window holds an exact count of them (a 3 s window of a 0.5 fps stream holds 1 or 2)
    origin: float = 0.0
    period: float = 0.0


# a slot takes a frame captured at most this share of its period (and at most FRESH_S) before
# the slot: an older one is stale (a keyframe-only stream's slot waits for the next keyframe
# instead, and decodes no keyframe older than that)
FRESH, FRESH_S = 0.25, 0.5


def _fresh(period: float) -> float:
    return min(FRESH * period, FRESH_S)


def _schedule(readers, periods, counters, now, pending, on_frame, order=None, held=None) -> float:
    """Serve every stream whose analysis slot has come, in `order` (priority first), with the
    first fresh frame; a slot that waited a whole period with only a stale frame (its stream
    decodes late: an overloaded or throttled worker) takes that frame rather than none. `held`
    keeps each stream's stale frame between calls. Returns the next slot time."""
    held = held if held is not None else {}
    for i in order if order is not None else range(len(readers)):
        slot = pending[i]
        if now < slot:
            continue
        frame = readers[i].take()
        if frame is not None and frame.captured < slot - _fresh(periods[i]):
            held[i], frame = frame, None  # stale: the slot waits for a newer frame
        c = counters[i]
        if frame is None and now >= slot + periods[i]:
            frame = held.get(i)
            if frame is None:
                c.due += 1
                c.missed += 1
                pending[i] = slot + periods[i]
        if frame is not None:
            held.pop(i, None)
            c.due += 1
            on_frame(i, frame)
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


def arm_fights(readers, model_dir: str):
    """A streaming fight analytic (the exported `model_dir`) on every hot spot's stream;
    returns the model (its calibrated hot spots' thresholds open the alerts)."""
    from ambon_cv.fights.analytic import FightStream
    from ambon_cv.fights.classifier import FightModel

    model = FightModel.load(Path(model_dir))
    for r in readers:
        if r.profile.fight:
            r.fight = FightStream(model)
    return model


class WorkerStreams:
    """The streams one worker process serves: recorded clips replayed by the worker's own
    thread (`ClipReplay`), live sources each by a `Reader` thread (they block on the network),
    and every stream's analysis slots; it sends the worker's counters to the parent every
    STATS_EVERY_S, and once more when it closes."""

    def __init__(
        self,
        worker: int,
        streams: list[tuple[int, StreamProfile, StreamSource]],
        stats_out,
        config: PipelineConfig | None = None,
        detector_here: bool = True,
    ) -> None:
        self.worker, self.stats_out, self._last_stats = worker, stats_out, 0.0
        self.halt = threading.Event()
        self.replay = ClipReplay([(p, s) for _, p, s in streams if s.kind == "clip"])
        replayed = iter(self.replay.clips)
        self.readers = [
            next(replayed) if s.kind == "clip" else Reader(p, s, self.halt).start()
            for _, p, s in streams
        ]
        self.ids = [i for i, _, _ in streams]
        self.targets = [1.0 / p.rate_fps for _, p, _ in streams]  # periods at the full rate
        self.periods = list(self.targets)
        self.counters = [SlotCounters() for _ in streams]
        start = time.monotonic()
        # first slots spread over a period: streams of one rate would otherwise all come due
        # in the same instant, period after period
        n = len(streams)
        self.pending = [start + self.targets[k] * k / n for k in range(n)]
        for c, slot, period in zip(self.counters, self.pending, self.targets, strict=True):
            c.origin, c.period = slot, period
        c = config or PipelineConfig("", 0, 0, 0, 1, 0, 1, AlertRules())
        self.scheduler = Scheduler(
            [p for _, p, _ in streams], c.budget_cores, c.fight_share, detector_here
        )
        # what this worker measured it pays (seconds of CPU), until it has measured it
        self.costs = Costs(frame_s=0.01, keyframe_s=0.002, fight_s=0.05)
        # over the last few seconds: one plan's half second holds one or two batches
        self._recent = {k: RecentCost() for k in ("frame_s", "keyframe_s", "fight_s")}
        self.detector_cpu = [0.0, 0]  # CPU seconds, frames: the worker's detector work
        self.lag_s = 0.0  # how late the oldest frame waiting for the detector is
        self.slept_s = 0.0  # wall seconds the worker slept since the last plan: unused core
        self._full = 0  # frames dropped on a full queue, by the last plan
        self.held: dict = {}  # stream -> a stale frame its slot may take if nothing newer comes
        self.hot = [r for r in self.readers if r.profile.fight]
        self._rank = {k: n for n, k in enumerate(self.scheduler.order)}
        self._reslot()
        self._plan = (start, self._spent(), 0.0, 0)
        # a first plan from those estimates, so a worker past its capacity does not begin by
        # decoding every hot spot in full and falling behind before it has measured anything
        self.scheduler.plan(self.costs)
        for r, on in zip(self.readers, self.scheduler.fight_on, strict=True):
            if r.profile.fight:
                r.set_fight(on)
        self.fights = None  # the fight analytic's own alert engine (fight rule only)
        if config is not None and config.fights:
            from ambon_cv.fights.analytic import alert_engine

            model = arm_fights(self.readers, config.fights)
            # each stream keyed by its name, at its camera's calibrated threshold if it has one
            names = {r.profile.name: r.profile.camera for r in self.readers}
            self.fights = alert_engine(config.rules, model, names)

    def _spent(self) -> list[tuple[float, int, float]]:
        """Per stream so far: decode seconds, frames decoded, fight analytic seconds."""
        return [(r.stats.decode_s, r.stats.decoded, r.stats.fight_s) for r in self.readers]

    def replan(self, now: float, behind: bool) -> None:
        """Measure what this worker paid since the last plan, and plan again (scheduler)."""
        t0, spent0, det_s0, det_n0 = self._plan
        dt = now - t0
        if dt < PLAN_EVERY_S:
            return
        spent = self._spent()
        kf_s = kf_n = full_s = video_s = 0.0
        for r, (d_s, d_n, f_s), (d_s0, d_n0, f_s0) in zip(self.readers, spent, spent0, strict=True):
            if r.keyframes_only:  # the mode in force since the last plan
                kf_s, kf_n = kf_s + d_s - d_s0, kf_n + d_n - d_n0
            elif r.profile.fight and r.fight_on and not r.resuming:
                # per second of video, not of wall time: a worker that falls behind decodes
                # fewer seconds of video per second, and would seem to pay less
                full_s += d_s - d_s0 + f_s - f_s0
                video_s += (d_n - d_n0) / r.fps
        det_s, det_n = self.detector_cpu
        c, recent = self.costs, self._recent
        c.keyframe_s = recent["keyframe_s"].add(kf_s, kf_n, c.keyframe_s)
        if video_s > 0.1:
            c.fight_s = recent["fight_s"].add(full_s, video_s, c.fight_s)
        c.frame_s = recent["frame_s"].add(det_s - det_s0, det_n - det_n0, c.frame_s)
        s = self.scheduler
        full = sum(k.full for k in self.counters)  # frames dropped on a full queue, so far
        s.feedback(behind or self.lag_s > 0.5, self.slept_s / dt, full > self._full)
        self.slept_s, self._full = 0.0, full
        s.plan(c)
        resharing = abs(s.share - self.counters[0].share) > 0.1 * self.counters[0].share
        n = len(self.readers)
        for k, r in enumerate(self.readers):
            if r.profile.fight:
                if not r.fight_on:
                    r.stats.fight_off_s += dt
                r.set_fight(s.fight_on[k])
            if not resharing:  # a share within 10% of the last one: noise, slots stay put
                continue
            period = self.targets[k] / s.share
            # the next slot moves with the share: one period after the last slot served; the
            # ones that became overdue spread over half a second instead of all at once. A
            # slot whose keyframe is decoded already stays: moved, it would find it stale
            slot = self.pending[k] - self.periods[k] + period
            if r.keyed_for != self.pending[k]:
                self.pending[k] = slot if slot >= now else now + 0.5 * k / n
            self.periods[k] = period
            self.counters[k].share = round(s.share, 4)
        if resharing:
            self._reslot()
        self._plan = (now, spent, det_s, det_n)

    def serve(self, now: float, on_frame, budget_s: float = 0.02) -> float:
        """Hand out the frames that came due (decoding for at most `budget_s`), then serve
        the analysis slots that have come (`on_frame(i, frame)`); returns when there is next
        something to do."""
        due = self.replay.advance(now, budget_s)
        self.replan(now, behind=self.replay.late_s > 0.25)
        if self.fights is not None:
            for r in self.hot:
                while r.windows:
                    t, window = r.windows.pop(0)
                    r.stats.fight_alerts += len(self.fights.update(r.profile.name, t, window))
        nxt = self._serve_slots(now, on_frame)
        if now - self._last_stats >= STATS_EVERY_S:
            self.stats_out.put(_stats_message(self.worker, self.readers, self.counters))
            self._last_stats = now
        return min(nxt, due)

    def _serve_slots(self, now: float, on_frame) -> float:
        """Serve the slots that have come, in priority order, touching only those streams (a
        worker loops hundreds of times a second: a pass over every stream each time would cost
        more than the streams themselves at a few hundred). Returns the next slot time."""
        heap, rank = self._slots, self._rank
        due = set()
        while heap and heap[0][0] <= now:
            _, k = heapq.heappop(heap)
            due.add(k)
        if not due:
            return heap[0][0] if heap else now + 1.0
        order = sorted(due, key=rank.__getitem__)
        before = [self.pending[k] for k in order]
        _schedule(
            self.readers, self.periods, self.counters, now, self.pending, on_frame, order,
            self.held,
        )  # fmt: skip
        for k, was in zip(order, before, strict=True):
            if self.pending[k] != was or self.pending[k] > now:  # served, missed or not yet
                self._aim(k)
                heapq.heappush(heap, (self.pending[k], k))
            else:  # still waiting for a fresh frame: look again shortly
                heapq.heappush(heap, (now + 0.02, k))
        return heap[0][0]

    def _aim(self, k: int) -> None:
        """Tell stream k's decoding which keyframes its slots will take (streams.Decoding)."""
        r, period = self.readers[k], self.periods[k]
        r.next_slot, r.slot_period, r.fresh_s = self.pending[k], period, _fresh(period)

    def _reslot(self) -> None:
        """Every stream's next slot into the heap afresh (after the share changed)."""
        self._slots = [(slot, k) for k, slot in enumerate(self.pending)]
        heapq.heapify(self._slots)
        for k in range(len(self.readers)):
            self._aim(k)

    def close(self) -> None:
        self.halt.set()
        for r in self.readers:
            if isinstance(r, Reader):
                r.join(2.0)
        self.replay.close()
        self.stats_out.put(_stats_message(self.worker, self.readers, self.counters))


def batch_sizes(most: int) -> list[int]:
    """The batch sizes a worker infers: powers of two up to `most`, and `most`.

    >>> batch_sizes(16), batch_sizes(12), batch_sizes(1)
    ([1, 2, 4, 8, 16], [1, 2, 4, 8, 12], [1])
    """
    return sorted({*(2**k for k in range(most.bit_length()) if 2**k <= most), most})


class Analyser:
    """Infers a batch of fitted frames, decodes it to Detections and runs each stream's alert
    engine; returns the records and alerts the parent collects."""

    def __init__(self, config: PipelineConfig, names: list[str]) -> None:
        from ambon_cv.alerts import AlertEngine
        from ambon_cv.detections import Detections
        from ambon_cv.inference.backends import open_backend
        from ambon_cv.inference.decode import class_map, decode
        from ambon_cv.inference.letterbox import to_input
        from ambon_cv.inference.tracking import Tracker

        self.backend = open_backend(
            config.model, threads=config.threads or None, names=config.names, imgsz=config.imgsz
        )
        if self.backend.imgsz != config.imgsz:
            raise ValueError(
                f"{config.model} takes {self.backend.imgsz} px input but the bench was set up "
                f"for {config.imgsz} px"
            )
        self.ours = class_map(self.backend.names)
        self.engine = AlertEngine(config.rules)
        self.names, self.conf = names, config.conf
        self.max_batch = min(config.max_batch, self.backend.max_batch)
        self.last: dict = {}  # stream id -> its last inferred Detections (change gating)
        self.trackers: dict = {}  # stream id -> its Tracker: people and piles keep their ids
        # the tracker's libraries load now, in the warm-up, not on the load's first frame
        self._tracker_type = Tracker
        Tracker(frame_rate=1).update(Detections.empty())
        self._decode, self._to_input = decode, to_input
        # batches of a few sizes only, each run once before the load: OpenVINO sets a dynamic
        # model up for each new batch size on its first call (Intel Xeon, 256 px INT8, one
        # thread: 280-550 ms against 75-270 the next time), which stalled a worker's decoding
        # mid-run and shed its hot spots; a model compiled per size (<= 64 px) pays a compile
        self.sizes = batch_sizes(self.max_batch)
        blank = np.zeros((3, config.imgsz, config.imgsz), np.uint8)
        for n in self.sizes:
            self.backend.infer(to_input([blank] * n))

    def batch_size(self, waiting: int) -> int:
        """How many of `waiting` frames the next batch takes: the largest of `sizes` that
        fits (the rest go in the next batch, at once)."""
        return max(n for n in self.sizes if n <= max(1, waiting))

    def __call__(self, batch: list[tuple], fitted: list[np.ndarray], after=None) -> tuple:
        """`batch`: (stream id, captured, queued, ..., placement) per frame; `fitted` their
        arrays; `after()` runs once the input is built (a slot can be freed)."""
        started = time.monotonic()
        t0 = time.perf_counter()
        x = self._to_input(fitted)
        if after:
            after()
        raw = self.backend.infer(x)
        t1 = time.perf_counter()
        detections = self._decode(raw, [b[-1] for b in batch], self.ours, conf=self.conf)
        alerts = []
        detections = [
            self._tracker(sid).update(d) for (sid, *_), d in zip(batch, detections, strict=True)
        ]
        for (sid, captured, *_), d in zip(batch, detections, strict=True):
            self.last[sid] = d
            for a in self.engine.update(self.names[sid], captured, d):
                alerts.append(AlertRecord(a.camera, a.kind, a.raised_s))
        t2 = time.perf_counter()
        done = time.monotonic()
        n = len(batch)
        records = [
            FrameRecord(
                sid, captured, queued, started, done, (t1 - t0) / n, (t2 - t1) / n, n, len(d)
            )
            for (sid, captured, queued, *_), d in zip(batch, detections, strict=True)
        ]
        return records, alerts

    def _tracker(self, sid: int):
        """The stream's tracker (its analysed frames come about one a second or slower)."""
        if sid not in self.trackers:
            self.trackers[sid] = self._tracker_type(frame_rate=1)
        return self.trackers[sid]

    def reuse(self, sid: int, captured: float) -> tuple[FrameRecord, list[AlertRecord]]:
        """An unchanged view's slot: its last detections go to the alert engine again at
        `captured`, without inference. Returns its record (batch 0) and any alerts."""
        d = self.last[sid]
        alerts = [
            AlertRecord(a.camera, a.kind, a.raised_s)
            for a in self.engine.update(self.names[sid], captured, d)
        ]
        now = time.monotonic()
        return FrameRecord(sid, captured, now, now, now, 0.0, 0.0, 0, len(d)), alerts

    def close(self) -> None:
        self.backend.close()


def _load_analyser(config: PipelineConfig, names: list[str], results_out) -> Analyser | None:
    """The analyser, or None once the parent is told why the model did not load."""
    try:
        return Analyser(config, names)
    except Exception as exc:
        results_out.put(("error", f"{type(exc).__name__}: {exc}"))
        return None


def _quiet_child() -> None:
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    # one thread: a worker owns one core, and OpenCV's pool on 128 px flow (the fight
    # analytic) only adds switches
    cv2.setNumThreads(1)


def stream_worker(
    worker: int,
    workers: int,
    streams: list[tuple[int, StreamProfile, StreamSource]],
    config: PipelineConfig,
    names: list[str],
    core: int,
    results_out,
    stats_out,
    stop,
    ready,
) -> None:
    """Layout `per_core`: one process decodes its streams and infers them itself, in one
    thread, on its own core: decoding first (a live stream cannot wait), then fitting the
    frames whose analysis slot has come, then a batch when max_batch are waiting or the
    oldest has waited max_wait_ms. No frame crosses a process and no two processes take
    turns on a core."""
    import os

    from ambon_cv.inference.gate import ChangeGate
    from ambon_cv.inference.letterbox import fit

    _quiet_child()
    os.sched_setaffinity(0, {core})
    analyse = _load_analyser(config, names, results_out)
    if analyse is None:
        return
    desk = WorkerStreams(worker, streams, stats_out, config)  # opens its clips
    ready.set()
    counters = desk.counters
    gate = ChangeGate(config.gate) if config.gate is not None and config.gate.enabled else None
    waiting: list[tuple] = []  # (stream id, captured, queued, fitted frame, placement)
    reused: tuple[list, list] = ([], [])  # records and alerts of gated slots, sent in bulk
    capacity = max(1, config.queue_size // workers)
    wait_s = config.max_wait_ms / 1000

    def take(i: int, frame) -> None:
        if len(waiting) >= capacity:  # inference is behind: drop now, before paying to convert
            counters[i].full += 1
            return
        sid = desk.ids[i]
        t = time.process_time()
        look = None
        if gate is not None:
            look = gate.look(str(sid), frame.captured, frame.grey())
            # unchanged, and its last inference is done (not still waiting in the batch)
            if not look.changed and sid in analyse.last and all(b[0] != sid for b in waiting):
                record, alerts = analyse.reuse(sid, frame.captured)
                reused[0].append(record)
                reused[1].extend(alerts)
                counters[i].reused += 1
                desk.detector_cpu[0] += time.process_time() - t
                desk.detector_cpu[1] += 1  # a slot served: what the scheduler budgets
                return
        array, place = fit(frame.image(), config.imgsz)
        if look is not None:
            gate.saw(look)
        spent = time.process_time() - t
        counters[i].convert_s += spent
        desk.detector_cpu[0] += spent
        counters[i].sent += 1
        waiting.append((sid, frame.captured, time.monotonic(), array, place))

    while not stop.is_set():
        now = time.monotonic()
        desk.lag_s = now - waiting[0][2] if waiting else 0.0
        # decoding in short turns while frames wait for the detector, so neither starves the
        # other; the scheduler keeps what both need within the core
        nxt = desk.serve(now, take, budget_s=0.03 if waiting else 0.25)
        if reused[0]:
            results_out.put(("records", list(reused[0]), list(reused[1])))
            reused[0].clear()
            reused[1].clear()
        if waiting and (len(waiting) >= analyse.max_batch or now - waiting[0][2] >= wait_s):
            n = analyse.batch_size(len(waiting))
            batch = waiting[:n]
            del waiting[:n]
            t = time.process_time()
            results_out.put(("records", *analyse(batch, [b[3] for b in batch])))
            desk.detector_cpu[0] += time.process_time() - t
            desk.detector_cpu[1] += len(batch)
            continue  # decode what came due meanwhile before anything else
        if waiting:
            nxt = min(nxt, waiting[0][2] + wait_s)
        pause = min(max(nxt - time.monotonic(), 0.0005), 0.02)
        time.sleep(pause)
        desk.slept_s += pause
    desk.close()
    analyse.close()


def decode_worker(
    worker: int,
    streams: list[tuple[int, StreamProfile, StreamSource]],
    imgsz: int,
    frames_out,
    slots: FrameSlots,
    part: tuple[int, int],
    stats_out,
    stop,
    config: PipelineConfig | None = None,
) -> None:
    """Layout `central`: one decode process; fits each due frame into a free slot of `slots`
    (its `part`: index, count) and queues the slot's number for the inference process. The
    fight analytic of its hot spots runs here, beside their decoding."""
    from ambon_cv.inference.letterbox import fit

    _quiet_child()
    slots.attach(*part)
    # another process infers: this worker's scheduler budgets decoding and the fight analytic
    desk = WorkerStreams(worker, streams, stats_out, config, detector_here=False)
    counters = desk.counters

    def send(i: int, frame) -> None:
        if frames_out.full():  # inference is behind: drop now, before paying to convert
            counters[i].full += 1
            return
        slot = slots.claim()
        if slot is None:
            counters[i].full += 1
            return
        t = time.perf_counter()
        _, place = fit(frame.image(), imgsz, out=slots.frames[slot])
        counters[i].convert_s += time.perf_counter() - t
        try:
            frames_out.put_nowait((desk.ids[i], frame.captured, time.monotonic(), slot, place))
            counters[i].sent += 1
        except queue.Full:
            slots.free([slot])
            counters[i].full += 1

    while not stop.is_set():
        now = time.monotonic()
        nxt = desk.serve(now, send)
        time.sleep(min(max(nxt - time.monotonic(), 0.0005), 0.02))
    desk.close()


def inference_worker(
    config: PipelineConfig,
    names: list[str],
    frames_in,
    slots: FrameSlots,
    results_out,
    stop,
    ready,
) -> None:
    """Layout `central`: the batching inference process for the decode processes' frames."""
    import os

    _quiet_child()
    os.nice(5)  # decoding first when both want a core: a live stream cannot wait
    analyse = _load_analyser(config, names, results_out)
    if analyse is None:
        return
    slots.attach()
    wait_s = config.max_wait_ms / 1000
    ready.set()
    carried: list[tuple] = []  # frames past the last batch's size: the next batch's first
    while True:
        # frames carried over have waited already: they go at once, with what is queued
        deadline = time.monotonic() + (0.0 if carried else wait_s)
        if carried:
            batch, carried = carried, []
        else:
            try:
                batch = [frames_in.get(timeout=0.1)]
            except queue.Empty:
                if stop.is_set():
                    break
                continue
        while len(batch) < analyse.max_batch:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    frames_in.get(timeout=remaining) if remaining > 0 else frames_in.get_nowait()
                )
            except queue.Empty:
                break
        n = analyse.batch_size(len(batch))
        batch, carried = batch[:n], batch[n:]
        taken = [b[3] for b in batch]
        fitted = [slots.frames[k] for k in taken]
        results_out.put(
            ("records", *analyse(batch, fitted, after=functools.partial(slots.free, taken)))
        )
    analyse.close()


def _first_frame(reader: Reader, halt: threading.Event, wait_s: float = 10.0):
    """The first frame `reader` decodes within `wait_s` (None: none came)."""
    deadline = time.monotonic() + wait_s
    while not halt.is_set() and time.monotonic() < deadline:
        if (frame := reader.take()) is not None:
            return frame
        time.sleep(0.02)
    return None


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
    models = [YOLO(weights, task="detect") for _ in streams]
    for r in readers:
        r.start()
    warmed = itertools.count(1)

    def warm(k: int) -> None:
        # every model, on its own stream's first frame and with the very arguments the run
        # passes (ultralytics sets its predictor up again when they change): an OpenVINO
        # export's first call takes seconds (AMX Xeon, 64 px INT8: 3-7 s, then 10-30 ms), which
        # the measured run would otherwise count as latency, or not finish at all
        frame = _first_frame(readers[k], halt)
        image = frame.image() if frame is not None else np.zeros((360, 640, 3), np.uint8)
        models[k].predict(image, imgsz=config.imgsz, conf=config.conf, device="cpu", verbose=False)
        results_out.put(("warming", next(warmed), len(streams)))  # the parent waits on progress

    # the first alone: OpenVINO's Python binding deadlocks when two threads make its first
    # call at once (pybind11's numpy set-up in one thread waits for the GIL that the other,
    # waiting for that set-up, holds; seen in py-spy as __cxa_guard_acquire): three naive runs
    # of the last two sweeps hung so until their 280-440 s ran out, and were tried again
    warm(0)
    with ThreadPoolExecutor(cores()) as pool:
        list(pool.map(warm, range(1, len(streams))))
    if config.fights:  # the same deployed analytics as the pipeline: fights on the hot spots
        arm_fights(readers, config.fights)  # once the models are warm (warming is not load)
    ready.set()

    def analyse(k: int) -> None:
        sid, profile, _ = streams[k]
        period = 1.0 / profile.rate_fps
        pending = [time.monotonic() + (k % 10) * 0.01]
        counters[k].origin, counters[k].period = pending[0], period

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
                    AlertRecord(a.camera, a.kind, a.raised_s)
                    for a in engine.update(names[sid], frame.captured, d)
                ]
            done = time.monotonic()
            counters[k].sent += 1
            results_out.put(
                (
                    "records",
                    [
                        FrameRecord(
                            sid, frame.captured, queued, started, done, t1 - t0, 0.0, 1, len(d)
                        )
                    ],
                    alerts,
                )
            )

        while not halt.is_set():
            now = time.monotonic()
            nxt = _schedule([readers[k]], [period], [counters[k]], now, pending, run)
            halt.wait(min(max(nxt - time.monotonic(), 0.001), 0.02))

    threads = [
        threading.Thread(target=analyse, args=(k,), daemon=True) for k in range(len(streams))
    ]
    for t in threads:
        t.start()
    while not stop.is_set():
        stats_out.put(_stats_message(0, readers, counters))
        for r in readers:
            del r.windows[:]  # scored, counted in its stats; the baseline raises no fight alerts
        stop.wait(STATS_EVERY_S)
    halt.set()
    for t in threads:
        t.join(5.0)
    for r in readers:
        r.join(2.0)
    stats_out.put(_stats_message(0, readers, counters))
