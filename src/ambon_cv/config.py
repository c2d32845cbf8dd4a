"""Typed view of `params.yaml` (one section per stage) and of the camera registry.

Both files are read into frozen pydantic models. A mistyped or unknown key, a value of the
wrong type or a camera that does not make sense fails with a `ConfigError` that names the file,
the key (or the camera) and what was expected, so a person can fix it without reading code.

Example:
    >>> params = load_params()
    >>> params.footage.source
    'synthetic'
    >>> registry = load_cameras()
    >>> len(registry.cameras)
    55
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ambon_cv.detections import CLASSES
from ambon_cv.errors import AmbonError
from ambon_cv.paths import project_root


class ConfigError(AmbonError, ValueError):
    """A configuration file is wrong; the message says where and how to fix it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- params.yaml -------------------------------------------------------------------------------


class IncidentRates(_Strict):
    """How often incidents start, per camera-hour of synthetic footage."""

    garbage_dump: float = Field(2.0, ge=0)
    bin_overflow: float = Field(1.5, ge=0)
    fight: float = Field(120.0, ge=0)


class SyntheticCity(_Strict):
    """The built-in synthetic city: what `ambon footage synth` renders."""

    seed: int = 2026
    cameras: list[str] = Field(default_factory=list, description="camera ids; empty means all")
    clips_per_camera: int = Field(1, ge=1)
    clip_seconds: float = Field(30.0, gt=0)
    width: int = Field(640, ge=64)
    height: int = Field(360, ge=64)
    fps: float = Field(10.0, gt=0)
    start: str = "2026-11-02T06:00:00+09:00"
    rain_fraction: float = Field(0.2, ge=0, le=1)
    night_fraction: float = Field(0.3, ge=0, le=1)
    dusk_fraction: float = Field(0.15, ge=0, le=1)
    incidents_per_camera_hour: IncidentRates = Field(default_factory=IncidentRates)
    crf: int = Field(26, ge=0, le=51, description="H.264 quality, as a recorder's setting")


class FootageParams(_Strict):
    """`footage` stage: where recorded clips come from and how much bad input is tolerated."""

    source: Literal["synthetic", "dir", "s3"] = "synthetic"
    location: str = Field("", description="dir: a recorder-export folder; s3: s3://bucket/prefix")
    s3_endpoint_url: str = Field("", description="an S3-compatible endpoint; empty means AWS")
    max_bad_fraction: float = Field(0.1, ge=0, le=1)
    unknown_cameras: Literal["reject", "accept"] = Field(
        "reject", description="accept: the first folder names a camera outside the registry"
    )
    synthetic: SyntheticCity = Field(default_factory=SyntheticCity)

    @model_validator(mode="after")
    def _location_given(self) -> FootageParams:
        if self.source != "synthetic" and not self.location:
            raise ValueError(f"source '{self.source}' needs footage.location")
        if self.source == "s3" and not self.location.startswith("s3://"):
            raise ValueError(f"footage.location must be s3://bucket/prefix, got {self.location!r}")
        return self


class FrameDedup(_Strict):
    enabled: bool = True
    max_distance: int = Field(12, ge=0, le=256, description="hash bits (of 256) that may differ")


class FramesParams(_Strict):
    """`frames` stage: how clips become JPEG frames."""

    strategy: Literal["fixed_rate", "keyframes", "scene_change"] = "fixed_rate"
    rate_fps: float = Field(1.0, gt=0)
    scene_threshold: float = Field(0.12, gt=0, le=1)
    jpeg_quality: int = Field(90, ge=10, le=100)
    dedup: FrameDedup = Field(default_factory=FrameDedup)


class RealParams(_Strict):
    """`real` stage: where the real data is. Every real folder a stage reads (curate.real,
    fights.folder, evaluate.real_*) is named relative to `root`; one missing there is skipped
    by every stage, and the run's summary says how to add it."""

    root: str = Field(
        "../shared/datasets",
        description="the folder holding the real data folders (relative to the project, or "
        "absolute)",
    )
    folders: list[str] = Field(
        default_factory=lambda: ["street-garbage", "surveillance-fights"],
        description="the folders under root the stages read (fingerprinted for DVC)",
    )


