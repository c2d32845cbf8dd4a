"""Stream sources and the reader that keeps only the newest frame of each.

One interface, three kinds of source (`StreamSource.kind`):
- `clip`: a recorded clip replayed at real-time pace and looped, as if it were live; a frame's
  capture time is when it would have arrived live;
- `rtsp`: a live RTSP URL (the harness's own GStreamer server on loopback, or a camera);
  capture time is when it arrived.

Each stream decodes what its profile needs (every frame, or keyframes only, which costs almost
nothing), keeps only the newest frame and counts what it overwrote: a `Reader` thread per live
stream (it blocks on the network), and one `ClipReplay` for all the recorded clips of a worker,
driven by the worker's own thread. A source that fails (a corrupt clip, a server that stops, a
stalled stream) is reopened with backoff; each failure is counted and its last error kept, and
other streams go on.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ambon_cv.bench.profiles import StreamProfile
from ambon_cv.frames.sample import luma
from ambon_cv.redact import redact


@dataclass(frozen=True)
class StreamSource:
    kind: str  # clip | rtsp
    url: str  # a clip path or an rtsp:// URL


def stream_error(camera: str, source: StreamSource, exc: Exception) -> str:
    """A stream's failure as a person reads it: the camera, what failed, what to check (a
    live URL's credentials blanked).

    >>> source = StreamSource("rtsp", "rtsp://u:pw@cam7:554/x")
    >>> stream_error("pemkot-07", source, OSError(5, "I/O"))[:60]
    'camera pemkot-07: rtsp://***@cam7:554/x: OSError: [Errno 5] '
    """
    text = f"camera {camera}: {redact(source.url)}: {type(exc).__name__}: {redact(str(exc))}"
    if source.kind == "rtsp":
        text += " (check the host, port, path and the credentials in .env)"
    return text[:400]


@dataclass
class StreamStats:
    decoded: int = 0
    decode_s: float = 0.0
    overwritten: int = 0  # newest-frame slot replaced before anyone took it
    reconnects: int = 0
    loops: int = 0  # a recorded clip started over (not a failure)
    errors: int = 0
    last_error: str = ""
    connected: bool = False
    fight_s: float = 0.0  # CPU seconds the fight analytic spent on this stream's frames
    fight_windows: int = 0  # windows it scored
    fight_alerts: int = 0  # fight alerts its windows raised
    fight_off_s: float = 0.0  # seconds a hot spot's fight analytic was shed (overload)
    skipped_keyframes: int = 0  # keyframes not decoded: no analysis slot near
    late_skips: int = 0  # frames not decoded: the stream was behind, it jumped to a keyframe


LATE_S = 1.0  # behind by more than this, a stream decoded in full jumps to its next keyframe


class Decoding:
    """What a stream decodes now, as its worker's scheduler decides: every frame, or keyframes
    only, and then only the keyframes analysis slots will take. Going back to every frame waits
    for a keyframe: the frames between depend on ones never decoded.

    The slots to come are known (`next_slot`, then every `slot_period`) and a slot takes the
    first frame captured `fresh_s` or less before it, so a keyframe is needed only when it is
    the first after the next slot's `slot - fresh_s`: one per slot (`keyed_for`), and the
    worker leaves a slot whose keyframe is decoded where it is when the share moves. Each
    keyframe is decided on when it arrives (a replayed clip holds its packet until then), on
    the schedule as it is at that moment. On 2 cores at 220 streams, 10-20% of the keyframes
    decoded were never analysed (a second one in a slot's window, or the slot moved away
    from its keyframe); with one per slot, kept, none were, and the workers analysed 47.9-49.5
    frames/s against 41.7-42.1."""

    keyframes_only: bool = False
    resuming: bool = False  # back to every frame from the next keyframe on
    next_slot: float = 0.0  # the stream's next analysis slot (monotonic time) ...
    slot_period: float = 0.0  # ... and its period now (0: every keyframe is needed)
    fresh_s: float = 0.0  # a slot takes a frame captured at most this long before it
    keyed_for: float | None = None  # the slot (its time) a keyframe was last decoded for
    fight_on: bool = True  # the fight analytic takes this stream's frames
    fps: float = 10.0  # the stream's frame rate, once opened
    _codec = None  # its decoder, once opened

    def init_decoding(self, profile: StreamProfile) -> None:
        self.keyframes_only = profile.decode == "keyframes"
        self.fight_on = profile.fight

    def set_fight(self, on: bool) -> None:
        """Take the stream's fight analytic on (decode every frame) or shed it (keyframes)."""
        if on == self.fight_on or not self.profile.fight:
            return
        self.fight_on = on
        if on:
            self.keyframes_only, self.resuming = False, True
        else:
            self.keyframes_only = True
            if self.fight is not None:
                self.fight.reset()  # the motion it saw last is no longer continuous

    def skips(self, packet, live_s: float | None) -> bool:
        """Whether `packet` (arriving at `live_s`) is passed by without decoding. A stream
        decoded in full that has fallen more than LATE_S behind jumps to its next keyframe, as
        a live decoder that cannot keep up does: late frames only delay the ones after."""
        if packet.size == 0:  # the end of the stream: drains the frames the decoder still holds
            return False
        if (
            not packet.is_keyframe
            and live_s is not None
            and not self.keyframes_only
            and live_s < time.monotonic() - LATE_S
        ):
            self.resuming = True
            self.stats.late_skips += 1
            return True
        if packet.is_keyframe:
            if self.resuming:
                self.resuming = False
                return False
            if self.keyframes_only and live_s is not None and not self._wanted(live_s):
                self.stats.skipped_keyframes += 1
                return True
            return False
        return self.keyframes_only or self.resuming

    def decode(self, packet) -> list:
        """`packet`'s frames. A keyframe decoded alone is drained at once: a decoder that
        reorders for B-frames would hand it out only keyframes later (a whole analysis
        period, when keyframes are skipped), and nothing depends on it but itself."""
        frames = list(packet.decode())
        if self.keyframes_only and packet.is_keyframe and packet.size:
            frames += list(self._codec.decode(None))
            self._codec.flush_buffers()
        return frames

    def _wanted(self, live_s: float) -> bool:
        """Whether a keyframe arriving now, at `live_s`, is the one the next slot takes: the
        first fresh for it (every keyframe is decided on as it arrives, so the next slot is
        the only one it can be for)."""
        if self.slot_period <= 0:
            return True  # no schedule yet
        if live_s < self.next_slot - self.fresh_s or self.keyed_for == self.next_slot:
            return False  # stale for the next slot, or the slot has its keyframe already
        self.keyed_for = self.next_slot
        return True


