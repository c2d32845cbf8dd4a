"""Probing a clip: is it a readable video, and what is it (size, rate, codec, duration)?

A recorder export holds truncated files, zero-byte files and things that are not video at
all. `probe_clip` opens each with PyAV, decodes its first frame and its last second, and either
returns what it found or raises `UnreadableClip` with a reason a person can act on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

VIDEO_EXTS = {".mp4", ".mkv", ".avi", ".mov", ".ts", ".m4v", ".webm"}


class UnreadableClip(Exception):
    """The clip cannot be used; `str(err)` says why."""


@dataclass(frozen=True)
class ClipInfo:
    duration_s: float
    fps: float
    width: int
    height: int
    codec: str
    frames: int  # from the container, or estimated from duration x fps


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def probe_clip(path: str | Path) -> ClipInfo:
    """What a clip is, after proving its first frame and its last second decode.

    Raises:
        UnreadableClip: zero-byte, not a video, no video stream, undecodable, or truncated.
    """
    import av

    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise UnreadableClip("zero-byte file")
    try:
        container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as err:
        with open(path, "rb") as fh:
            head = fh.read(12)
        if head[4:8] == b"ftyp":
            raise UnreadableClip("damaged or truncated MP4 (its index cannot be read)") from None
        raise UnreadableClip(f"not a video file ({_short(err)})") from None
    with container:
        if not container.streams.video:
            raise UnreadableClip("no video stream in the file")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as err:
            raise UnreadableClip(f"no frame decodes ({_short(err)})") from None
        width, height = first.width, first.height
        start = float(first.time or 0.0)
        last_time = _decode_tail(container, stream, start + duration)
    if fps <= 0 or width <= 0:
        raise UnreadableClip("video stream has no frame rate or size")
    if duration > 0 and last_time < start + duration - max(1.0, 3 / fps):
        raise UnreadableClip(
            f"truncated: frames stop at {last_time - start:.1f} s of {duration:.1f} s"
        )
    frames = int(stream.frames) if stream.frames else int(round(duration * fps))
    return ClipInfo(duration, fps, width, height, codec, frames)


def _decode_tail(container, stream, end_s: float) -> float:
    """Seek to the last second and decode to the end; the time of the last good frame."""
    import av

    last = 0.0
    try:
        if end_s > 1.5 and stream.time_base:
            container.seek(int(max(0.0, end_s - 1.0) / stream.time_base), stream=stream)
        for frame in container.decode(stream):
            if frame.time is not None:
                last = max(last, float(frame.time))
    except av.error.FFmpegError as err:
        raise UnreadableClip(f"corrupt data near the end ({_short(err)})") from None
    return last


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:160]
