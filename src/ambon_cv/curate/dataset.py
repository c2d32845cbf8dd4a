"""The `curate` stage: one persistent FiftyOne dataset for synthetic and real frames.

`curate()` reads the frames table and every real folder of `params.curate.real`, assigns
leakage-free splits, writes (or updates) the dataset, embeds every image with our own model,
runs FiftyOne Brain (uniqueness, representativeness, near-duplicates, leaky splits), saves the
team's views, exports the labelled frames in YOLO format and writes the curation report.

Updating never loses curated work: a sample tagged `reviewed` (a human label pulled back from
Label Studio) keeps its ground truth; everything is validated before the dataset is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ambon_cv.config import CameraRegistry, CurateParams, RealParams
from ambon_cv.contract import StageIO, StageParams, StageResult
from ambon_cv.curate.db import connect
from ambon_cv.curate.embeddings import embed_files, embedder_for
from ambon_cv.curate.records import (
    CurationInputError,
    CurationRecord,
    LoadStats,
    from_frames_table,
    load_clip_folder,
    load_yolo_folder,
)
from ambon_cv.curate.splits import assign_splits, closest_cross_split_gap
from ambon_cv.errors import AmbonError
from ambon_cv.metrics import headline, write_report
from ambon_cv.real_data import how_to_add, real_folder

REVIEWED = "reviewed"
DISAGREE = "human_vs_model"  # the evaluation key comparing reviewed labels with the model


@dataclass
class CurationReport:
    dataset: str
    samples: int
    added: int
    updated: int
    removed: int
    kept_reviewed: int
    human_labels: int  # frames labelled in Label Studio, from the saved export
    per_split: dict[str, int]
    per_source: dict[str, int]
    per_camera: dict[str, int]
    boxes_per_class: dict[str, dict[str, int]]
    clip_labels: dict[str, dict[str, int]]
    near_duplicates: int
    frames_stage_duplicates: int
    leaks: int
    closest_val_train_gap_s: float
    missing_files: list[str]
    clipped_boxes: int
    dropped_labels: int
    exported: dict[str, int]
    views: list[str]
    embedder: str
    real_skipped: list[str] = field(default_factory=list)
    people: dict = field(default_factory=dict)  # the teacher's people added, per split
    seconds: dict[str, float] = field(default_factory=dict)

    def to_markdown(self) -> str:
        lines = [
            f"# Curation report: dataset `{self.dataset}`",
            "",
            f"{self.samples} samples ({self.added} added, {self.updated} updated, "
            f"{self.removed} removed, {self.kept_reviewed} human-reviewed kept as they were); "
            f"{self.human_labels} frames labelled in Label Studio (data/labels).",
            "",
            "| split | samples |",
            "|---|---|",
            *[f"| {k} | {v} |" for k, v in self.per_split.items()],
            "",
            "| source | samples |",
            "|---|---|",
            *[f"| {k} | {v} |" for k, v in self.per_source.items()],
            "",
            "| class | " + " | ".join(self.boxes_per_class) + " |",
            "|---|" + "---|" * len(self.boxes_per_class),
        ]
        classes = sorted({c for v in self.boxes_per_class.values() for c in v})
        for c in classes:
            lines.append(
                f"| {c} | "
                + " | ".join(str(v.get(c, 0)) for v in self.boxes_per_class.values())
                + " |"
            )
        if self.clip_labels:
            lines += ["", "Clip labels (frames of clips labelled per clip):", ""]
            lines += [f"- {split}: {counts}" for split, counts in self.clip_labels.items()]
        if self.real_skipped:
            lines += ["", "Real data skipped:", "", *[f"- {s}" for s in self.real_skipped]]
        if self.people:
            lines += ["", "Real people (the teacher's boxes, curate.people):", ""]
            lines += [f"- {split}: {counts}" for split, counts in self.people.items()]
        lines += [
            "",
            "## Duplicates and leaks",
            "",
            f"- near-duplicate frames dropped by the frames stage: {self.frames_stage_duplicates}",
            f"- near-duplicates found by FiftyOne Brain ({self.embedder} embeddings), tagged "
            f"`near_duplicate`: {self.near_duplicates}",
            f"- leaks between train and val (FiftyOne Brain leaky-splits), tagged `leak`: "
            f"{self.leaks}",
            f"- closest val frame to a train frame of the same camera: "
            f"{self.closest_val_train_gap_s:.1f} s",
            "",
            "## Input problems",
            "",
            f"- boxes clipped to their image: {self.clipped_boxes}",
            f"- labels dropped by a class_map entry set to null: {self.dropped_labels}",
            f"- missing or unreadable files (skipped): {len(self.missing_files)}",
            *[f"  - {m}" for m in self.missing_files[:20]],
            "",
            f"Saved views: {', '.join(self.views)}. YOLO export: {self.exported}.",
            "",
            "| cameras (frames) |",
            "|---|",
            "| " + ", ".join(f"{k}: {v}" for k, v in sorted(self.per_camera.items())) + " |",
        ]
        return "\n".join(lines) + "\n"


def _to_fo_detections(fo, record: CurationRecord):
    if record.truth is None:
        return None
    return record.truth.to_fiftyone(record.width, record.height, truth=True)


def _fields(fo, record: CurationRecord, registry: CameraRegistry) -> dict:
    cam = registry[record.camera] if record.camera in registry else None  # noqa: SIM401
    return {
        "frame_id": record.frame_id,
        "camera": record.camera,
        "owner": cam.owner_name if cam else None,
        "place": cam.place if cam else None,
        "kecamatan": cam.kecamatan if cam else None,
        "source": record.source,
        "dataset_tag": record.dataset_tag,
        "clip": record.clip,
        "time_s": record.time_s,
        "timestamp": record.timestamp,
        "time_of_day": record.time_of_day,
        "split": record.split,
        "group": record.group,
        "clip_label": fo.Classification(label=record.clip_label) if record.clip_label else None,
    }


def load_records(
    params: CurateParams,
    frames: pd.DataFrame,
    root: Path,
    stats: LoadStats,
    progress: bool = True,
    real: RealParams | None = None,
) -> list[CurationRecord]:
    """Every record to curate, validated, with its split (nothing is written to FiftyOne). A
    real folder missing under real.root is skipped, and noted in `stats.real_skipped`."""
    records = list(from_frames_table(frames, root, stats))
    for real_set in params.real:
        folder = real_folder(real or RealParams(), root, real_set.path)
        if not folder.is_dir():
            stats.real_skipped.append(how_to_add(f"curate.real '{real_set.name}'", folder))
            continue
        if real_set.kind == "yolo":
            records += load_yolo_folder(real_set.name, folder, real_set.class_map, stats)
        else:
            records += load_clip_folder(
                real_set.name,
                folder,
                real_set.class_map,
                real_set.rate_fps,
                real_set.val_fraction,
                params.split.seed,
                root / "data" / "curated" / "real-frames",
                stats,
            )
    ids = Counter(r.frame_id for r in records)
    dups = [k for k, n in ids.items() if n > 1]
    if dups:
        raise CurationInputError(f"frame id(s) appear more than once: {', '.join(dups[:5])}")
    assign_splits(records, params.split)
    stats.people = _people(params, root, records)
    return records


def _people(params: CurateParams, root: Path, records: list[CurationRecord]) -> dict:
    """The teacher's people (curate.people.labels) added to the real records' ground truth;
    the frames and boxes added per split, or a note when there is no labels file."""
    from ambon_cv.people.labels import PeopleLabels, add_people

    p = params.people
    if not p.labels:
        return {"note": "curate.people.labels is empty: real frames carry no people"}
    path = root / p.labels
    if not path.is_file():
        return {"note": f"{p.labels} is missing: real frames carry no people (ambon base people)"}
    return add_people(records, PeopleLabels.load(path), p.train_conf, p.check_conf)


def write_dataset(
    fo, name: str, records: list[CurationRecord], registry: CameraRegistry, progress: bool = True
) -> tuple[object, dict[str, int]]:
    """Create or update the persistent dataset; human-reviewed ground truth is never replaced."""
    if fo.dataset_exists(name):
        ds = fo.load_dataset(name)
    else:
        ds = fo.Dataset(name, persistent=True)
        ds.add_sample_field("frame_id", fo.StringField)
        ds.create_index("frame_id", unique=True)
    existing = dict(zip(*ds.values(["frame_id", "tags"]), strict=True)) if len(ds) else {}
    incoming = {r.frame_id for r in records}
    reviewed = {fid for fid, tags in existing.items() if REVIEWED in (tags or [])}

    new = [r for r in records if r.frame_id not in existing]
    samples = []
    for r in new:
        sample = fo.Sample(filepath=str(r.filepath), tags=[r.dataset_tag, r.source])
        sample.metadata = fo.ImageMetadata(width=r.width, height=r.height)
        for key, value in _fields(fo, r, registry).items():
            if value is not None:
                sample[key] = value
        sample["ground_truth"] = _to_fo_detections(fo, r)
        samples.append(sample)
    if samples:
        ds.add_samples(samples, validate=False, progress=progress)  # built here, typed above

    old = [r for r in records if r.frame_id in existing]
    if old:
        rows = {r.frame_id: _fields(fo, r, registry) for r in old}
        schema = ds.get_field_schema()
        for key in next(iter(rows.values())):
            values = {fid: v[key] for fid, v in rows.items()}
            if key not in schema and all(v is None for v in values.values()):
                continue  # nothing to store (no real clip, say), and no type to give the field
            ds.set_values(key, values, key_field="frame_id")
        unreviewed = {
            r.frame_id: _to_fo_detections(fo, r) for r in old if r.frame_id not in reviewed
        }
        if unreviewed:
            ds.set_values("ground_truth", unreviewed, key_field="frame_id")

    gone = [fid for fid in existing if fid not in incoming]
    gone_unreviewed = [fid for fid in gone if fid not in reviewed]
    if gone_unreviewed:
        ds.delete_samples(ds.select_by("frame_id", gone_unreviewed))
    kept = [fid for fid in gone if fid in reviewed]
    if kept:
        ds.select_by("frame_id", kept).tag_samples("source_missing")
    return ds, {
        "added": len(new),
        "updated": len(old),
        "removed": len(gone_unreviewed),
        "kept_reviewed": len(reviewed & incoming) + len(kept),
    }


def human_labels(ds, root: Path, classes: list[str]) -> int:
    """Apply the annotators' labels saved by the last `ambon label pull` (the DVC-tracked
    export, so a fresh clone trains on them too); returns the frames labelled."""
    from ambon_cv.curate.labelstudio import EXPORT, apply_labels, labels_from_export

    path = root / EXPORT
    if not path.is_file():
        return 0
    try:
        tasks = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CurationInputError(f"{path} is not a Label Studio JSON export: {err}") from None
    try:
        labels = labels_from_export(tasks, classes)
    except AmbonError as err:
        raise CurationInputError(f"{path}: {err}") from None
    return len(apply_labels(ds, labels))


def run_brain(fo, ds, embedder, thresholds, progress: bool = True) -> tuple[int, int]:
    """Embeddings, uniqueness, representativeness, near-duplicates and leaks; returns
    (near-duplicates, leaks) and tags the samples `near_duplicate` / `leak`."""
    import fiftyone.brain as fob
    from fiftyone import ViewField as F

    paths = ds.values("filepath")
    emb = embed_files([Path(p) for p in paths], embedder, progress=progress)
    ds.set_values("embedding", [e.tolist() for e in emb])
    ds.untag_samples(["near_duplicate", "leak"])
    if len(ds) < 3:
        return 0, 0
    fob.compute_uniqueness(ds, embeddings="embedding", progress=progress)
    fob.compute_representativeness(ds, embeddings="embedding", progress=progress)
    dups = fob.compute_near_duplicates(
        ds, threshold=thresholds.near_duplicate_threshold, embeddings="embedding", progress=progress
    )
    dup_ids = list(dups.duplicate_ids)
    if dup_ids:
        ds.select(dup_ids).tag_samples("near_duplicate")
    split_view = ds.match(F("split").is_in(["train", "val"]))
    leaks = 0
    if len(split_view.distinct("split")) == 2:
        index = fob.compute_leaky_splits(
            split_view,
            splits="split",
            threshold=thresholds.leak_threshold,
            embeddings="embedding",
            progress=progress,
        )
        leak_view = index.leaks_view()
        leaks = len(leak_view)
        if leaks:
            leak_view.tag_samples("leak")
    return len(dup_ids), leaks


def save_views(fo, ds) -> list[str]:
    """The views the team opens every day; `hard` once a model's predictions exist, `to_label`
    once frames are ranked (`ambon label rank|push`), `disagree` once a pull has compared the
    reviewed frames with the model."""
    from fiftyone import ViewField as F

    labels = F("ground_truth.detections.label")
    views = {
        "fights": ds.match(labels.contains("fight") | (F("clip_label.label") == "fight")),
        "garbage": ds.match(labels.contains(["garbage", "overflow"])),
        "night": ds.match(F("time_of_day") == "night"),
        "unreviewed": ds.match_tags(REVIEWED, bool=False),
        "reviewed": ds.match_tags(REVIEWED),
        "val": ds.match(F("split") == "val"),
    }
    if ds.has_sample_field("mistakenness"):
        views["hard"] = ds.match(F("mistakenness") > 0.5).sort_by("mistakenness", reverse=True)
    if ds.has_sample_field("label_rank"):
        views["to_label"] = (
            ds.match_tags(REVIEWED, bool=False).exists("label_rank").sort_by("label_rank")
        )
    if ds.has_sample_field(f"{DISAGREE}_fp"):
        views["disagree"] = ds.match_tags(REVIEWED).match(
            (F(f"{DISAGREE}_fp") > 0) | (F(f"{DISAGREE}_fn") > 0)
        )
    for name, view in views.items():
        ds.save_view(name, view, overwrite=True)
    return list(views)


def export_yolo(fo, ds, classes: list[str], out: Path) -> dict[str, int]:
    """The labelled train/val frames in YOLO format (dataset.yaml + images/ + labels/).

    Written to a temporary folder and moved into place, so a failed export never leaves a
    half-written set that looks good.
    """
    from fiftyone import ViewField as F

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    counts = {}
    for split in ("train", "val"):
        view = ds.match((F("split") == split) & F("ground_truth").exists()).filter_labels(
            "ground_truth", F("label").is_in(classes), only_matches=False
        )
        counts[split] = len(view)
        view.export(
            export_dir=str(tmp),
            dataset_type=fo.types.YOLOv5Dataset,
            label_field="ground_truth",
            split=split,
            classes=classes,
            export_media=True,
        )
    import yaml

    spec = tmp / "dataset.yaml"  # no absolute path: ultralytics resolves it beside this file
    data = yaml.safe_load(spec.read_text())
    data.pop("path", None)
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return counts


def curate(
    params: CurateParams,
    frames: pd.DataFrame,
    registry: CameraRegistry,
    root: Path,
    progress: bool = True,
    frames_summary: dict | None = None,
    real: RealParams | None = None,
) -> CurationReport:
    """Run the curate stage; see the module docstring. Writes `data/curated/yolo`,
    `reports/curate.json` and `reports/curate.md`."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    stats = LoadStats()
    records = load_records(params, frames, root, stats, progress, real)
    seconds["load"] = time.perf_counter() - t

    fo = connect(root)
    t = time.perf_counter()
    ds, changes = write_dataset(fo, params.dataset, records, registry, progress)
    human = human_labels(ds, root, params.classes)
    seconds["ingest"] = time.perf_counter() - t

    t = time.perf_counter()
    embedder = embedder_for(params.embeddings.model, root)
    near_dups, leaks = run_brain(fo, ds, embedder, params.embeddings, progress)
    seconds["brain"] = time.perf_counter() - t
    views = save_views(fo, ds)

    t = time.perf_counter()
    exported = export_yolo(fo, ds, params.classes, root / "data" / "curated" / "yolo")
    seconds["export"] = time.perf_counter() - t

    boxes: dict[str, Counter] = {}
    clip_labels: dict[str, Counter] = {}
    for r in records:
        if r.truth is not None:
            boxes.setdefault(r.split, Counter()).update(r.truth.class_names())
        if r.clip_label:
            clip_labels.setdefault(r.split, Counter())[r.clip_label] += 1
    report = CurationReport(
        dataset=params.dataset,
        samples=len(ds),
        **changes,
        human_labels=human,
        per_split=dict(Counter(r.split for r in records)),
        per_source=dict(Counter(r.dataset_tag for r in records)),
        per_camera=dict(Counter(r.camera for r in records)),
        boxes_per_class={k: dict(v) for k, v in sorted(boxes.items())},
        clip_labels={k: dict(v) for k, v in sorted(clip_labels.items())},
        near_duplicates=near_dups,
        frames_stage_duplicates=sum(
            c.get("duplicates", 0) for c in (frames_summary or {}).get("cameras", {}).values()
        ),
        leaks=leaks,
        closest_val_train_gap_s=closest_cross_split_gap(records),
        missing_files=stats.missing_files,
        clipped_boxes=stats.clipped_boxes,
        dropped_labels=stats.dropped_labels,
        exported=exported,
        views=views,
        embedder=embedder.name,
        real_skipped=stats.real_skipped,
        people=stats.people,
        seconds={k: round(v, 2) for k, v in seconds.items()},
    )
    write_report(root, "curate", asdict(report))
    (root / "reports" / "curate.md").write_text(report.to_markdown())
    return report


def run(params: StageParams, io: StageIO) -> StageResult:
    """`ambon curate`: the dataset from data/frames and the real folders of curate.real."""
    frames = io.root / "data" / "frames"
    if not (frames / "frames.parquet").is_file():
        raise AmbonError(
            "data/frames/frames.parquet is missing: run the frames stage first (dvc repro frames)"
        )
    summary = frames / "summary.json"
    report = curate(
        params.curate,
        pd.read_parquet(frames / "frames.parquet"),
        io.cameras(),
        io.root,
        progress=io.progress,
        frames_summary=json.loads(summary.read_text()) if summary.is_file() else None,
        real=params.real,
    )
    details = asdict(report)
    return StageResult(
        "curate",
        [
            f"curate: {report.samples} samples in dataset '{report.dataset}' "
            f"(+{report.added} ~{report.updated} -{report.removed}); splits {report.per_split}; "
            f"near-duplicates {report.near_duplicates}, leaks {report.leaks}; exported "
            f"{report.exported} to data/curated/yolo; report in reports/curate.md"
        ],
        details,
        headline("curate", details),
    )
