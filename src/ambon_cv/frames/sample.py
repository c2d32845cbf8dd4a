"""Turning a clip into the frames worth keeping.

Three strategies, each decoding only what it needs:
- `fixed_rate`: every frame is decoded (H.264 needs it), only one per 1/rate seconds is kept;
- `keyframes`: the decoder skips every non-key frame (`skip_frame=NONKEY`), almost free;
- `scene_change`: every frame is decoded to a small grey thumbnail, a frame is kept when it
  differs from the last kept one by more than the threshold.
Colour conversion happens only for kept frames, and not at all for a caller that asks for the
luma plane (`colour="luma"`: motion analytics that work on grey).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

THUMB = (64, 36)


class ClipDecodeError(RuntimeError):
    """A clip stopped decoding part way; frames already yielded stay good."""


@dataclass(frozen=True)
class SampledFrame:
    index: int  # frame number in the clip (from its timestamp and frame rate)
    time_s: float
    image: np.ndarray  # BGR uint8 (or the grey luma plane, when sampled with colour="luma")
    keyframe: bool


LUMA_FORMATS = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12")


def luma(frame) -> np.ndarray:
    """The grey picture of a decoded `av.VideoFrame`: its luma plane, a view without any
    conversion where the frame is YUV (what cameras send); converted otherwise."""
    if frame.format.name in LUMA_FORMATS:
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8, count=plane.height * plane.line_size)
        return rows.reshape(plane.height, plane.line_size)[:, : plane.width]
    return frame.to_ndarray(format="gray")


def sample_clip(
    path: str | Path,
    strategy: str = "fixed_rate",
    rate_fps: float = 1.0,
    scene_threshold: float = 0.12,
    colour: str = "bgr",
) -> Iterator[SampledFrame]:
    """Yield the frames of one clip that `strategy` keeps, as BGR (`colour="bgr"`) or as the
    grey luma plane (`colour="luma"`).

    Raises:
        ClipDecodeError: the clip cannot be opened, or breaks part way (after the good frames).
    """
    import av

    if colour not in ("bgr", "luma"):
        raise ValueError(f"colour must be 'bgr' or 'luma', not {colour!r}")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as err:
        raise ClipDecodeError(f"{path}: cannot open ({err})") from None
    with container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        if strategy == "keyframes":
            stream.codec_context.skip_frame = "NONKEY"
        next_t = 0.0
        last_thumb: np.ndarray | None = None
        count = 0
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else count / fps
                count += 1
                index = int(round(t * fps))
                if strategy == "fixed_rate":
                    if t + 1e-6 < next_t:
                        continue
                    next_t += 1.0 / rate_fps
                    while next_t <= t:
                        next_t += 1.0 / rate_fps
                elif strategy == "scene_change":
                    thumb = frame.reformat(width=THUMB[0], height=THUMB[1], format="gray")
                    small = thumb.to_ndarray().astype(np.int16)
                    if last_thumb is not None:
                        change = np.abs(small - last_thumb).mean() / 255.0
                        if change < scene_threshold:
                            continue
                    last_thumb = small
                image = luma(frame) if colour == "luma" else frame.to_ndarray(format="bgr24")
                yield SampledFrame(index, t, image, frame.key_frame)
        except av.error.FFmpegError as err:
            raise ClipDecodeError(
                f"{path}: decoding stopped after {count} frames ({err})"
            ) from None


HASH_SIZE = 16  # a 16x16 difference hash: 256 bits, fine enough to tell two walkers apart


def dhash(image: np.ndarray, size: int = HASH_SIZE) -> np.ndarray:
    """Difference hash as packed bytes (size*size bits): equal or close for near-duplicates,
    robust to sensor noise and compression."""
    import cv2

    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    small = cv2.resize(gray, (size + 1, size), interpolation=cv2.INTER_AREA)
    return np.packbits(small[:, 1:] > small[:, :-1])


class NearDuplicates:
    """Per-camera memory of kept frames' hashes: a new frame within `max_distance` bits of one
    already kept for the same camera is a near-duplicate (a quiet street, the same view)."""

    def __init__(self, max_distance: int) -> None:
        self.max_distance = max_distance
        self.kept: dict[str, list[np.ndarray]] = {}

    def is_duplicate(self, camera: str, h: np.ndarray) -> bool:
        seen = self.kept.setdefault(camera, [])
        if seen:
            distances = np.bitwise_count(np.bitwise_xor(np.stack(seen), h)).sum(axis=1)
            if distances.min() <= self.max_distance:
                return True
        seen.append(h)
        return False
