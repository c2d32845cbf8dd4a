"""The `frames` stage: the manifest's usable clips become JPEG frames and one frames table.

    data/frames/images/<camera>/<frame id>.jpg
    data/frames/frames.parquet     one row per kept frame, the schema in FRAME_COLUMNS
    data/frames/summary.json       counts per camera: sampled, near-duplicates dropped, kept

Cameras are processed in parallel (a camera's clips in order, so near-duplicate removal sees
the camera's whole history). A clip that breaks part way keeps the frames decoded before the
break and is reported; the stage goes on.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

import pandas as pd

from ambon_cv.config import FramesParams
from ambon_cv.contract import StageIO, StageParams, StageResult
from ambon_cv.errors import AmbonError
from ambon_cv.frames.sample import ClipDecodeError, NearDuplicates, dhash, sample_clip

FRAME_COLUMNS = {
    "frame_id": "unique across cameras: <camera>/<clip stem>/<frame index>",
    "camera": "camera id",
    "clip": "clip id (as in the footage manifest)",
    "frame_index": "frame number in the clip",
    "time_s": "seconds from the clip start",
    "timestamp": "wall-clock time of the frame (ISO 8601) when the clip start is known",
    "time_of_day": "day | dusk | night, when known",
    "source": "synthetic | real",
    "path": "the JPEG, relative to the project root; its name is unique across cameras",
    "width": "pixels",
    "height": "pixels",
    "keyframe": "the frame is an H.264 keyframe",
    "phash": "256-bit difference hash (hex) used for near-duplicate removal",
    "boxes": "ground-truth boxes [x1, y1, x2, y2] in pixels (null when unknown)",
    "classes": "ground-truth class of each box (null when unknown)",
    "object_ids": "ground-truth object id of each box (null when unknown)",
}


@dataclass
class FramesReport:
    table: pd.DataFrame
    per_camera: dict[str, dict[str, int]]
    errors: list[str]

    def summary(self) -> str:
        sampled = sum(c["sampled"] for c in self.per_camera.values())
        dups = sum(c["duplicates"] for c in self.per_camera.values())
        lines = [
            f"frames: kept {len(self.table)} of {sampled} sampled from "
            f"{len(self.per_camera)} cameras ({dups} near-duplicates dropped)"
        ]
        lines += [f"  clip error: {e}" for e in self.errors]
        return "\n".join(lines)


def _truth_by_index(truth: str | None, root: Path) -> dict[int, dict]:
    if not isinstance(truth, str) or not truth:  # None, or NaN from a pandas column
        return {}
    df = pd.read_parquet(root / truth)
    return {
        int(r.frame_index): {"boxes": r.boxes, "classes": r.classes, "object_ids": r.object_ids}
        for r in df.itertuples()
    }


def _camera_job(args) -> tuple[str, list[dict], dict[str, int], list[str]]:
    import cv2

    camera, clips, params, out, root = args
    cv2.setNumThreads(1)
    dedup = NearDuplicates(params.dedup.max_distance)
    rows: list[dict] = []
    stats = {"clips": len(clips), "sampled": 0, "duplicates": 0, "kept": 0}
    errors: list[str] = []
    folder = out / "images" / camera
    folder.mkdir(parents=True, exist_ok=True)
    quality = [cv2.IMWRITE_JPEG_QUALITY, params.jpeg_quality]
    for clip in clips:
        truth = _truth_by_index(clip.get("truth"), root)
        start_time = clip.get("start_time")
        start = datetime.fromisoformat(start_time) if isinstance(start_time, str) else None
        stem = PurePosixPath(clip["clip"]).stem
        source = "synthetic" if str(clip["source"]).startswith("synthetic://") else "real"
        frames = sample_clip(
            root / clip["path"], params.strategy, params.rate_fps, params.scene_threshold
        )
        try:
            for f in frames:
                stats["sampled"] += 1
                h = dhash(f.image)
                if params.dedup.enabled and dedup.is_duplicate(camera, h):
                    stats["duplicates"] += 1
                    continue
                name = f"{camera}_{stem.removeprefix(camera + '_')}_{f.index:06d}.jpg"
                path = folder / name
                cv2.imwrite(str(path), f.image, quality)
                gt = truth.get(f.index, {})
                rows.append(
                    {
                        "frame_id": f"{camera}/{stem}/{f.index:06d}",
                        "camera": camera,
                        "clip": clip["clip"],
                        "frame_index": f.index,
                        "time_s": f.time_s,
                        "timestamp": (start + timedelta(seconds=f.time_s)).isoformat()
                        if start
                        else None,
                        "time_of_day": clip.get("time_of_day") or None,
                        "source": source,
                        "path": str(path.relative_to(root)),
                        "width": f.image.shape[1],
                        "height": f.image.shape[0],
                        "keyframe": f.keyframe,
                        "phash": h.tobytes().hex(),
                        "boxes": [list(map(float, b)) for b in gt["boxes"]] if gt else None,
                        "classes": list(gt["classes"]) if gt else None,
                        "object_ids": [int(i) for i in gt["object_ids"]] if gt else None,
                    }
                )
        except ClipDecodeError as err:
            errors.append(str(err))
    stats["kept"] = len(rows)
    return camera, rows, stats, errors


def build_frames(
    params: FramesParams,
    manifest: pd.DataFrame,
    out: Path,
    root: Path,
    workers: int | None = None,
    progress: bool = True,
) -> FramesReport:
    """Sample, de-duplicate and write the frames of every usable clip in `manifest`."""
    from tqdm.auto import tqdm

    shutil.rmtree(out / "images", ignore_errors=True)  # a rerun replaces every frame
    usable = manifest[manifest.status == "ok"].sort_values(["camera", "start_time", "clip"])
    jobs = [
        (camera, group.to_dict("records"), params, out, root)
        for camera, group in usable.groupby("camera", sort=True)
    ]
    workers = workers or min(len(jobs), os.cpu_count() or 1) or 1
    results = []
    bar = tqdm(total=len(jobs), desc="sampling frames", unit="camera", disable=not progress)
    if workers <= 1:
        for job in jobs:
            results.append(_camera_job(job))
            bar.update()
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for fut in as_completed([pool.submit(_camera_job, job) for job in jobs]):
                results.append(fut.result())
                bar.update()
    bar.close()
    results.sort(key=lambda r: r[0])
    rows = [row for _, camera_rows, _, _ in results for row in camera_rows]
    table = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    if table.frame_id.duplicated().any():
        dup = table.frame_id[table.frame_id.duplicated()].iloc[0]
        raise RuntimeError(f"frame id {dup} appears twice: two clips share a camera and name")
    per_camera = {camera: stats for camera, _, stats, _ in results}
    errors = [e for *_, errs in results for e in errs]
    tmp = out / "frames.parquet.tmp"
    table.to_parquet(tmp, index=False)
    os.replace(tmp, out / "frames.parquet")
    (out / "summary.json").write_text(
        json.dumps({"frames": len(table), "cameras": per_camera, "errors": errors}, indent=2)
    )
    return FramesReport(table, per_camera, errors)


def run(params: StageParams, io: StageIO) -> StageResult:
    """`ambon frames`: the frames of data/footage/manifest.parquet into data/frames."""
    manifest = io.root / "data" / "footage" / "manifest.parquet"
    if not manifest.is_file():
        raise AmbonError(
            f"{manifest} is missing: run the footage stage first (ambon footage, or dvc repro "
            "footage)"
        )
    out = io.root / "data" / "frames"
    out.mkdir(parents=True, exist_ok=True)
    report = build_frames(
        params.frames, pd.read_parquet(manifest), out, io.root, progress=io.progress
    )
    return StageResult("frames", [report.summary()])
