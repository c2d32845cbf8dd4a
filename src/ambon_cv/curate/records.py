"""What curation ingests: one `CurationRecord` per image, whatever its origin (a frame of the
synthetic city or of a camera, a real photo with YOLO boxes, a frame of a real clip labelled
only per clip). Loaders turn each source into these records; `dataset.py` writes them to
FiftyOne in one pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ambon_cv.detections import CLASSES, Detections
from ambon_cv.errors import AmbonError


class CurationInputError(AmbonError, ValueError):
    """Input that curation refuses; the message names the file (and line) to fix."""


@dataclass
class CurationRecord:
    frame_id: str
    filepath: Path
    width: int
    height: int
    camera: str
    source: str  # synthetic | real
    dataset_tag: str  # synthetic-city, street-garbage, surveillance-fights ...
    clip: str | None = None
    time_s: float | None = None
    timestamp: datetime | None = None
    time_of_day: str | None = None
    truth: Detections | None = None  # None: boxes unknown (e.g. a clip labelled per clip)
    clip_label: str | None = None
    group: str | None = None  # what must stay in one split (a source recording, a photo)
    split: str | None = None  # given by the source (street-garbage's own train/val)
    extra: dict = field(default_factory=dict)


@dataclass
class LoadStats:
    images: int = 0
    missing_files: list[str] = field(default_factory=list)
    clipped_boxes: int = 0
    dropped_labels: int = 0
    real_skipped: list[str] = field(default_factory=list)  # real folders not there, and how to add
    people: dict = field(default_factory=dict)  # the teacher's people added, per split


def from_frames_table(
    table: pd.DataFrame, root: Path, stats: LoadStats
) -> Iterator[CurationRecord]:
    """Records for the frames stage's table (`data/frames/frames.parquet`).

    Raises:
        CurationInputError: duplicate frame ids, or a class curation does not know.
    """
    dup = table.frame_id[table.frame_id.duplicated()]
    if len(dup):
        raise CurationInputError(
            f"frames table: frame id(s) appear more than once: {', '.join(dup.iloc[:5])}"
        )
    for row in table.itertuples(index=False):
        path = root / row.path
        if not path.is_file():
            stats.missing_files.append(str(path))
            continue
        truth = None
        if row.boxes is not None:
            try:
                truth = Detections.from_columns(row.boxes, row.classes, row.object_ids)
            except ValueError as err:
                raise CurationInputError(f"frames table, frame {row.frame_id}: {err}") from None
            truth, clipped = clip_to_image(truth, row.width, row.height)
            stats.clipped_boxes += clipped
        stats.images += 1
        ts = row.timestamp if isinstance(row.timestamp, str) else None
        yield CurationRecord(
            frame_id=row.frame_id,
            filepath=path,
            width=int(row.width),
            height=int(row.height),
            camera=row.camera,
            source=row.source,
            dataset_tag="synthetic-city" if row.source == "synthetic" else "camera-footage",
            clip=row.clip,
            time_s=float(row.time_s),
            timestamp=datetime.fromisoformat(ts) if ts else None,
            time_of_day=row.time_of_day if isinstance(row.time_of_day, str) else None,
            truth=truth,
            group=row.camera,
        )


def clip_to_image(d: Detections, width: int, height: int) -> tuple[Detections, int]:
    """Boxes clipped to the image; boxes left with no area are dropped. Returns the count."""
    if not len(d):
        return d, 0
    xyxy = d.xyxy.copy()
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, width)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, height)
    changed = int((np.abs(xyxy - d.xyxy) > 1e-3).any(axis=1).sum())
    keep = (xyxy[:, 2] - xyxy[:, 0] > 0.5) & (xyxy[:, 3] - xyxy[:, 1] > 0.5)
    return Detections(xyxy[keep], d.class_id[keep], d.confidence[keep], d.object_id[keep]), changed


def load_yolo_folder(
    name: str, folder: Path, class_map: dict[str, str | None], stats: LoadStats
) -> Iterator[CurationRecord]:
    """Records for a YOLO-format folder: `data.yaml` (names), `images/<split>/`,
    `labels/<split>/<image stem>.txt` with `class cx cy w h` (normalised) per line.

    Raises:
        CurationInputError: no data.yaml, or a label line with an unknown class or a bad
            number (naming the file and line).
    """
    import yaml

    spec = folder / "data.yaml"
    if not spec.is_file():
        raise CurationInputError(f"{folder}: no data.yaml (a YOLO folder names its classes there)")
    names = yaml.safe_load(spec.read_text()).get("names", {})
    names = (
        dict(enumerate(names)) if isinstance(names, list) else {int(k): v for k, v in names.items()}
    )
    mapping = {k: class_map.get(v, v) if class_map else v for k, v in names.items()}
    for ours in {v for v in mapping.values() if v is not None}:
        if ours not in CLASSES:
            raise CurationInputError(f"{spec}: class '{ours}' maps to no class we know ({CLASSES})")
    for split_dir in sorted((folder / "images").iterdir()):
        if not split_dir.is_dir():
            continue
        for image in sorted(split_dir.iterdir()):
            if image.suffix.lower() not in {".jpg", ".jpeg", ".png", ".bmp"}:
                continue
            h, w = _image_size(image)
            if h is None:
                stats.missing_files.append(str(image))
                continue
            label = folder / "labels" / split_dir.name / f"{image.stem}.txt"
            boxes, classes = [], []
            if label.is_file():
                for lineno, line in enumerate(label.read_text().splitlines(), start=1):
                    parts = line.split()
                    if not parts:
                        continue
                    try:
                        if len(parts) != 5:
                            raise ValueError
                        cls, cx, cy, bw, bh = int(parts[0]), *map(float, parts[1:5])
                    except ValueError:
                        raise CurationInputError(
                            f"{label}:{lineno}: not 'class cx cy w h': {line!r}"
                        ) from None
                    if cls not in mapping:
                        raise CurationInputError(
                            f"{label}:{lineno}: class {cls} is not in {spec.name} "
                            f"(known: {sorted(mapping)})"
                        )
                    if mapping[cls] is None:
                        stats.dropped_labels += 1
                        continue
                    boxes.append(
                        [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
                    )
                    classes.append(mapping[cls])
            truth, clipped = clip_to_image(Detections.from_columns(boxes, classes), w, h)
            stats.clipped_boxes += clipped
            stats.images += 1
            yield CurationRecord(
                frame_id=f"{name}/{split_dir.name}/{image.stem}",
                filepath=image,
                width=w,
                height=h,
                camera=name,
                source="real",
                dataset_tag=name,
                truth=truth,
                group=f"{name}/{image.stem}",
                split="val" if split_dir.name in {"val", "valid", "test"} else "train",
            )


def _image_size(path: Path) -> tuple[int | None, int | None]:
    """(height, width) from the image header; (None, None) when it is not a readable image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.height, im.width
    except (OSError, UnidentifiedImageError):
        return None, None


