"""The synthetic city: H.264 clips of fixed CCTV views with exact ground truth.

For each camera of the registry, `render_city` renders clips laid out like a recorder export
(`clips/<camera>/<camera>_<start>.mp4`), the per-frame ground truth of each clip
(`truth/<camera>/<clip>.parquet`: boxes, classes, object ids) and one incident table
(`incidents.parquet`: camera, clip, kind, start and end) for event-level evaluation.

Everything is drawn from a generator seeded by (seed, camera, clip), so a seed always renders
the same city, and the boxes come from an object-id mask drawn with the same primitives as the
frame.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from scipy import ndimage

from ambon_cv.config import Camera, SyntheticCity
from ambon_cv.detections import CLASSES, Detections
from ambon_cv.footage.actors import BAGS, Bin, Fighter, Look, Pile, Vehicle, Walker
from ambon_cv.footage.scene import Scene, build_scene

MIN_VISIBLE_PX = (
    20  # an object with fewer visible pixels is not labelled (a detector cannot see it)
)
LOOKBACK_S = 3600.0  # garbage dumped up to an hour before a clip may still lie there


@dataclass(frozen=True)
class ClipPlan:
    """What one clip shows: its camera, when, in which light and weather."""

    camera: Camera
    index: int
    start: datetime
    light: str  # day | dusk | night
    rain: bool

    @property
    def name(self) -> str:
        return f"{self.camera.id}_{self.start.strftime('%Y%m%dT%H%M%S')}"


@dataclass(frozen=True)
class RenderedClip:
    camera: str
    clip: str
    path: Path
    truth: Path
    frames: int
    light: str
    rain: bool
    incidents: list[dict]


def plan_clips(cameras: list[Camera], cfg: SyntheticCity) -> list[ClipPlan]:
    """When and in which conditions each clip is recorded (deterministic for the seed)."""
    base = datetime.fromisoformat(cfg.start)
    plans = []
    for cam_index, cam in enumerate(cameras):
        for k in range(cfg.clips_per_camera):
            rng = np.random.default_rng([cfg.seed, cam_index, k, 1])
            u = rng.random()
            if u < cfg.night_fraction:
                light, hour = "night", float(rng.choice([rng.uniform(19, 24), rng.uniform(0, 4.5)]))
            elif u < cfg.night_fraction + cfg.dusk_fraction:
                light, hour = "dusk", float(rng.uniform(17.7, 18.6))
            else:
                light, hour = "day", float(rng.uniform(6.8, 17.2))
            start = base.replace(hour=0, minute=0, second=0) + timedelta(days=k, hours=hour)
            plans.append(ClipPlan(cam, k, start, light, bool(rng.random() < cfg.rain_fraction)))
    return plans


# --- the timeline of one clip --------------------------------------------------------------------


def _poisson_times(rng, rate_per_s: float, t0: float, t1: float) -> list[float]:
    times, t = [], t0
    while rate_per_s > 0:
        t += rng.exponential(1 / rate_per_s)
        if t >= t1:
            break
        times.append(t)
    return times


def _populate(plan: ClipPlan, scene: Scene, cfg: SyntheticCity, rng) -> tuple[list, list[dict]]:
    """All actors of a clip, and its incidents (clip-relative seconds)."""
    duration, w = cfg.clip_seconds, scene.width
    rates = cfg.incidents_per_camera_hour
    actors: list = []
    incidents: list[dict] = []
    next_id = iter(range(1, 65535))

    def walker_path():
        y0 = rng.uniform(*scene.walk_rows)
        y1 = float(np.clip(y0 + rng.normal(0, 0.08 * scene.height), *scene.walk_rows))
        margin = 0.3 * scene.person_height(max(y0, y1))
        left, right = -margin, w + margin
        return ((left, y0), (right, y1)) if rng.random() < 0.5 else ((right, y0), (left, y1))

    for t0 in _poisson_times(rng, 0.22 * scene.crowd, -14.0, duration):
        a, b = walker_path()
        actors.append(Walker(next(next_id), t0, a, b, rng.uniform(0.45, 0.75), Look.random(rng)))

    if scene.road_rows:
        for t0 in _poisson_times(rng, 0.12, -6.0, duration):
            kind = "motorbike" if rng.random() < 0.7 else "car"
            color = tuple(int(c) for c in rng.integers(20, 230, 3))
            actors.append(
                Vehicle(
                    next(next_id),
                    t0,
                    rng.uniform(*scene.road_rows),
                    1 if rng.random() < 0.5 else -1,
                    rng.uniform(0.08, 0.18),
                    kind,
                    color,
                    Look.random(rng),
                )
            )

    for spot in scene.bin_spots:
        since_emptied = rng.uniform(0, LOOKBACK_S)
        first = _poisson_times(rng, rates.bin_overflow / 3600, -since_emptied, duration)
        overflow_at = first[0] if first else math.inf
        heap = [
            (
                rng.uniform(-0.6, 0.6),
                rng.uniform(-0.35, 0.05),
                rng.uniform(0.25, 0.45),
                rng.uniform(0.18, 0.3),
                BAGS[int(rng.integers(len(BAGS)))],
            )
            for _ in range(6)
        ]
        color = [(40, 110, 30), (20, 120, 220), (120, 80, 20)][int(rng.integers(3))]
        b = Bin(next(next_id), spot, color, overflow_at, heap)
        actors.append(b)
        if overflow_at < duration:
            incidents.append(
                dict(kind="overflow", start_s=overflow_at, end_s=duration, object_id=b.oid)
            )

    for spot in scene.dump_spots:
        since_collection = rng.uniform(0, LOOKBACK_S)
        dumps = _poisson_times(rng, rates.garbage_dump / 3600, -since_collection, duration)
        if not dumps:
            continue
        pile = Pile(next(next_id), spot, [])
        for when in dumps:
            for _ in range(int(rng.integers(1, 4))):
                pile.bags.append(
                    (
                        when,
                        rng.uniform(-0.25, 0.25),
                        rng.uniform(-0.06, 0.0),
                        rng.uniform(0.07, 0.13),
                        rng.uniform(0.06, 0.1),
                        rng.uniform(0, 180),
                        BAGS[int(rng.integers(len(BAGS)))],
                    )
                )
            if when > -8:  # the passer-by who drops the bags is in view
                ph = scene.person_height(spot[1])
                start_x = -0.3 * ph if rng.random() < 0.5 else w + 0.3 * ph
                end_x = w + 0.3 * ph if start_x < 0 else -0.3 * ph
                path_len = abs(end_x - start_x)
                stop_frac = abs(spot[0] - start_x) / path_len
                speed = 0.6
                walk_s = path_len / (speed * ph)
                actors.append(
                    Walker(
                        next(next_id),
                        when - stop_frac * walk_s - 1.0,
                        (start_x, spot[1] + 2),
                        (end_x, spot[1] + 2),
                        speed,
                        Look.random(rng),
                        stop_at=stop_frac,
                        stop_for=2.0,
                    )
                )
        actors.append(pile)
        incidents.append(dict(kind="garbage", start_s=dumps[0], end_s=duration, object_id=pile.oid))

    if plan.camera.analytic("fight") is not None:
        for start in _poisson_times(rng, rates.fight / 3600, -12.0, duration - 4.0):
            group = _fight(scene, rng, start, next_id)
            actors.extend(group)
            fighters = [f for f in group if f.role == "fighter"]
            incidents.append(
                dict(
                    kind="fight",
                    start_s=fighters[0].fight_start,
                    end_s=fighters[0].fight_end,
                    object_id=-1,
                    members=[f.oid for f in fighters],
                )
            )
    for inc in incidents:
        inc["start_s"] = float(inc["start_s"])
        inc["end_s"] = float(min(inc["end_s"], duration))
    return actors, incidents


def _fight(scene: Scene, rng, start: float, next_id) -> list[Fighter]:
    cx, cy = scene.fight_spot
    cx += rng.normal(0, 0.08 * scene.width)
    ph = scene.person_height(cy)
    n = int(rng.integers(2, 7))
    converge = rng.uniform(2.0, 4.0)
    fight_start = start + converge
    fight_end = fight_start + rng.uniform(6.0, 15.0)
    people = []
    for i in range(n):
        angle = 2 * math.pi * i / n + rng.normal(0, 0.3)
        post = (cx + math.cos(angle) * 0.35 * ph, cy + math.sin(angle) * 0.12 * ph)
        home = (
            post[0] + rng.choice([-1, 1]) * rng.uniform(0.6, 1.0) * scene.width * 0.5,
            post[1] + rng.normal(0, 0.05 * ph),
        )
        people.append(
            Fighter(
                next(next_id),
                home,
                post,
                start + rng.uniform(0, 0.8),
                fight_start,
                fight_end,
                fight_end + rng.uniform(3.0, 5.0),
                Look.random(rng),
                "fighter",
                rng.uniform(0, 6.28),
                cx,
            )
        )
    for _ in range(int(rng.integers(1, 5))):
        angle = rng.uniform(0, 2 * math.pi)
        post = (cx + math.cos(angle) * 1.3 * ph, cy + math.sin(angle) * 0.25 * ph)
        home = (post[0] + rng.choice([-1, 1]) * scene.width * 0.5, post[1])
        people.append(
            Fighter(
                next(next_id),
                home,
                post,
                fight_start + rng.uniform(0, 3.0),
                fight_start + rng.uniform(3.0, 5.0),
                fight_end + rng.uniform(0, 2),
                fight_end + rng.uniform(4.0, 7.0),
                Look.random(rng),
                "onlooker",
                rng.uniform(0, 6.28),
                cx,
            )
        )
    return people


# --- light, weather, sensor ----------------------------------------------------------------------


class Camera_look:
    """Per-clip effects applied to each drawn frame: light, rain, sensor noise, blur, overlay."""

    def __init__(self, plan: ClipPlan, scene: Scene, rng) -> None:
        h, w = scene.height, scene.width
        self.plan, self.w, self.h = plan, w, h
        sigma = {"day": 3.0, "dusk": 5.0, "night": 8.0}[plan.light]
        channels = 1 if plan.light == "night" else 3  # a monochrome IR sensor: grey noise
        self.noise = []
        for _ in range(4):
            grain = rng.normal(0, sigma, (h, w, channels))
            if channels == 1:
                grain = np.repeat(grain, 3, axis=2)
            up, down = np.clip(grain, 0, 255), np.clip(-grain, 0, 255)
            self.noise.append((up.astype(np.uint8), down.astype(np.uint8)))
        self.glow = None
        if plan.light == "night":
            glow = np.zeros((h, w), np.float32)
            for lx, ly in scene.lamps:
                yy, xx = np.ogrid[:h, :w]
                glow += 120 * np.exp(-((xx - lx) ** 2 + (yy - ly) ** 2) / (2 * (0.12 * w) ** 2))
            self.glow = np.clip(glow, 0, 255).astype(np.uint8)
        self.rain = []
        if plan.rain:
            for _ in range(3):
                layer = np.zeros((h, w, 3), np.uint8)
                for _ in range(int(0.25 * w)):
                    x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
                    cv2.line(layer, (x, y), (x - 3, y + 14), (70, 70, 70), 1, cv2.LINE_AA)
                self.rain.append(layer)
        self.blur = bool(rng.random() < 0.3)
        self.name = f"{plan.camera.id.upper()} {plan.camera.place.split('(')[0].strip()[:32]}"

    def apply(self, frame: np.ndarray, index: int, t: float) -> np.ndarray:
        light = self.plan.light
        if light == "night":
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            gray = cv2.addWeighted(gray, 0.55, self.glow, 1.0, 8)
            frame = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        elif light == "dusk":
            frame = cv2.transform(frame, np.diag([0.50, 0.62, 0.85]).astype(np.float32))
        if self.rain:
            frame = cv2.add(cv2.convertScaleAbs(frame, alpha=0.85), self.rain[index % 3])
        if self.blur or self.rain:
            frame = cv2.GaussianBlur(frame, (3, 3), 0.8)
        up, down = self.noise[index % len(self.noise)]
        frame = cv2.subtract(cv2.add(frame, up), down)
        stamp = (self.plan.start + timedelta(seconds=t)).strftime("%Y-%m-%d %H:%M:%S")
        for text, org in ((stamp, (8, 18)), (self.name, (8, self.h - 10))):
            cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(
                frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (240, 240, 240), 1, cv2.LINE_AA
            )
        return frame


# --- rendering ------------------------------------------------------------------------------------


def draw_frame(scene: Scene, actors: list, t: float) -> tuple[np.ndarray, np.ndarray]:
    """The clean frame (before light and sensor effects) and its object-id mask at time t."""
    img = scene.plate.copy()
    mask = np.zeros(img.shape[:2], np.uint16)
    live = [(d, i, a) for i, a in enumerate(actors) if (d := a.depth(t, scene)) is not None]
    for _, _, actor in sorted(live, key=lambda item: (item[0], item[1])):  # far first
        actor.draw(img, mask, t, scene)
    return img, mask


def truth_from_mask(
    mask: np.ndarray, actors_by_id: dict, t: float, fights: list[dict]
) -> Detections:
    """Ground-truth boxes from the object-id mask: each box is exactly its object's visible
    pixels; a fight box surrounds the fighting group while the fight is on."""
    counts = np.bincount(mask.ravel())
    boxes, classes, ids = [], [], []
    for oid, sl in enumerate(ndimage.find_objects(mask), start=1):
        if sl is None or counts[oid] < MIN_VISIBLE_PX or oid not in actors_by_id:
            continue
        actor = actors_by_id[oid]
        cls = actor.class_at(t) if hasattr(actor, "class_at") else actor.cls
        if cls is None:
            continue
        ys, xs = sl
        box = [xs.start, ys.start, xs.stop, ys.stop]
        if box[2] - box[0] < 3 or box[3] - box[1] < 3:
            continue
        boxes.append(box)
        classes.append(CLASSES.index(cls))
        ids.append(oid)
    for fight in fights:
        if not fight["start_s"] <= t <= fight["end_s"]:
            continue
        members = [boxes[ids.index(m)] for m in fight["members"] if m in ids]
        if len(members) >= 2:
            arr = np.array(members)
            boxes.append([arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()])
            classes.append(CLASSES.index("fight"))
            ids.append(fight["id"])
    return Detections(
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(classes, np.int64),
        object_id=np.array(ids, np.int64),
    )


class ClipRenderer:
    """Renders one planned clip frame by frame (also used by tests to re-draw a frame)."""

    def __init__(self, plan: ClipPlan, cfg: SyntheticCity, cam_index: int) -> None:
        self.plan, self.cfg = plan, cfg
        scene_rng = np.random.default_rng([cfg.seed, cam_index, 0])
        sign = plan.camera.place.split("(")[0].upper().replace("DEPAN ", "")
        self.scene = build_scene(plan.camera.view, cfg.width, cfg.height, scene_rng, sign)
        rng = np.random.default_rng([cfg.seed, cam_index, plan.index, 2])
        self.actors, incidents = _populate(plan, self.scene, cfg, rng)
        self.look = Camera_look(plan, self.scene, rng)
        self.by_id = {a.oid: a for a in self.actors}
        fight_id = 65535
        self.fights = []
        for inc in incidents:
            if inc["kind"] == "fight":
                inc["object_id"] = fight_id
                self.fights.append(dict(inc, id=fight_id))
                fight_id -= 1
        self.incidents = [{k: v for k, v in inc.items() if k != "members"} for inc in incidents]
        self.n_frames = int(round(cfg.clip_seconds * cfg.fps))

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray, Detections]:
        """Frame `index` as recorded (BGR), its object-id mask, and its ground truth."""
        t = index / self.cfg.fps
        clean, mask = draw_frame(self.scene, self.actors, t)
        truth = truth_from_mask(mask, self.by_id, t, self.fights)
        return self.look.apply(clean, index, t), mask, truth

    def picture(self, index: int) -> np.ndarray:
        """Frame `index` as recorded (BGR) alone: `frame` without its ground truth."""
        t = index / self.cfg.fps
        clean, _ = draw_frame(self.scene, self.actors, t)
        return self.look.apply(clean, index, t)


def render_clip(
    plan: ClipPlan,
    cfg: SyntheticCity,
    cam_index: int,
    out: Path,
    boxes: bool = True,
    preset: str = "veryfast",
) -> RenderedClip:
    """Render, encode (H.264, keyframe every 2 s) and write one clip and its ground truth
    (`boxes` False: its incidents only, no per-frame boxes: what alert-only checks need).
    `preset`: x264's; encoding is most of a clip's cost, and `ultrafast` takes a third of
    `veryfast`'s time at the same quality setting."""
    import av

    renderer = ClipRenderer(plan, cfg, cam_index)
    clip_path = out / "clips" / plan.camera.id / f"{plan.name}.mp4"
    truth_path = out / "truth" / plan.camera.id / f"{plan.name}.parquet"
    clip_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = clip_path.with_suffix(".mp4.part")
    rows = []
    fps = cfg.fps
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=int(round(fps)))
        stream.width, stream.height, stream.pix_fmt = cfg.width, cfg.height, "yuv420p"
        stream.thread_count = 1
        stream.options = {
            "crf": str(cfg.crf),
            "preset": preset,
            "g": str(int(round(2 * fps))),
            "keyint_min": str(int(round(2 * fps))),
            "sc_threshold": "0",
        }
        for i in range(renderer.n_frames):
            if boxes:
                image, _, truth = renderer.frame(i)
                rows.append({"frame_index": i, "time_s": i / fps, **truth.to_columns()})
            else:
                image = renderer.picture(i)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, clip_path)
    if boxes:
        pd.DataFrame(rows).to_parquet(truth_path, index=False)
    incidents = [dict(camera=plan.camera.id, clip=plan.name, **inc) for inc in renderer.incidents]
    return RenderedClip(
        plan.camera.id,
        plan.name,
        clip_path,
        truth_path,
        renderer.n_frames,
        plan.light,
        plan.rain,
        incidents,
    )