class RealSet(_Strict):
    """A folder of real data laid out like one of `../shared/datasets/`."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="tag and camera prefix")
    kind: Literal["yolo", "clips"]
    path: str = Field(description="under real.root (or an absolute path)")
    class_map: dict[str, str | None] = Field(
        default_factory=dict, description="source class -> ours (null drops it); empty: same"
    )
    rate_fps: float = Field(2.0, gt=0, description="clips: frames sampled per second")
    val_fraction: float = Field(0.2, ge=0, le=1, description="clips: recordings held out")


class SplitParams(_Strict):
    """Leakage-free splits of camera footage: by camera and time block, with a buffer."""

    seed: int = 7
    val_fraction: float = Field(0.2, ge=0, le=1)
    block_s: float = Field(10.0, gt=0, description="time blocks assigned whole to a split")
    gap_s: float = Field(3.0, ge=0, description="no val frame within this of a train frame")


class EmbeddingParams(_Strict):
    model: str = Field(
        "",
        description="a local detector .pt whose backbone embeds; empty: "
        "the built-in colour-layout embedder",
    )
    near_duplicate_threshold: float = Field(0.02, gt=0, description="cosine distance")
    leak_threshold: float = Field(0.02, gt=0, description="cosine distance")


def _known(classes: list[str]) -> None:
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        raise ValueError(f"classes {unknown} unknown; known: {', '.join(CLASSES)}")


class PeopleParams(_Strict):
    """The teacher's people on real frames (`ambon_cv.people.labels`), added to ground truth."""

    labels: str = Field(
        "models/base/people-labels.json", description="written by `ambon base people`; '' none"
    )
    train_conf: float = Field(0.5, ge=0, le=1, description="train frames: boxes at or above")
    check_conf: float = Field(0.6, ge=0, le=1, description="val frames (the real-person check)")


class CurateParams(_Strict):
    """`curate` stage: the FiftyOne dataset, its splits, views, report and YOLO export."""

    dataset: str = Field("ambon", pattern=r"^[A-Za-z0-9_-]+$")
    classes: list[str] = Field(default_factory=lambda: list(CLASSES), min_length=1)
    real: list[RealSet] = Field(default_factory=list)
    split: SplitParams = Field(default_factory=SplitParams)
    embeddings: EmbeddingParams = Field(default_factory=EmbeddingParams)
    people: PeopleParams = Field(default_factory=PeopleParams)

    @model_validator(mode="after")
    def _known_classes(self) -> CurateParams:
        _known(self.classes)
        return self


class Augment(_Strict):
    mosaic: float = Field(1.0, ge=0, le=1)
    close_mosaic: int = Field(0, ge=0, description="last epochs without mosaic")
    fliplr: float = Field(0.5, ge=0, le=1)
    scale: float = Field(0.5, ge=0)
    translate: float = Field(0.1, ge=0, le=1)
    hsv_h: float = Field(0.015, ge=0, le=1)
    hsv_s: float = Field(0.7, ge=0, le=1)
    hsv_v: float = Field(0.4, ge=0, le=1)


class BaseRecipe(_Strict):
    """How the released base detector is rebuilt (`ambon base build`): a long run from a start
    that needs no download."""

    start: str = Field(
        "yolo-mobilenetv2-imagenet", description="a named start, a model .yaml or a local .pt"
    )
    epochs: int = Field(60, ge=1, description="the schedule's length (hours may shorten it)")
    hours: float = Field(0.0, ge=0, description="wall-time budget; 0: run every epoch")
    optimizer: Literal["auto", "SGD", "AdamW", "Adam"] = "auto"
    lr0: float = Field(0.002, gt=0, description="only with an explicit optimizer")
    warmup_epochs: float = Field(3.0, ge=0)
    close_mosaic: int = Field(5, ge=0, description="last epochs without mosaic")
    patience: int = Field(100, ge=0)
    freeze: int = Field(0, ge=0, description="0: the backbone learns too")
    save_period: int = Field(5, description="epoch<N>.pt every N epochs (learning curves)")


