"""What each stream must deliver, from the camera registry: which stream of the camera, what
to decode (every frame or keyframes only) and how many frames per second to analyse.

A camera's analytics on the same stream share one decoder: decode every frame if any analytic
needs that, and analyse at the highest rate any asks (garbage at 0.5 fps from keyframes, and a
fight hot spot at 5 fps from every frame, make one stream decoded in full, analysed at 5 fps).

Example:
    >>> from ambon_cv.config import load_cameras
    >>> profiles = stream_profiles(load_cameras(), 60)
    >>> len(profiles), profiles[55].camera == profiles[0].camera
    (60, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from ambon_cv.config import Camera, CameraRegistry


@dataclass(frozen=True)
class StreamProfile:
    """One stream of the load: the camera it stands for and what analysing it takes."""

    name: str  # unique per stream of the load: camera id, with #k when cameras repeat
    camera: str
    stream: str  # main | sub
    decode: str  # all | keyframes
    rate_fps: float
    kinds: tuple[str, ...]  # the analytics it feeds: garbage, fight

    @classmethod
    def of(cls, camera: Camera, name: str | None = None) -> StreamProfile:
        by_stream: dict[str, list] = {}
        for a in camera.analytics:
            by_stream.setdefault(a.stream, []).append(a)
        # the stream with the most analytics (the sub stream in the registry)
        stream, analytics = max(by_stream.items(), key=lambda kv: len(kv[1]))
        return cls(
            name=name or camera.id,
            camera=camera.id,
            stream=stream,
            decode="all" if any(a.decode == "all" for a in analytics) else "keyframes",
            rate_fps=max(a.rate_fps for a in analytics),
            kinds=tuple(a.kind for a in analytics),
        )


def stream_profiles(registry: CameraRegistry, streams: int) -> list[StreamProfile]:
    """`streams` profiles cycling through the registry in order, so a load of 55 is the command
    center itself and a larger one repeats its mix of cameras."""
    cameras = registry.cameras
    out = []
    for i in range(streams):
        cam = cameras[i % len(cameras)]
        lap = i // len(cameras)
        out.append(StreamProfile.of(cam, cam.id if lap == 0 else f"{cam.id}#{lap + 1}"))
    return out