def recording_groups(folder: Path) -> dict[str, str]:
    """Clip stem -> source recording, from a `videos.txt` that lists each source URL followed
    by the clips cut from it (`fi001: 0.13.50 - 0.15.60`)."""
    listing = folder / "videos.txt"
    groups: dict[str, str] = {}
    if not listing.is_file():
        return groups
    current = None
    count = 0
    for line in listing.read_text().splitlines():
        line = line.strip()
        if line.startswith(("http://", "https://")):
            count += 1
            current = f"rec-{count:03d}"
        elif ":" in line and current:
            groups[line.split(":", 1)[0].strip()] = current
    return groups


def load_clip_folder(
    name: str,
    folder: Path,
    class_map: dict[str, str | None],
    rate_fps: float,
    val_fraction: float,
    seed: int,
    out: Path,
    stats: LoadStats,
    jpeg_quality: int = 90,
) -> Iterator[CurationRecord]:
    """Frames of a folder of clips labelled per clip (`<label>/*.mp4`), sampled with the frames
    stage's fixed-rate sampler and written to `out`. Clips are grouped by source recording
    (videos.txt) and whole recordings go to val, so no scene is on both sides."""
    import cv2

    from ambon_cv.frames.sample import ClipDecodeError, sample_clip

    groups = recording_groups(folder)
    labels = sorted(p for p in folder.iterdir() if p.is_dir())
    all_groups = sorted(
        {groups.get(c.stem, f"clip-{c.stem}") for d in labels for c in d.glob("*.mp4")}
    )
    rng = np.random.default_rng(seed)
    val_groups = set(
        rng.permutation(all_groups)[: math.ceil(val_fraction * len(all_groups))].tolist()
    )
    for label_dir in labels:
        label = class_map.get(label_dir.name, label_dir.name) if class_map else label_dir.name
        if label is None:
            continue
        for clip in sorted(label_dir.glob("*.mp4")):
            group = groups.get(clip.stem, f"clip-{clip.stem}")
            target = out / name / label_dir.name
            target.mkdir(parents=True, exist_ok=True)
            try:
                for f in sample_clip(clip, "fixed_rate", rate_fps):
                    path = target / f"{name}_{clip.stem}_{f.index:06d}.jpg"
                    if not path.is_file():
                        cv2.imwrite(str(path), f.image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
                    stats.images += 1
                    yield CurationRecord(
                        frame_id=f"{name}/{clip.stem}/{f.index:06d}",
                        filepath=path,
                        width=f.image.shape[1],
                        height=f.image.shape[0],
                        camera=f"{name}/{group}",
                        source="real",
                        dataset_tag=name,
                        clip=f"{label_dir.name}/{clip.name}",
                        time_s=f.time_s,
                        clip_label=label,
                        group=group,
                        split="val" if group in val_groups else "train",
                    )
            except ClipDecodeError as err:
                stats.missing_files.append(f"{clip} ({err})")
