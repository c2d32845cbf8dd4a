"""Person-aware fight features, tried as an option of `benchmarks/fight_cv.py`: how the person
in view moves, from the pose model that ships inside the `mediapipe` 0.10.21 wheel
(`mediapipe/modules/pose_landmark/pose_landmark_full.tflite`, nothing downloaded).

Per clip, poses at `rate_fps` (tracking between them), everything in seconds and in torso
lengths so any frame rate and size give the same numbers: the share of frames with a person
found; mean and peak speed of the wrists, elbows, ankles, head and hips; arm extension; how
much the torso tilts; wrist speed over the body's own; landmark visibility.

mediapipe is not in the project's environment (its pins clash with ours; it runs installed
without its dependencies): `.venv/bin/pip install --no-deps mediapipe==0.10.21`. The legacy
pose solution finds one person per frame, which is itself a limit for fights.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

POSE_FEATURES = 16
JOINTS = {"nose": 0, "ls": 11, "rs": 12, "le": 13, "re": 14, "lw": 15, "rw": 16,
          "lh": 23, "rh": 24, "la": 27, "ra": 28}  # fmt: skip
_POSE = None


def available() -> bool:
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        return False
    return True


def _tracker():
    global _POSE
    if _POSE is None:  # one per process: a graph per clip leaks memory (12 GB over 200 clips)
        os.environ.setdefault("GLOG_minloglevel", "3")
        import mediapipe as mp

        _POSE = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    _POSE.reset()
    return _POSE


def _speed(now, before, names, torso, dt) -> float:
    idx = [JOINTS[n] for n in names]
    return float(np.linalg.norm(now[idx] - before[idx], axis=1).max() / torso / dt)


def clip_pose_features(path: Path, rate_fps: float = 8.0) -> tuple[np.ndarray, float, float]:
    """(features, CPU seconds, video seconds) of one clip."""
    import cv2

    pose, cpu = _tracker(), time.process_time()
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    step = max(1, round(fps / rate_fps))
    seq, i = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % step == 0:
            found = pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).pose_landmarks
            seq.append(
                None if found is None
                else np.array([[m.x, m.y, m.visibility] for m in found.landmark])
            )  # fmt: skip
        i += 1
    cap.release()
    dt, seen = step / fps, [s for s in seq if s is not None]
    out = np.zeros(POSE_FEATURES, np.float32)
    out[0] = len(seen) / max(1, len(seq))
    if len(seen) < 2:
        return out, time.process_time() - cpu, i / fps
    speeds = {k: [] for k in ("wrist", "elbow", "ankle", "head", "hips")}
    extension, tilt, visibility, before = [], [], [], None
    for s in seq:
        if s is None:
            before = None
            continue
        xy = s[:, :2]
        shoulders = (xy[JOINTS["ls"]] + xy[JOINTS["rs"]]) / 2
        hips = (xy[JOINTS["lh"]] + xy[JOINTS["rh"]]) / 2
        torso = float(np.linalg.norm(shoulders - hips)) + 1e-3
        arms = [xy[JOINTS[w]] - xy[JOINTS[sh]] for w, sh in (("lw", "ls"), ("rw", "rs"))]
        extension.append(max(np.linalg.norm(a) for a in arms) / torso)
        axis = shoulders - hips
        tilt.append(abs(np.arctan2(axis[0], -axis[1])))
        visibility.append(s[:, 2].mean())
        if before is not None:
            speeds["wrist"].append(_speed(xy, before, ("lw", "rw"), torso, dt))
            speeds["elbow"].append(_speed(xy, before, ("le", "re"), torso, dt))
            speeds["ankle"].append(_speed(xy, before, ("la", "ra"), torso, dt))
            speeds["head"].append(_speed(xy, before, ("nose",), torso, dt))
            speeds["hips"].append(_speed(xy, before, ("lh", "rh"), torso, dt))
        before = xy
    values = [np.array(v or [0.0]) for v in speeds.values()]
    own = np.array(speeds["wrist"] or [0.0]) - np.array(speeds["hips"] or [0.0])
    out[1:] = [
        *[f(v) for v in values for f in (np.mean, np.max)],
        np.mean(extension), np.max(extension), np.std(tilt), own.mean(), np.mean(visibility),
    ]  # fmt: skip
    return out, time.process_time() - cpu, i / fps


def pose_matrix(paths: list[Path], workers: int = 1) -> tuple[np.ndarray, float]:
    """Pose features of every clip and their CPU cost in cores per second of video."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    with ProcessPoolExecutor(workers) as pool:
        rows = list(tqdm(pool.map(clip_pose_features, paths), total=len(paths), desc="poses"))
    cpu, seconds = sum(r[1] for r in rows), sum(r[2] for r in rows)
    return np.nan_to_num(np.stack([r[0] for r in rows])), cpu / max(seconds, 1e-9)
