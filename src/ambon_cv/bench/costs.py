"""What decoding and inference cost alone, measured in the same run as the load, and the
analysed-frames bound they set on this machine.

For a load of streams, one second of wall time needs
    sum over streams of decode CPU-seconds per second of video (all frames or keyframes)
  + analysed frames x (convert + inference + post) seconds per frame,
and the machine has `cores` CPU-seconds per second. When the load needs more than that, the
most frames it can analyse per second is the target scaled down by the excess; the harness's
efficiency is what it analysed over that bound."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ambon_cv.bench.profiles import StreamProfile


def decode_cost(clip: Path, mode: str, max_frames: int = 400) -> float:
    """CPU seconds to decode one second of `clip` (every frame, or keyframes only), as fast as
    it goes (the readers convert to BGR only the frames analysed: see `bgr_cost`)."""
    import av

    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1  # as the readers decode
        stream.codec_context.thread_type = "NONE"
        if mode == "keyframes":
            stream.codec_context.skip_frame = "NONKEY"
        t = time.process_time()
        first = last = None
        n = 0
        frames = (
            f
            for packet in container.demux(stream)
            if mode != "keyframes" or packet.is_keyframe
            for f in packet.decode()
        )
        for frame in frames:
            ts = float(frame.pts * stream.time_base) if frame.pts is not None else n / 10
            first = ts if first is None else first
            last = ts
            n += 1
            if n >= max_frames:
                break
        cpu = time.process_time() - t
    fps = float(stream.average_rate or 10)
    video_s = (last - first + 1 / fps) if n and last is not None else 1.0
    return cpu / max(video_s, 1e-6)


def bgr_cost(clip: Path, frames: int = 50, repeats: int = 3) -> float:
    """CPU seconds to convert one decoded frame of `clip` to a BGR array (the least of
    `repeats` passes: on a shared machine noise only ever adds)."""
    import av

    with av.open(str(clip)) as container:
        decoded = []
        for frame in container.decode(video=0):
            decoded.append(frame)
            if len(decoded) >= frames:
                break
        passes = []
        for _ in range(repeats):
            t = time.process_time()
            for frame in decoded:
                frame.to_ndarray(format="bgr24")
            passes.append((time.process_time() - t) / max(1, len(decoded)))
        return min(passes)


def gate_cost(frames: list[np.ndarray], settings, repeats: int = 3) -> float:
    """CPU seconds change-gated inference spends looking at one frame (thumbnail and
    compare, `ChangeGate.look` as the workers run it), the least of `repeats` passes."""
    from ambon_cv.inference.gate import ChangeGate

    greys = [f[..., 1] if f.ndim == 3 else f for f in frames]  # a grey plane, as decoded
    passes = []
    for _ in range(repeats):
        gate = ChangeGate(settings)
        t = time.process_time()
        gate.saw(gate.look("s", 0.0, greys[0]))  # the reference the others compare with
        for k, grey in enumerate(greys[1:], 1):
            gate.look("s", float(k), grey)
        passes.append((time.process_time() - t) / max(1, len(greys)))
    return min(passes)


def fight_cost(
    clip: Path, model_dir: Path, seconds: float = 20.0, flow_fps: float | None = None
) -> float:
    """CPU seconds the streaming fight analytic spends per second of `clip` (the grey copy,
    motion and classifier; decoding is `decode_cost`'s), alone, as the live load runs it;
    `flow_fps`: the least flows a second to take in place of the model's live rate."""
    import av

    from ambon_cv.fights.analytic import FightStream
    from ambon_cv.fights.classifier import FightModel
    from ambon_cv.frames.sample import luma

    model = FightModel.load(model_dir)
    if flow_fps is not None:
        model.features = {**model.features, "stream_flow_fps": flow_fps}
    stream = FightStream(model)
    spent, first, last, t = 0.0, None, 0.0, 0.0
    while last - (first or 0.0) < seconds:
        with av.open(str(clip)) as container:
            video = container.streams.video[0]
            for frame in container.decode(video):
                t = (last if first is not None else 0.0) + 1 / float(video.average_rate or 10)
                first = 0.0 if first is None else first
                started = time.process_time()
                if stream.wants(t):
                    stream.push(t, luma(frame))
                spent += time.process_time() - started
                last = t
        stream.reset()  # the clip starts over: a cut
        if last == 0.0:
            break
    return spent / max(last - (first or 0.0), 1e-6)


def inference_cost(
    backend, imgsz: int, batch: int, frames: list[np.ndarray], seconds: float = 2.0, repeats=3
) -> dict:
    """CPU seconds per frame to fit, infer (at `batch`) and decode, alone: of `repeats`
    passes of `seconds` each, the one that cost least (noise on a shared machine only adds)."""
    from ambon_cv.inference.decode import class_map, decode
    from ambon_cv.inference.letterbox import fit, to_input

    converts = []
    for _ in range(repeats):
        t = time.process_time()
        fitted = [fit(f, imgsz) for f in frames]
        converts.append((time.process_time() - t) / len(frames))
    convert = min(converts)
    x = to_input([f for f, _ in (fitted * batch)[:batch]])
    places = [p for _, p in (fitted * batch)[:batch]]
    backend.infer(x)
    ours = class_map(backend.names)
    passes = []
    for _ in range(repeats):
        n, infer_cpu, post_cpu = 0, 0.0, 0.0
        wall = time.perf_counter()
        while time.perf_counter() - wall < seconds or n < 3:
            t = time.process_time()
            raw = backend.infer(x)
            infer_cpu += time.process_time() - t
            t = time.process_time()
            decode(raw, places, ours)
            post_cpu += time.process_time() - t
            n += 1
        passes.append({"infer_s": infer_cpu / (n * batch), "post_s": post_cpu / (n * batch)})
    return {"convert_s": convert, **min(passes, key=lambda p: p["infer_s"] + p["post_s"])}


@functools.cache
def clip_fps(clip: Path) -> float:
    """The frames a second `clip` was recorded at."""
    import av

    with av.open(str(clip)) as container:
        return float(container.streams.video[0].average_rate or 0.0)


def camera_rate_scale(
    camera_fps: float, clip_fps: float, decode: str, least_flow_fps: float
) -> tuple[float, float]:
    """How much more (decoding, the fight analytic) a stream costs when its camera sends
    `camera_fps` frames a second than its clip replayed at `clip_fps`: decoding every frame
    grows with the frames (an upper bound: a 25 fps copy of the same scene measured 1.2-1.7x
    a 10 fps one, not 2.5x: reports/experiments/*-fights-camera-rates.md), keyframes-only
    decoding takes a
    keyframe a group either way, and the fight analytic grows with the flows it takes
    (`motion.flows_a_second`).

    Example:
        >>> camera_rate_scale(25, 10, "all", 10)  # 12.5 flows a second against 10
        (2.5, 1.25)
        >>> camera_rate_scale(25, 10, "keyframes", 10)
        (1.0, 1.25)
        >>> camera_rate_scale(25, 10, "all", 0)  # every frame
        (2.5, 2.5)
    """
    from ambon_cv.fights.motion import flows_a_second

    if camera_fps <= 0 or clip_fps <= 0:
        return 1.0, 1.0
    decoding = camera_fps / clip_fps if decode == "all" else 1.0
    return decoding, flows_a_second(camera_fps, least_flow_fps) / flows_a_second(
        clip_fps, least_flow_fps
    )


def cores() -> int:
    return len(os.sched_getaffinity(0))


def bound(
    profiles: list[StreamProfile],
    decode_s: list[float],
    frame_s: float,
    n: float | None = None,
    fight_s: float = 0.0,
    fight_share: float = 1.0,
) -> dict:
    """The analysed frames/s this machine allows for `profiles`, from costs measured alone:
    `decode_s[k]` is stream k's decode CPU-seconds per second of video (its own clip, its own
    decode mode), `frame_s` the CPU-seconds per analysed frame, `fight_s` the fight analytic's
    per hot spot, `n` the cores (default: this process's; fewer under an emulated slower CPU).

    Past the cores, as the workers' scheduler sheds: the hot spots' fight analytic (with their
    full decoding) keeps what the detector at full rate leaves, or `fight_share` of the cores
    if more, and the detector gets the rest, every stream at the same share of its rate. A
    stream decoded at keyframes only decodes one keyframe per analysis slot, so its decoding
    is paid per analysed frame and shrinks with the share (counted whole, every keyframe,
    440 streams on 2 cores seemed to leave the detector 9 frames/s where it analysed 88)."""
    n = cores() if n is None else n
    target = sum(p.rate_fps for p in profiles)
    hot = sum(d + fight_s for p, d in zip(profiles, decode_s, strict=True) if p.fight)
    keyed = [not p.fight and p.decode == "keyframes" for p in profiles]
    fixed = sum(d for p, d, k in zip(profiles, decode_s, keyed, strict=True) if not (p.fight or k))
    # the detector's frames at full rate, with the keyframe each keyframes-only slot decodes
    frames = target * frame_s + sum(d for d, k in zip(decode_s, keyed, strict=True) if k)
    need = hot + fixed + frames
    if need <= n:
        fps = target
    else:
        taken = min(hot, max(fight_share * n, n - fixed - frames))
        fps = max(0.0, (n - fixed - taken) / (frames / target)) if target else 0.0
    return {"cores": n, "cpu_needed": round(need, 3), "analysed_fps": round(min(fps, target), 2)}


HEADROOM = 0.85  # a load "fits" when it needs at most this share of the cores (the rest: noise)


def what_fits(
    need: Callable[[int, float], float], cores: int, streams: int = 55, most: int = 2000
) -> dict:
    """What this machine holds, from costs measured alone. `need(n, rate_scale)` is the
    CPU-seconds per second that the first `n` streams of the registry need with every analysis
    rate scaled by `rate_scale` (decoding and the fight analytic included). Gives the most
    cameras at the default profile, the cores `streams` need at it, and the largest share of
    the default analysis rates at which all `streams` fit (None: not even at a tenth)."""
    budget = cores * HEADROOM
    n = 0
    step = 64
    while step:  # the largest n with need(n) <= budget (need grows with n)
        while n + step <= most and need(n + step, 1.0) <= budget:
            n += step
        step //= 2
    rate = None
    for scale in (1.0, 0.75, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1):
        if need(streams, scale) <= budget:
            rate = scale
            break
    return {
        "headroom": HEADROOM,
        "streams": streams,
        "most_streams": n,
        "cores_needed": round(need(streams, 1.0) / HEADROOM, 2),
        "rate_scale_for_all": rate,
    }


def run_need(summary: dict, profiles: Callable[[int], list[StreamProfile]]) -> Callable:
    """`need(n, rate_scale)` for `what_fits` from one load run's own costs: each camera costs
    what its streams cost in the run beside the detector (decoding, the fight analytic), and
    every analysis slot what a slot cost on average. `profiles(n)`: the first n of the
    registry, as the run's were chosen.

    A hot spot's cost comes from the hot spots whose fight analytic ran the whole window
    where there are any: one an overloaded worker shed and took back spent part of its time
    waiting for a keyframe and refilling its window, and seemed to cost a third of what it
    does (440 streams on 2 cores: 0.005-0.012 core against 0.03-0.04). A hot spot's camera
    in a profile without its fight analytic (`stream_profiles(..., "none")`) is decoded at
    keyframes only, and costs what the run's keyframes-only streams did.

    Example:
        >>> from ambon_cv.bench.profiles import StreamProfile
        >>> hot = lambda name, c, cov: {"camera": "a", "fixed_core": c, "fight_coverage": cov}
        >>> run = {"per_stream": [hot("a", 0.04, 1.0), hot("a#2", 0.01, 0.3)], "slot_s": 0.0}
        >>> a = StreamProfile("a", "a", "sub", "all", 0.5, ("garbage", "fight"), fight=True)
        >>> run_need(run, lambda n: [a] * n)(2, 1.0)
        0.08
        >>> quiet = {"camera": "b", "decode": "keyframes", "fixed_core": 0.002}
        >>> run["per_stream"].append(quiet)
        >>> a_plain = StreamProfile("a", "a", "sub", "keyframes", 0.5, ("garbage",))
        >>> run_need(run, lambda n: [a_plain] * n)(2, 1.0)  # a at keyframes, as b was
        0.004
    """
    fixed: dict[str, list[float]] = {}
    whole = [p for p in summary["per_stream"] if p.get("fight_coverage") == 1.0]
    for p in summary["per_stream"]:
        if p.get("fight_coverage") is not None and whole and p["fight_coverage"] < 1.0:
            continue  # shed for part of the window: its cost is the whole hot spots'
        fixed.setdefault(p["camera"], []).append(p["fixed_core"])
    whole_cost = float(np.mean([p["fixed_core"] for p in whole])) if whole else None
    mean_fixed = {c: float(np.mean(v)) for c, v in fixed.items()}
    overall = float(np.mean(list(mean_fixed.values()))) if mean_fixed else 0.0
    hot = {p["camera"] for p in summary["per_stream"] if p.get("fight_coverage") is not None}
    keyframes = [
        p["fixed_core"]
        for p in summary["per_stream"]
        if p.get("fight_coverage") is None and p.get("decode") == "keyframes"
    ]
    keyframe_cost = float(np.mean(keyframes)) if keyframes else overall
    slot_s = summary.get("slot_s") or 0.0

    def cost(p: StreamProfile) -> float:
        if not p.fight and p.camera in hot:  # a hot spot without its analytic
            return keyframe_cost
        if p.fight and whole_cost is not None and p.camera not in mean_fixed:
            return whole_cost
        return mean_fixed.get(p.camera, overall)

    def need(n: int, rate_scale: float) -> float:
        ps = profiles(n)
        return sum(cost(p) for p in ps) + rate_scale * slot_s * sum(p.rate_fps for p in ps)

    return need