class TrainParams(_Strict):
    """`train` stage: the detector (ultralytics YOLO) and how it is trained."""

    model: str = Field(
        "models/base/ambon-base-v2.pt",
        description="the released base (fine-tuned), a local .pt, a named start "
        "(yolo-mobilenetv2-imagenet) or a model .yaml (from scratch)",
    )
    imgsz: int = Field(
        256,
        ge=32,
        description="the input side; evaluate, export and bench take it from the trained model",
    )
    epochs: int = Field(2, ge=1)
    hours: float = Field(
        0.0, ge=0, description="wall-time budget; ultralytics fits the schedule to it (0: off)"
    )
    batch: int = Field(16, ge=1)
    seed: int = 0
    workers: int = Field(2, ge=0)
    threads: int = Field(
        0, ge=0, description="CPU threads; 0: every core (ultralytics alone leaves one idle)"
    )
    device: str = Field("auto", description="auto (a GPU when there is one), cpu, 0, 0,1 ...")
    patience: int = Field(50, ge=0)
    fraction: float = Field(1.0, gt=0, le=1, description="share of the train split used")
    cache: bool = Field(True, description="keep decoded images in RAM between epochs")
    freeze: int = Field(0, ge=0, description="first layers kept as they are (1: the backbone)")
    save_period: int = Field(-1, description="also keep epoch<N>.pt every N epochs; -1: never")
    optimizer: Literal["auto", "SGD", "AdamW", "Adam"] = Field(
        "auto", description="auto: ultralytics picks the optimizer and ignores lr0"
    )
    lr0: float = Field(0.01, gt=0, description="initial learning rate (not with optimizer auto)")
    lrf: float = Field(0.01, gt=0, le=1, description="final learning rate, a share of lr0")
    warmup_epochs: float = Field(3.0, ge=0)
    augment: Augment = Field(default_factory=Augment)
    base: BaseRecipe = Field(default_factory=BaseRecipe)


class AlertRules(_Strict):
    """When per-frame detections become an alert (see ambon_cv.alerts)."""

    fight_source: Literal["analytic", "detector"] = Field(
        "analytic",
        description="where fight evidence comes from: the streaming fight analytic's windows "
        "(default) or the detector's fight boxes (chance on real clips, kept to compare)",
    )
    fight_open: float | Literal["budget"] = Field(
        "budget",
        description="a fight incident opens on a window scoring at least this (calibrated "
        "probability); budget: the fight model's threshold, chosen by the fights stage to meet "
        "fights.budget false alerts per camera-hour",
    )
    fight_keep: float = Field(
        0.5, ge=0, le=1, description="an open incident stays open while windows score this"
    )
    fight_min_s: float = Field(
        1.0, ge=0, description="an incident raises its one alert once it has lasted this long"
    )
    garbage_min_presence_s: float = Field(10.0, ge=0, description="a pile stays this long")
    garbage_min_confidence: float = Field(0.25, ge=0, le=1)
    same_place_iou: float = Field(0.3, gt=0, le=1, description="IoU that counts as same place")
    cooldown_s: float = Field(60.0, ge=0, description="garbage: no second alert per camera")
    merge_s: float = Field(10.0, ge=0, description="evidence this close joins the last alert")

    @model_validator(mode="after")
    def _keep_under_open(self) -> AlertRules:
        if isinstance(self.fight_open, float) and self.fight_keep > self.fight_open:
            raise ValueError(
                f"fight_keep ({self.fight_keep}) cannot exceed fight_open ({self.fight_open}): an "
                "incident would close on the window that opened it"
            )
        return self


class ChangeGating(_Strict):
    """Change-gated inference (ambon_cv.inference.gate): an unchanged view reuses the
    detections of the last frame the detector saw."""

    enabled: bool = True
    width: int = Field(160, ge=16, description="thumbnail width compared, pixels")
    pixel_delta: int = Field(20, ge=1, le=255, description="grey levels that count as change")
    min_changed: float = Field(
        0.0005, ge=0, lt=1, description="share of thumbnail pixels that must change"
    )
    refresh_s: float = Field(60.0, gt=0, description="infer a view at least this often")
    persistent: bool = Field(
        True, description="count only change still there one analysis period later"
    )


class EventEvaluation(_Strict):
    """Held-out clips for event-level evaluation (rendered with their own seed)."""

    seed: int = 9001
    cameras: list[str] = Field(default_factory=list, description="empty: fight hot spots")
    clips_per_camera: int = Field(1, ge=1)
    clip_seconds: float = Field(30.0, gt=0)
    analysis_fps: float = Field(5.0, gt=0)


class FightHours(_Strict):
    """An hour or more of held-out hot-spot footage for the fight alerts alone (rendered with
    its own seed; no detector), long enough to resolve about one false alert per camera-hour."""

    seed: int = 9101
    clips_per_camera: int = Field(1, ge=0, description="0 skips the fight hours")
    clip_seconds: float = Field(200.0, gt=0, description="18 hot spots x 200 s: one hour")
    fights_per_camera_hour: float = Field(
        30.0, ge=0, description="spread out, so incidents rarely merge (the footage's is 120)"
    )
    workers: int = Field(2, ge=1, description="processes rendering and scoring clips")


