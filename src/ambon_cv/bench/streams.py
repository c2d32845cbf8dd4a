"""Stream sources and the reader that keeps only the newest frame of each.

One interface, three kinds of source (`StreamSource.kind`):
- `clip`: a recorded clip replayed at real-time pace and looped, as if it were live; a frame's
  capture time is when it would have arrived live;
- `rtsp`: a live RTSP URL (the harness's own GStreamer server on loopback, or a camera);
  capture time is when it arrived.

A `Reader` thread per stream decodes what its profile needs (every frame, or keyframes only,
which costs almost nothing), keeps only the newest frame and counts what it overwrote. A
source that fails (a corrupt clip, a server that stops, a stalled stream) is reopened with
backoff; each failure is counted and its last error kept, and other streams go on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ambon_cv.bench.profiles import StreamProfile


@dataclass(frozen=True)
class StreamSource:
    kind: str  # clip | rtsp
    url: str  # a clip path or an rtsp:// URL


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


@dataclass
class Frame:
    """A decoded frame; converted to a BGR array only when someone analyses it (most frames
    of a fully decoded stream are overwritten by newer ones first)."""

    raw: Any  # av.VideoFrame
    captured: float  # time.monotonic() seconds (one clock for every process on the machine)
    index: int

    def image(self) -> np.ndarray:
        return self.raw.to_ndarray(format="bgr24")


@dataclass
class Reader:
    """Decodes one stream in a thread; `take()` hands out the newest frame, once."""

    profile: StreamProfile
    source: StreamSource
    stop: threading.Event
    open_timeout_s: float = 5.0
    read_timeout_s: float = 3.0
    max_backoff_s: float = 8.0
    stats: StreamStats = field(default_factory=StreamStats)
    _slot: Frame | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

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
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
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
            stream = container.streams.video[0]
            # one decoding thread per stream: hundreds of streams already keep every core busy,
            # and ffmpeg's own frame threads would only add idle threads and switches
            stream.codec_context.thread_count = 1
            stream.codec_context.thread_type = "NONE"
            if self.profile.decode == "keyframes":
                stream.codec_context.skip_frame = "NONKEY"
            self.stats.connected = True
            paced = self.source.kind == "clip"
            start = time.monotonic()
            base = None
            index = 0
            keyframes_only = self.profile.decode == "keyframes"
            for packet in container.demux(stream):
                if self.stop.is_set():
                    return
                if keyframes_only and not packet.is_keyframe:
                    continue  # never handed to the decoder: this is what makes keyframes cheap
                t = time.perf_counter()
                frames = packet.decode()
                if not frames:
                    continue
                for frame in frames:
                    self.stats.decode_s += time.perf_counter() - t
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
                    self._put(Frame(frame, captured, index))
                    index += 1
                    t = time.perf_counter()
            if self.stats.decoded == 0:
                raise ValueError(f"{self.source.url}: no decodable video frames")
        finally:
            container.close()