def _render_job(args) -> RenderedClip:
    plan, cfg, cam_index, out = args
    cv2.setNumThreads(1)
    return render_clip(plan, cfg, cam_index, out)


def render_city(
    cameras: list[Camera],
    cfg: SyntheticCity,
    out: Path,
    workers: int | None = None,
    progress: bool = True,
) -> list[RenderedClip]:
    """Render every planned clip of `cameras` into `out` (clips/, truth/, incidents.parquet).

    Returns:
        The rendered clips, in plan order.
    """
    from tqdm.auto import tqdm

    plans = plan_clips(cameras, cfg)
    index = {cam.id: i for i, cam in enumerate(cameras)}
    jobs = [(p, cfg, index[p.camera.id], out) for p in plans]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    results: dict[str, RenderedClip] = {}
    bar = tqdm(
        total=len(jobs), desc="rendering the synthetic city", unit="clip", disable=not progress
    )
    if workers <= 1:
        for job in jobs:
            clip = _render_job(job)
            results[clip.clip] = clip
            bar.update()
    else:
        # spawn, not fork: a forked child inherits OpenCV's and PyAV's thread pools mid-state
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for fut in as_completed([pool.submit(_render_job, job) for job in jobs]):
                clip = fut.result()
                results[clip.clip] = clip
                bar.update()
    bar.close()
    ordered = [results[p.name] for p in plans]
    incidents = [inc for clip in ordered for inc in clip.incidents]
    columns = ["camera", "clip", "kind", "start_s", "end_s", "object_id"]
    pd.DataFrame(incidents, columns=columns).to_parquet(out / "incidents.parquet", index=False)
    return ordered