class EvaluateParams(_Strict):
    """`evaluate` stage: frame, event and real-footage metrics of the trained detector."""

    conf: float = Field(0.25, ge=0, le=1)
    device: str = "auto"
    alerts: AlertRules = Field(default_factory=AlertRules)
    gate: ChangeGating = Field(default_factory=ChangeGating)
    events: EventEvaluation = Field(default_factory=EventEvaluation)
    fight_hours: FightHours = Field(default_factory=FightHours)
    real_garbage: str = Field("", description="a YOLO folder under real.root; empty skips")
    real_fights: str = Field(
        "", description="a folder of fight/ and noFight/ clips under real.root; empty skips"
    )
    real_fights_limit: int = Field(0, ge=0, description="evaluate at most this many clips")


class FightStreaming(_Strict):
    """The streaming fight analytic: the clip classifier over a sliding window."""

    window_s: float = Field(2.0, gt=0, description="seconds of motion each score looks at")
    hop_s: float = Field(0.5, gt=0, description="a new score every hop_s seconds")
    flow_fps: float = Field(
        10.0,
        ge=0,
        description="the least flows a second: each camera's frames in the longest whole "
        "steps that keep at least this many (0: every frame)",
    )


class FightsParams(_Strict):
    """`fights` stage: the clip classifier that tells real fights from ordinary activity,
    learned from clips labelled only per clip (`fight/` and `noFight/`)."""

    folder: str = Field(
        "surveillance-fights",
        min_length=1,
        description="fight/ + noFight/ clips under real.root; videos.txt groups them by "
        "source recording",
    )
    features: Literal["region", "statistics"] = Field(
        "region", description="region: the busiest window's motion; statistics: whole view"
    )
    width: int = Field(128, ge=32, description="optical flow on a grey copy this wide")
    interval_s: float = Field(0.16, gt=0, description="region: flow summed over this interval")
    window_fraction: float = Field(0.25, gt=0, le=1, description="region: window / view width")
    flow_fps: float = Field(
        0.0, ge=0, description="region: the training clips' least flows per s (0: every frame)"
    )
    statistics_fps: float = Field(10.0, gt=0, description="statistics: frames sampled per s")
    slower_cameras: list[Annotated[int, Field(ge=2)]] = Field(
        default_factory=lambda: [2, 3],
        description="region, training and its cross-validation: each clip also as a camera "
        "sending 1 of every N of its frames ([]: none), so one classifier scores 10-30 fps "
        "cameras alike",
    )
    slowest_fps: float = Field(
        8.0, gt=0, description="region: no slower-camera view under this many frames a second"
    )
    classifier: Literal["vote", "extra_trees", "logistic"] = "vote"
    trees: int = Field(100, ge=10)
    inner_folds: int = Field(
        3, ge=0, description="threshold + calibration chosen inside each fold (0: fixed)"
    )
    threshold: float = Field(0.5, gt=0, lt=1, description="used only when inner_folds is 0")
    folds: int = Field(5, ge=2, description="cross-validation folds, grouped by recording")
    repeats: int = Field(5, ge=1, description="fold assignments drawn, for the spread")
    seed: int = 0
    workers: int = Field(2, ge=1, description="processes computing clip features")
    stream: FightStreaming = Field(default_factory=lambda: FightStreaming())
    calibration_min_minutes: float = Field(
        5.0,
        ge=0,
        description="a hot spot with less recorded footage (data/footage) keeps the global "
        "opening threshold; with more, its own is set to the budget on that footage",
    )
    budget: float = Field(
        0.5,
        gt=0,
        description="false fight alerts per camera-hour the command center accepts: the "
        "incident's opening threshold (evaluate.alerts.fight_open: budget) is chosen to meet "
        "it on non-fight footage",
    )


class RankParams(_Strict):
    """`label.rank`: which frames a push sends first (the `to_label` view)."""

    by: Literal["uncertainty", "mistakenness", "uniqueness", "random", "dataset"] = Field(
        "uncertainty",
        description="uncertainty: the model's least sure boxes; mistakenness: FiftyOne Brain's "
        "estimate that the label is wrong (frames with a label); uniqueness: Brain's; random; "
        "dataset: dataset order",
    )
    uniqueness_weight: float = Field(
        0.3, ge=0, le=1, description="share of Brain's uniqueness blended into the score"
    )
    spread_by: list[str] = Field(
        default_factory=lambda: ["camera", "time_of_day"],
        description="sample fields dealt round-robin, so no camera is forgotten",
    )
    leave_out: list[str] = Field(
        default_factory=lambda: ["near_duplicate", "leak", "source_missing"],
        description="tags never pushed",
    )
    seed: int = 7