def fight_step(owner, frame, t: float) -> None:
    """Feed a decoded frame to the stream's fight analytic (`owner.fight`, None when the
    stream is not a fight hot spot); a finished window is queued on `owner.windows`."""
    fight = owner.fight
    if fight is None or not owner.fight_on or not fight.wants(t):
        return
    started = time.process_time()
    window = fight.push(t, luma(frame))  # grey is all the motion needs: no colour conversion
    owner.stats.fight_s += time.process_time() - started
    if window is not None:
        owner.stats.fight_windows += 1
        owner.windows.append((t, window))


@dataclass
class Frame:
    """A decoded frame; converted to a BGR array only when someone analyses it (most frames
    of a fully decoded stream are overwritten by newer ones first)."""

    raw: Any  # av.VideoFrame
    captured: float  # time.monotonic() seconds (one clock for every process on the machine)
    index: int

    def image(self) -> np.ndarray:
        return self.raw.to_ndarray(format="bgr24")

    def grey(self) -> np.ndarray:
        """The luma plane, without a conversion where the frame is YUV (a view of it)."""
        return luma(self.raw)


def _video(container, profile: StreamProfile):
    """The container's video stream, its decoder set up as `profile` needs."""
    stream = container.streams.video[0]
    # one decoding thread per stream: hundreds of streams already keep every core busy, and
    # ffmpeg's own frame threads would only add idle threads and switches
    stream.codec_context.thread_count = 1
    stream.codec_context.thread_type = "NONE"
    if profile.decode == "keyframes":
        stream.codec_context.skip_frame = "NONKEY"
    return stream


