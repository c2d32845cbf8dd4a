"""What each stream must deliver, from the camera registry: which stream of the camera, what
to decode (every frame or keyframes only), how many frames per second the detector analyses,
and whether the streaming fight analytic runs on it.

A camera's analytics on the same stream share one decoder: decode every frame if any analytic
needs that. Where fights come from the streaming fight analytic (evaluate.alerts.fight_source:
analytic, the default), a fight hot spot's detector runs at the rate of its other analytics
(garbage at 0.5 fps) and the fight analytic takes every decoded frame; its stream is decoded in
full for the analytic only. Where fights come from the detector (`fights="detector"`, kept to
compare), the detector runs at the fight rate (5 fps). With `fights="none"` a hot spot is a
garbage camera: keyframes at 0.5 fps.

Example:
    >>> from ambon_cv.config import load_cameras
    >>> profiles = stream_profiles(load_cameras(), 60)
    >>> len(profiles), profiles[55].camera == profiles[0].camera
    (60, True)
    >>> hot = next(p for p in profiles if p.fight)
    >>> hot.decode, hot.rate_fps
    ('all', 0.5)
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
    rate_fps: float  # the detector's analysis rate
    kinds: tuple[str, ...]  # the analytics it feeds: garbage, fight
    fight: bool = False  # the streaming fight analytic runs on its every decoded frame
    priority: int = 0  # the registry's; past capacity, fight hot spots first, then by this
    fps: float = 0.0  # the frames a second its stream sends, as the registry says (0: unknown)

    @classmethod
    def of(cls, camera: Camera, name: str | None = None, fights: str = "analytic") -> StreamProfile:
        by_stream: dict[str, list] = {}
        for a in camera.analytics:
            if a.kind == "fight" and fights == "none":
                continue
            by_stream.setdefault(a.stream, []).append(a)
        # the stream with the most analytics (the sub stream in the registry)
        stream, analytics = max(by_stream.items(), key=lambda kv: len(kv[1]))
        fight = fights == "analytic" and any(a.kind == "fight" for a in analytics)
        detected = [a for a in analytics if not (fight and a.kind == "fight")]
        if not detected:
            raise ValueError(
                f"camera {camera.id}: nothing for the detector on its {stream} stream (the fight "
                "analytic alone); give it a garbage analytic"
            )
        return cls(
            name=name or camera.id,
            camera=camera.id,
            stream=stream,
            decode="all" if fight or any(a.decode == "all" for a in detected) else "keyframes",
            rate_fps=max(a.rate_fps for a in detected),
            kinds=tuple(a.kind for a in analytics),
            fight=fight,
            priority=camera.priority,
            fps=camera.streams[stream].fps,
        )


def stream_profiles(
    registry: CameraRegistry, streams: int, fights: str = "analytic"
) -> list[StreamProfile]:
    """`streams` profiles cycling through the registry in order, so a load of 55 is the command
    center itself and a larger one repeats its mix of cameras. `fights`: analytic | detector |
    none (see the module docstring)."""
    if fights not in ("analytic", "detector", "none"):
        raise ValueError(f"fights must be analytic, detector or none, not {fights!r}")
    cameras = registry.cameras
    out = []
    for i in range(streams):
        cam = cameras[i % len(cameras)]
        lap = i // len(cameras)
        out.append(StreamProfile.of(cam, cam.id if lap == 0 else f"{cam.id}#{lap + 1}", fights))
    return out