class CurveParams(_Strict):
    """`label.curve`: the learning curve in human labels (`ambon label curve`)."""

    start: str = Field("models/base/ambon-base-v2.pt", description="what each point fine-tunes")
    seed: int = Field(4242, description="the unseen city's seed (and the random push's)")
    cameras: int = Field(16, ge=1, description="the first this many cameras of the registry")
    clips_per_camera: int = Field(3, ge=2, description="the last is val, the others the pool")
    clip_seconds: float = Field(30.0, gt=0)
    night_fraction: float = Field(0.5, ge=0, le=1)
    rain_fraction: float = Field(0.4, ge=0, le=1)
    rate_fps: float = Field(1.0, gt=0, description="frames kept per second of footage")
    sizes: list[int] = Field(default_factory=lambda: [50, 100, 200], min_length=1)
    replay: int = Field(200, ge=0, description="curated train frames each fine-tune also sees")
    epochs: int = Field(3, ge=1)
    batch: int = Field(16, ge=1)
    lr0: float = Field(0.002, gt=0)
    freeze: int = Field(0, ge=0, description="layers kept as the base has them")
    conf: float = Field(0.1, gt=0, lt=1, description="the ranking's least box confidence")
    work_dir: str = Field(".cache/label-curve", description="the rendered city and the runs")

    @model_validator(mode="after")
    def _sizes_grow(self) -> CurveParams:
        if self.sizes != sorted(set(self.sizes)):
            raise ValueError("label.curve.sizes: give increasing frame counts, e.g. [50, 100, 200]")
        return self


class LabelParams(_Strict):
    """`label`: the Label Studio round trip (`ambon label rank|push|pull|restore`)."""

    project: str = Field("ambon-cv frames", min_length=1, description="Label Studio project")
    predictions_field: str = Field("predictions", description="the model's boxes in FiftyOne")
    model: str = Field(
        "models/best.pt", description="the model that pre-fills pushed frames (run at push time)"
    )
    conf: float = Field(0.3, gt=0, lt=1, description="the least confidence of a pre-filled box")
    iou: float = Field(0.5, gt=0, le=1, description="pre-fill NMS: overlapping boxes are one")
    box_tolerance_pct: float = Field(
        1.0, ge=0, description="pull/restore: how far (% of the image) a box may cross its edge"
    )
    annotations_per_task: Literal["one", "latest"] = Field(
        "one", description="one: a task with two submitted annotations is refused; latest: kept"
    )
    rank: RankParams = Field(default_factory=RankParams)
    curve: CurveParams = Field(default_factory=CurveParams)


EXPORT_FORMATS = (
    "onnx",
    "openvino_fp16",
    "openvino_int8",
    "torchscript",
    "tensorrt_fp16",
    "tensorrt_int8",
)


class ParityBounds(_Strict):
    """Largest mAP50 drop against the PyTorch model that an export may show."""

    fp32: float = Field(0.01, ge=0)
    fp16: float = Field(0.01, ge=0)
    int8: float = Field(0.02, ge=0)
    # the classes the mAP50 drop is taken over (empty: every class); the rest are measured and
    # reported per class, never judged
    classes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_classes(self) -> ParityBounds:
        _known(self.classes)
        return self


class QualityFloor(_Strict):
    """The least a model must reach before `ambon export publish` tags it (`--allow-weak`
    publishes anyway, and the model card says so in its first line)."""

    synthetic_map50: dict[str, float] = Field(
        default_factory=lambda: {"garbage": 0.8, "garbage_bin": 0.8, "overflow": 0.8},
        description="val mAP50 per class on the synthetic city",
    )
    real_map50: dict[str, float] = Field(
        default_factory=lambda: {"all": 0.7, "garbage": 0.55},
        description="mAP50 on the real street-garbage val split (all: every class)",
    )
    garbage_incident_recall: float = Field(0.95, ge=0, le=1)
    garbage_false_alerts_per_camera_hour: float = Field(1.0, ge=0)
    fight_incident_recall: float = Field(
        0.9,
        ge=0,
        le=1,
        description="held-out rendered hot spots (evaluate.fight_hours), open alerts counted",
    )
    fight_false_alerts_per_camera_hour: float = Field(
        1.0, ge=0, description="held-out rendered hot spots, and the real non-fight clips"
    )
    real_fight_clips_alerted: float = Field(
        0.8, ge=0, le=1, description="share of the real fight clips that raise an alert"
    )