@dataclass
class Reader(Decoding):
    """Decodes one stream in a thread; `take()` hands out the newest frame, once."""

    profile: StreamProfile
    source: StreamSource
    stop: threading.Event
    open_timeout_s: float = 5.0
    read_timeout_s: float = 3.0
    max_backoff_s: float = 8.0
    stats: StreamStats = field(default_factory=StreamStats)
    fight: Any = None  # a FightStream on fight hot spots
    windows: list = field(default_factory=list)  # (time, Detections) the fight analytic scored
    _slot: Frame | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.init_decoding(self.profile)

    def start(self) -> Reader:
        self._thread = threading.Thread(target=self._run, name=self.profile.name, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread:
            self._thread.join(timeout)

    def take(self) -> Frame | None:
        with self._lock:
            frame, self._slot = self._slot, None
        return frame

    def _put(self, frame: Frame) -> None:
        with self._lock:
            if self._slot is not None:
                self.stats.overwritten += 1
            self._slot = frame

    def _run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                self._play()
                backoff = 0.5
                if self.source.kind == "clip":  # a recorded clip ended: play it again
                    self.stats.loops += 1
                    continue
            except Exception as exc:  # any failure of this one stream
                self.stats.errors += 1
                self.stats.last_error = stream_error(self.profile.camera, self.source, exc)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            self.stats.connected = False
            if not self.stop.is_set():
                self.stats.reconnects += 1

    def _play(self) -> None:
        import av

        options = {"rtsp_transport": "tcp"} if self.source.kind == "rtsp" else {}
        container = av.open(
            self.source.url, options=options, timeout=(self.open_timeout_s, self.read_timeout_s)
        )
        try:
            stream = _video(container, self.profile)
            self._codec = stream.codec_context
            self.fps = float(stream.average_rate or self.fps)
            self.stats.connected = True
            paced = self.source.kind == "clip"
            start = time.monotonic()
            base = None
            index = 0
            for packet in container.demux(stream):
                if self.stop.is_set():
                    return
                if self.skips(packet, time.monotonic()):
                    continue  # never handed to the decoder: this is what makes keyframes cheap
                t = time.thread_time()
                frames = self.decode(packet)
                if not frames:
                    continue
                for frame in frames:
                    self.stats.decode_s += time.thread_time() - t
                    self.stats.decoded += 1
                    if paced and frame.pts is not None:
                        pts = float(frame.pts * stream.time_base)
                        base = pts if base is None else base
                        captured = start + (pts - base)
                        delay = captured - time.monotonic()
                        if delay > 0 and self.stop.wait(delay):
                            return
                    else:
                        captured = time.monotonic()
                    fight_step(self, frame, captured)
                    self._put(Frame(frame, captured, index))
                    index += 1
                    t = time.thread_time()
            if self.stats.decoded == 0:
                raise ValueError(f"{redact(self.source.url)}: no decodable video frames")
        finally:
            container.close()


@dataclass
class ReplayedClip(Decoding):
    """One recorded clip of a `ClipReplay`: the same `profile`, `stats` and `take()` a
    `Reader` offers, driven by the replay's thread instead of its own."""

    profile: StreamProfile
    source: StreamSource
    stats: StreamStats = field(default_factory=StreamStats)
    fight: Any = None  # a FightStream on fight hot spots
    windows: list = field(default_factory=list)  # (time, Detections) the fight analytic scored
    due: float = 0.0  # when `_next` would have arrived live (or when to reopen after a failure)
    _slot: Frame | None = None
    _next: Frame | None = None  # decoded ahead, handed out at `due`, as a live camera sends it
    _held: Any = None  # keyframes only: the next keyframe's packet, decided on at `due`
    _decoded: list = field(default_factory=list)  # a packet can yield several frames
    _container: Any = None
    _packets: Any = None
    _stream: Any = None
    _start: float = 0.0  # monotonic time the current pass of the clip began
    _base: float | None = None  # the first frame's pts in this pass
    _index: int = 0
    _pass_frames: int = 0
    _pass_packets: int = 0  # packets read this pass (all may be skipped: keyframes not needed)
    _last_pts: float = 0.0  # the latest packet's of this pass, decoded or not
    _backoff: float = 0.5

    def __post_init__(self) -> None:
        self.init_decoding(self.profile)

    def take(self) -> Frame | None:
        frame, self._slot = self._slot, None
        return frame


STAGGER_S = 2.0  # the registry's keyframe interval


class ClipReplay:
    """Recorded clips replayed live by one thread: each clip's next frame is decoded as soon
    as the previous one is handed out and held until the moment it would have arrived, like a
    `Reader`, but one heap of due times replaces a paced thread per clip.

    A thread per clip costs 24% over decoding alone (105 clips in one process: 0.544 cores
    against 0.440), this 13% (0.497): no thread switches, no handing the GIL back and forth
    hundreds of times a second. The caller's thread calls `advance(now)` and sleeps until the
    time it returns. A clip that fails is reopened with backoff, the others go on.
    """

    def __init__(
        self, streams: list[tuple[StreamProfile, StreamSource]], max_backoff_s: float = 8.0
    ) -> None:
        self.clips = [ReplayedClip(p, s) for p, s in streams]
        self.max_backoff_s = max_backoff_s
        self.late_s = 0.0  # how late frames are handed out (a moving average): decoding behind
        for clip in self.clips:  # all at once, before the load starts, so none begins late
            self._step(clip, time.monotonic())
        start = time.monotonic()
        # all begin now (opening hundreds of clips takes seconds), their phases spread over a
        # keyframe interval as live cameras' are: recorded clips all have a keyframe at 0 s,
        # and hundreds decoded in the same instant every 2 s would be a load no city sends
        n = len(self.clips)
        for k, clip in enumerate(self.clips):
            if clip._container is not None:
                shift = start + STAGGER_S * k / n - clip._start
                clip._start, clip.due = clip._start + shift, clip.due + shift
                if clip._next is not None:
                    clip._next.captured += shift
        # (due, clip index)
        self._heap = [(c.due, k) for k, c in enumerate(self.clips)]
        heapq.heapify(self._heap)

    def advance(self, now: float, budget_s: float = 0.02) -> float:
        """Hand out every frame due by `now` (and decode each clip's next one), for at most
        `budget_s`, so a saturated machine still lets the caller serve its analysis slots.
        Returns when the next frame is due."""
        heap = self._heap
        until = time.monotonic() + budget_s
        while heap and heap[0][0] <= now:
            due, k = heap[0]
            self.late_s += 0.05 * (time.monotonic() - due - self.late_s)
            clip = self.clips[k]
            self._step(clip, now)
            heapq.heapreplace(heap, (clip.due, k))
            if time.monotonic() > until:
                break
        return heap[0][0] if heap else now + 1.0

    def close(self) -> None:
        for clip in self.clips:
            self._close(clip)

    def _step(self, clip: ReplayedClip, now: float) -> None:
        try:
            if clip._container is None:
                self._open(clip)
            elif clip._next is not None:
                if clip._slot is not None:
                    clip.stats.overwritten += 1
                clip._slot = clip._next
                clip._next = None
            self._decode_next(clip)
            clip._backoff = 0.5
        except Exception as exc:  # any failure of this one clip
            clip.stats.errors += 1
            clip.stats.last_error = redact(f"{type(exc).__name__}: {exc}")[:300]
            self._close(clip)
            clip.stats.reconnects += 1
            clip.due = now + clip._backoff
            clip._backoff = min(clip._backoff * 2, self.max_backoff_s)

    def _open(self, clip: ReplayedClip) -> None:
        import av

        clip._container = av.open(clip.source.url)
        clip._stream = _video(clip._container, clip.profile)
        clip._codec = clip._stream.codec_context
        clip.fps = float(clip._stream.average_rate or clip.fps)
        clip._packets = clip._container.demux(clip._stream)
        # from when it opened, not `now`: opening hundreds of clips at once takes seconds
        clip._start, clip._base, clip._pass_frames, clip._last_pts = time.monotonic(), None, 0, 0.0
        clip._pass_packets = 0
        clip.stats.connected = True

    def _decode_next(self, clip: ReplayedClip) -> None:
        """Decode the clip's next frame into `_next` and set `due`; at the end of the clip
        start it over (seeking back costs less than reopening).

        A stream decoded at keyframes only holds its next keyframe's packet undecoded until
        the moment it arrives, as a live camera would send it, and decides then: a decision
        made seconds ahead is made on a schedule the worker's scheduler has since changed
        (on 2 cores at 220 streams, a share cut left dozens of keyframes decoded for slots
        that had moved away, and a share raised found none decoded for the new ones)."""
        stream = clip._stream
        base_s = float(stream.time_base)  # a Fraction per packet costs more than its decoding
        while not clip._decoded:
            held, clip._held = clip._held, None
            for packet in itertools.chain([held] if held is not None else (), clip._packets):
                live = None
                if packet.pts is not None:  # the latest, should frames come reordered
                    pts = packet.pts * base_s
                    if packet is not held:
                        clip._last_pts = max(clip._last_pts, pts)
                        if clip._base is None:  # the pass's first packet: its first keyframe
                            clip._base = pts
                        clip._pass_packets += 1
                    live = clip._start + (pts - clip._base)
                    if (
                        clip.keyframes_only
                        and packet.is_keyframe
                        and packet.size
                        and live > time.monotonic()
                    ):
                        clip._held, clip.due = packet, live  # decided on when it arrives
                        return
                if clip.skips(packet, live):
                    continue  # never handed to the decoder: this is what makes keyframes cheap
                t = time.thread_time()
                clip._decoded.extend(clip.decode(packet))
                # a decoder with B-frames pays for a packet before it hands its frame out
                clip.stats.decode_s += time.thread_time() - t
                if clip._decoded:
                    break
            else:  # the clip ended
                if clip._pass_frames == 0 and clip._pass_packets == 0:
                    raise ValueError(f"{redact(clip.source.url)}: no decodable video frames")
                clip.stats.loops += 1
                if clip.fight is not None:
                    clip.fight.reset()  # the replay jumps back: a cut, not motion
                clip._container.seek(0, stream=stream)
                clip._packets = clip._container.demux(stream)
                # the next pass starts where this one ended: after its last packet, decoded
                # or not (keyframes only)
                rate = float(stream.average_rate or 10)
                ended = clip._start + (clip._last_pts - (clip._base or 0.0)) + 1 / rate
                clip._start, clip._base, clip._pass_frames, clip._last_pts = ended, None, 0, 0.0
                clip._pass_packets = 0
        frame = clip._decoded.pop(0)
        clip.stats.decoded += 1
        clip._pass_frames += 1
        pts = float(frame.pts * stream.time_base) if frame.pts is not None else 0.0
        if clip._base is None:
            clip._base = pts
        clip.due = clip._start + (pts - clip._base)
        fight_step(clip, frame, clip.due)
        clip._next = Frame(frame, clip.due, clip._index)
        clip._index += 1

    def _close(self, clip: ReplayedClip) -> None:
        if clip._container is not None:
            clip._container.close()
        clip._container = clip._packets = clip._next = clip._held = None
        clip._decoded.clear()
        clip.stats.connected = False