class SpeedParams(_Strict):
    batches: list[int] = Field(default_factory=lambda: [1, 16], min_length=1)
    seconds: float = Field(3.0, gt=0, description="timed per format and batch, after warm-up")
    threads: int = Field(0, ge=0, description="CPU threads per runtime; 0: every core")


class TritonParams(_Strict):
    model_name: str = Field("ambon-detector", pattern=r"^[A-Za-z0-9_-]+$")
    max_batch_size: int = Field(16, ge=1)
    preferred_batch_sizes: list[int] = Field(default_factory=lambda: [8, 16])
    max_queue_delay_us: int = Field(2000, ge=0)
    instances: int = Field(1, ge=1, description="model instances (per GPU, or on the CPU)")


class ExportParams(_Strict):
    """`export`: deployable formats of models/best.pt, proven equal and timed."""

    formats: list[Literal[EXPORT_FORMATS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(EXPORT_FORMATS), min_length=1
    )
    calibration_frames: int = Field(300, ge=1, description="INT8 calibration, from train")
    parity: ParityBounds = Field(default_factory=ParityBounds)
    floor: QualityFloor = Field(default_factory=QualityFloor)
    speed: SpeedParams = Field(default_factory=SpeedParams)
    triton: TritonParams = Field(default_factory=TritonParams)
    version: str = Field(
        "0.1.0", pattern=r"^\d+\.\d+\.\d+$", description="semantic version of the published model"
    )


class ServiceLevel(_Strict):
    """What a load must meet to PASS."""

    p95_latency_ms: float = Field(1000.0, gt=0, description="capture -> result")
    min_analysed_ratio: float = Field(
        0.95, ge=0, le=1, description="analysed / target slots in the window"
    )
    max_drop_rate: float = Field(0.05, ge=0, le=1, description="analysis slots missed")
    max_memory_gb: float = Field(
        3.0, gt=0, description="the load's processes, PSS (shared pages counted once)"
    )


class SweepParams(_Strict):
    streams: list[int] = Field(
        default_factory=lambda: [16, 32, 55, 80, 110, 150, 210], min_length=1
    )
    fails_to_stop: int = Field(
        2, ge=1, description="the pipeline steps up from bench.streams until so many fail in a row"
    )
    baseline_streams: list[int] = Field(default_factory=lambda: [8, 16])
    duration_s: float = Field(10.0, gt=0)
    overload_x: float = Field(
        4.0, ge=0, description="one more run at this many times the most streams held; 0 skips"
    )
    overload_duration_s: float = Field(
        20.0, gt=0, description="that run's measured time (a slot comes every few seconds)"
    )


class Scheduling(_Strict):
    """Each worker's scheduler (ambon_cv.bench.scheduler)."""

    budget_cores: float = Field(0.9, gt=0, le=1, description="of its core a worker plans to use")
    fight_share: float = Field(
        0.6, ge=0, le=1, description="past capacity, the most of that the fight analytic takes"
    )


class Emulation(_Strict):
    """A slower CPU on this one (ambon_cv.bench.emulate): workers held to a share of their core
    by a cgroup CPU quota, and an older instruction set seen by every process of the bench."""

    core_share: float = Field(0.0, ge=0, le=1, description="0: off; 0.3: 30% of each core")
    isa: Literal["", "avx2", "avx512_core"] = Field(
        "",
        description="avx2: no AVX-512, VNNI or AMX (Haswell to Zen 2); avx512_core: AVX-512 "
        "without VNNI; '' off",
    )


class BenchParams(_Strict):
    """`bench`: the live-load benchmark (`ambon bench`, `ambon bench sweep`)."""

    model: str = Field("exports/int8_openvino_model", description="an export, or triton://…")
    source: Literal["clips", "rtsp", "cameras"] = "clips"
    streams: int = Field(55, ge=1)
    layout: Literal["per_core", "central"] = Field(
        "per_core",
        description="per_core: each worker decodes and infers its streams on its own core; "
        "central: decode workers feed inference processes through shared memory",
    )
    workers: int = Field(
        0, ge=0, description="worker (per_core) or decode (central) processes; 0: one per core"
    )
    threads: int = Field(0, ge=0, description="inference threads per process; 0: every core")
    inference_workers: int = Field(
        1, ge=1, description="central: inference processes, each serving its decoders' streams"
    )
    max_batch: int = Field(16, ge=1)
    max_wait_ms: float = Field(25.0, ge=0)
    queue_size: int = Field(128, ge=1)
    conf: float = Field(0.25, ge=0, le=1)
    fights: str = Field(
        "exports/fight-clips",
        description="the exported streaming fight analytic run on every fight hot spot; '' none",
    )
    warmup_s: float = Field(4.0, ge=0)
    warmup_most_s: float = Field(
        30.0,
        ge=0,
        description="past warmup_s the warm-up goes on until every stream has had "
        "two analysis slots, at most this long in all",
    )
    duration_s: float = Field(20.0, gt=0)
    slo: ServiceLevel = Field(default_factory=ServiceLevel)
    sweep: SweepParams = Field(default_factory=SweepParams)
    schedule: Scheduling = Field(default_factory=Scheduling)
    emulate: Emulation = Field(default_factory=Emulation)


class Params(_Strict):
    """All of `params.yaml`: one section per DVC stage."""

    footage: FootageParams = Field(default_factory=FootageParams)
    real: RealParams = Field(default_factory=RealParams)
    frames: FramesParams = Field(default_factory=FramesParams)
    curate: CurateParams = Field(default_factory=CurateParams)
    label: LabelParams = Field(default_factory=LabelParams)
    train: TrainParams = Field(default_factory=TrainParams)
    fights: FightsParams = Field(default_factory=FightsParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    export: ExportParams = Field(default_factory=ExportParams)
    bench: BenchParams = Field(default_factory=BenchParams)


# --- the camera registry -------------------------------------------------------------------------

_ENV_REF = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*\}$")
_ENV_ANY = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
_SECRET_QUERY = re.compile(r"(?i)[?&](password|passwd|pwd|token|key)=(?!\$\{)")


class Stream(_Strict):
    """One stream of a camera (recorders give a full-size main and a small sub stream)."""

    url: str
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fps: float = Field(gt=0)
    keyframe_interval_s: float = Field(2.0, gt=0)

    @model_validator(mode="after")
    def _no_literal_credentials(self) -> Stream:
        match = re.match(r"^[a-z][a-z0-9+.-]*://([^/@]*)@", self.url)
        if match:
            parts = match.group(1).split(":")
            if not all(_ENV_REF.match(p) for p in parts):
                raise ValueError(
                    "credentials in the URL must be ${ENV_VAR} references, never literal values"
                )
        if _SECRET_QUERY.search(self.url):
            raise ValueError("a secret in the URL query must be a ${ENV_VAR} reference")
        return self

    def resolved_url(self, env: dict[str, str] | None = None) -> str:
        """The URL with `${VAR}` references filled from the environment.

        Raises:
            ConfigError: a referenced variable is not set.
        """
        env = os.environ if env is None else env
        missing = [name for name in _ENV_ANY.findall(self.url) if name not in env]
        if missing:
            raise ConfigError(
                f"stream URL needs environment variable(s) {', '.join(missing)}: "
                "set them (or put them in .env) before opening live streams"
            )
        return _ENV_ANY.sub(lambda m: env[m.group(1)], self.url)


class Analytic(_Strict):
    """One analysis a camera runs: what, on which stream, decoding what, how often."""

    kind: Literal["garbage", "fight"]
    stream: Literal["main", "sub"] = "sub"
    decode: Literal["all", "keyframes"] = "all"
    rate_fps: float = Field(gt=0)


class Location(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Camera(_Strict):
    """A camera of the command center."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    owner: Literal["pemkot", "polda"]
    place: str = Field(min_length=1)
    kelurahan: str = ""
    kecamatan: str = ""
    location: Location
    view: Literal["street", "alley", "market", "office_front"]
    streams: dict[Literal["main", "sub"], Stream]
    analytics: list[Analytic] = Field(min_length=1)
    priority: int = Field(
        0,
        description="served first when a box is past its capacity (higher first, after the "
        "fight hot spots)",
    )

    @model_validator(mode="after")
    def _analytics_fit_streams(self) -> Camera:
        kinds = [a.kind for a in self.analytics]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"analytics lists a kind twice: {kinds}")
        for a in self.analytics:
            if a.stream not in self.streams:
                raise ValueError(f"analytics '{a.kind}' uses stream '{a.stream}', not defined")
            stream = self.streams[a.stream]
            limit = 1 / stream.keyframe_interval_s if a.decode == "keyframes" else stream.fps
            if a.rate_fps > limit + 1e-9:
                raise ValueError(
                    f"analytics '{a.kind}' asks {a.rate_fps} fps but {a.decode} decoding of the "
                    f"{a.stream} stream gives at most {limit:g} fps"
                )
        return self

    @property
    def owner_name(self) -> str:
        return {"pemkot": "Pemkot Ambon", "polda": "Polda Maluku"}[self.owner]

    def analytic(self, kind: str) -> Analytic | None:
        return next((a for a in self.analytics if a.kind == kind), None)


class CameraRegistry(_Strict):
    cameras: list[Camera]

    @model_validator(mode="after")
    def _unique_ids(self) -> CameraRegistry:
        seen: set[str] = set()
        for cam in self.cameras:
            if cam.id in seen:
                raise ValueError(f"camera id '{cam.id}' appears twice")
            seen.add(cam.id)
        return self

    def __getitem__(self, camera_id: str) -> Camera:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        hint = _did_you_mean(camera_id, [c.id for c in self.cameras])
        raise KeyError(f"unknown camera '{camera_id}'{hint}")

    def __contains__(self, camera_id: object) -> bool:
        return any(cam.id == camera_id for cam in self.cameras)

    def select(self, ids: Iterable[str] = ()) -> list[Camera]:
        """The cameras named in `ids` (all when empty), in registry order."""
        wanted = list(ids)
        for camera_id in wanted:
            self[camera_id]  # raises with a suggestion for a typo
        return [c for c in self.cameras if not wanted or c.id in wanted]


# --- loading and error messages ------------------------------------------------------------------


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the key at `loc` (to list its known keys)."""
    current: Any = model
    for part in loc[:-1]:
        if get_origin(current) in (list, dict):  # this part is an index or a mapping key
            current = get_args(current)[-1]
            continue
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None:
            return None
        current = field.annotation
    return current if _is_model(current) else None


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(err: ValidationError, model: type[BaseModel], file: Path, data: Any) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if p not in ("function-after",))
        where = _dotted(loc)
        if loc and loc[0] == "cameras" and len(loc) > 1 and isinstance(loc[1], int):
            try:
                cam_id = data["cameras"][loc[1]].get("id", "?")
            except (AttributeError, IndexError, KeyError, TypeError):
                cam_id = "?"
            rest = _dotted(loc[2:])
            where = f"camera '{cam_id}' ({_dotted(loc[:2])})" + (f": {rest}" if rest else "")
        if e["type"] == "extra_forbidden":
            holder = _model_at(model, loc)
            known = sorted(holder.model_fields) if holder else []
            hint = _did_you_mean(str(loc[-1]), known)
            lines.append(
                f"{where}: unknown key{hint}; known keys here: {', '.join(known) or '(none)'}"
            )
        elif e["type"] == "missing":
            lines.append(f"{where}: required key is missing")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            got = e.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {type(got).__name__} {got!r})"
            lines.append(f"{where}: {msg}{shown}")
    return f"{file}: " + ("\n  ".join(["", *lines]) if len(lines) > 1 else lines[0])


def _read_yaml(file: Path) -> Any:
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: file not found (run from the project root or set AMBON_ROOT)"
        ) from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{file}: not valid YAML: {err}") from None


def load_params(file: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Params:
    """Read and validate `params.yaml`.

    Args:
        file: the params file; defaults to the project's `params.yaml`.
        overrides: dotted keys to set on top, as the CLI's `-S footage.synthetic.seed=3`.

    Raises:
        ConfigError: naming the file and key of every problem found.
    """
    path = Path(file) if file else project_root() / "params.yaml"
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of stage sections, got {type(data).__name__}"
        )
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    try:
        return Params.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_explain(err, Params, path, data)) from None


def load_cameras(file: str | Path | None = None) -> CameraRegistry:
    """Read and validate the camera registry (`data/cameras.yaml`).

    Raises:
        ConfigError: naming the file and the camera of every problem found.
    """
    path = Path(file) if file else project_root() / "data" / "cameras.yaml"
    data = _read_yaml(path)
    try:
        return CameraRegistry.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_explain(err, CameraRegistry, path, data)) from None


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {key}: '{part}' is not a section")
    node[parts[-1]] = value


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """`["a.b=3", "c=x"]` -> `{"a.b": 3, "c": "x"}`, values read as YAML scalars."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override '{item}' must look like section.key=value")
        out[key.strip()] = yaml.safe_load(raw)
    return out
