"""The learning curve in human labels: what the ranking buys the annotators.

On a synthetic city the model has never seen (its own seed and conditions, `label.curve`), the
ground truth plays the annotator. For each strategy (the `to_label` ranking, a random push) the
loop runs as the team runs it: push the frames the strategy picks with the current model,
"label" them, fine-tune the released base on every frame labelled so far (beside a fixed
sample of the curated train split, `replay`, as `dvc repro` fine-tunes on the curated data
with the new labels in it), and measure val mAP50 on held-out clips of the same city; the next
push picks with the new model. Point 0 is the same fine-tune on the replay sample alone, so
the curve shows what the human labels add. Every clip but the last of each camera is the
pool the annotators label; the last one is val.

`label_curve()` writes `reports/label_curve.json` and `reports/label_curve.png`.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ambon_cv.config import CameraRegistry, CurveParams, FootageParams, FramesParams
from ambon_cv.curate.ranking import box_uncertainty, interleave
from ambon_cv.detections import CLASSES, Detections
from ambon_cv.paths import under_root, write_json
from ambon_cv.train.starts import resolve_start


@dataclass
class CurvePoint:
    strategy: str
    labelled: int
    mAP50: float
    seconds: float


@dataclass
class CurveReport:
    points: list[CurvePoint]
    pool: int
    val: int
    cameras: int
    start: str
    replay: int
    frames_to_match: dict[str, int | None] = field(default_factory=dict)

    def curve(self, strategy: str) -> list[tuple[int, float]]:
        return [(p.labelled, p.mAP50) for p in self.points if p.strategy in (strategy, "none")]

    def summary(self) -> str:
        lines = [
            f"label curve: fine-tuning {self.start} on {self.replay} curated frames and the "
            f"human labels of a city it never saw ({self.cameras} cameras, {self.pool} frames "
            f"to label, {self.val} val frames); val mAP50 after n labelled frames:"
        ]
        for strategy in dict.fromkeys(p.strategy for p in self.points if p.strategy != "none"):
            lines.append(
                f"  {strategy:12s} " + "  ".join(f"{n}: {m:.3f}" for n, m in self.curve(strategy))
            )
        need = self.frames_to_match.get("ranked")
        most = max(p.labelled for p in self.points)
        target = max(self.curve("random"))[1]
        lines.append(
            f"  the random push's mAP50 at {most} frames ({target:.3f}) is reached by the "
            + (f"ranking at {need} frames" if need is not None else f"ranking only past {most}")
        )
        return "\n".join(lines)


def load_report(path: Path) -> CurveReport:
    """A report written by `label_curve()` (reports/label_curve.json)."""
    data = json.loads(Path(path).read_text())
    data.pop("params", None)
    data["points"] = [CurvePoint(**p) for p in data["points"]]
    return CurveReport(**data)


def render(
    params: CurveParams, registry: CameraRegistry, work: Path, progress: bool
) -> pd.DataFrame:
    """The unseen city's frames (with ground truth), rendered into `work`."""
    from ambon_cv.footage.pull import pull_footage
    from ambon_cv.frames.build import build_frames

    cameras = [c.id for c in registry.cameras][: params.cameras]
    city = FootageParams().synthetic.model_copy(
        update={
            "seed": params.seed,
            "cameras": cameras,
            "clips_per_camera": params.clips_per_camera,
            "clip_seconds": params.clip_seconds,
            "night_fraction": params.night_fraction,
            "rain_fraction": params.rain_fraction,
        }
    )
    pull_footage(FootageParams(synthetic=city), registry, work / "footage", work, progress=progress)
    manifest = pd.read_parquet(work / "footage" / "manifest.parquet")
    build_frames(
        FramesParams(rate_fps=params.rate_fps), manifest, work / "frames", work, progress=progress
    )
    return pd.read_parquet(work / "frames" / "frames.parquet")


def replay_sample(root: Path, params: CurveParams) -> list[Path]:
    """A fixed sample of the curated train split's images (the data the loop fine-tunes on).

    Raises:
        TrainError: no curated export yet.
    """
    from ambon_cv.train.starts import TrainError

    folder = root / "data" / "curated" / "yolo" / "images" / "train"
    if params.replay and not folder.is_dir():
        raise TrainError(f"{folder} is missing: run the curate stage first (dvc repro curate)")
    images = sorted(folder.iterdir()) if params.replay else []
    rng = np.random.default_rng(params.seed)
    keep = rng.choice(len(images), size=min(params.replay, len(images)), replace=False)
    return [images[i].resolve() for i in sorted(keep.tolist())]


def split(frames: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pool, val): every clip but the last of each camera is the pool, the last is val."""
    last = frames.groupby("camera")["clip"].transform("max")
    return frames[frames["clip"] != last].reset_index(drop=True), frames[frames["clip"] == last]


def _write_yolo(frames: pd.DataFrame, work: Path, folder: Path) -> list[Path]:
    """The frames as a YOLO image folder (ultralytics finds labels/ beside images/)."""
    out = []
    for row in frames.itertuples():
        image = folder / "images" / f"{Path(row.path).stem}.jpg"
        label = folder / "labels" / f"{Path(row.path).stem}.txt"
        image.parent.mkdir(parents=True, exist_ok=True)
        label.parent.mkdir(parents=True, exist_ok=True)
        if not image.exists():
            image.symlink_to((work / row.path).resolve())
        truth = Detections.from_columns(row.boxes, row.classes)
        w, h = row.width, row.height
        label.write_text(
            "".join(
                f"{c} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} "
                f"{(y2 - y1) / h:.6f}\n"
                for (x1, y1, x2, y2), c in zip(truth.xyxy.tolist(), truth.class_id, strict=True)
            )
        )
        out.append(image)
    return out


def _data_yaml(folder: Path, train: list[Path], val: list[Path]) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.txt").write_text("".join(f"{p}\n" for p in train))
    (folder / "val.txt").write_text("".join(f"{p}\n" for p in val))
    spec = folder / "data.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "path": str(folder),
                "train": "train.txt",
                "val": "val.txt",
                "names": dict(enumerate(CLASSES)),
            }
        )
    )
    return spec


def pick(
    strategy: str,
    pool: pd.DataFrame,
    images: list[Path],
    taken: set[int],
    n: int,
    weights: Path,
    params: CurveParams,
    rng: np.random.Generator,
) -> list[int]:
    """`n` more pool rows to label: `random`, or `ranked` as `ambon label rank` ranks (the
    model's least sure boxes, dealt round-robin over camera and time of day; without Brain's
    uniqueness, which this unseen city has no embeddings for)."""
    free = [i for i in range(len(pool)) if i not in taken]
    if strategy == "random":
        return sorted(rng.choice(free, size=min(n, len(free)), replace=False).tolist())
    import cv2

    from ambon_cv.evaluate.detector import Detector

    detector = Detector(weights, None, params.conf)
    found = detector(cv2.imread(str(images[i])) for i in free)
    scores = [box_uncertainty(d.confidence.tolist()) for d in found]
    groups = [(pool.camera[i], pool.time_of_day[i]) for i in free]
    order = interleave(zip(groups, scores, [f"{i:08d}" for i in free], strict=True))
    return [int(i) for i in order[:n]]


def fine_tune(start: Path, data: Path, params: CurveParams, out: Path) -> tuple[Path, float]:
    """The released base fine-tuned on `data`'s train list; (weights, val mAP50)."""
    from ultralytics import YOLO

    from ambon_cv.cores import on_every_core
    from ambon_cv.evaluate.detector import trained_imgsz

    model = on_every_core(YOLO(str(start)))
    imgsz = trained_imgsz(model)
    shutil.rmtree(out, ignore_errors=True)
    model.train(
        data=str(data),
        epochs=params.epochs,
        imgsz=imgsz,
        batch=params.batch,
        lr0=params.lr0,
        warmup_epochs=0,
        freeze=params.freeze or None,
        seed=params.seed,
        deterministic=True,
        workers=0,
        device="cpu",
        amp=False,
        val=False,
        plots=False,
        verbose=False,
        project=str(out.parent),
        name=out.name,
        exist_ok=True,
    )
    weights = out / "weights" / "last.pt"
    return weights, evaluate(weights, data, imgsz)


def evaluate(weights: Path, data: Path, imgsz: int) -> float:
    from ultralytics import YOLO

    metrics = YOLO(str(weights)).val(
        data=str(data), imgsz=imgsz, batch=16, device="cpu", plots=False, verbose=False
    )
    return float(metrics.box.map50)


def frames_to_match(points: list[CurvePoint]) -> int | None:
    """The fewest labelled frames at which the ranking reaches random's mAP50 at its largest
    size (None: not within the sizes tried).

    >>> pts = [CurvePoint("random", 100, 0.5, 0), CurvePoint("random", 200, 0.6, 0),
    ...        CurvePoint("ranked", 100, 0.61, 0), CurvePoint("ranked", 200, 0.65, 0)]
    >>> frames_to_match(pts)
    100
    """
    random = [p for p in points if p.strategy == "random"]
    if not random:
        return None
    target = max(random, key=lambda p: p.labelled).mAP50
    ranked = sorted((p for p in points if p.strategy == "ranked"), key=lambda p: p.labelled)
    return next((p.labelled for p in ranked if p.mAP50 >= target), None)


def label_curve(
    params: CurveParams, registry: CameraRegistry, root: Path, progress: bool = True
) -> CurveReport:
    """Run the experiment (see the module doc); writes reports/label_curve.{json,png}."""
    from tqdm.auto import tqdm

    from ambon_cv import plots

    work = under_root(params.work_dir, root)
    start = Path(resolve_start(params.start, root, list(CLASSES)))  # the shipped base too
    replay = replay_sample(root, params)
    frames = render(params, registry, work, progress)
    pool, val = split(frames)
    yolo = work / "yolo"
    pool_images = _write_yolo(pool, work, yolo / "pool")
    val_images = _write_yolo(val, work, yolo / "val")
    t = time.perf_counter()
    data = _data_yaml(yolo / "replay-only", replay, val_images)
    _, base = fine_tune(start, data, params, work / "runs" / "replay-only")
    points = [CurvePoint("none", 0, base, round(time.perf_counter() - t, 1))]
    bar = tqdm(total=2 * len(params.sizes), desc="label curve", disable=not progress)
    for strategy in ("ranked", "random"):
        rng = np.random.default_rng(params.seed)
        taken: list[int] = []
        weights = start
        for n in params.sizes:
            t = time.perf_counter()
            taken += pick(
                strategy, pool, pool_images, set(taken), n - len(taken), weights, params, rng
            )
            labelled = [pool_images[i] for i in taken]
            data = _data_yaml(yolo / f"{strategy}-{n}", replay + labelled, val_images)
            weights, m = fine_tune(start, data, params, work / "runs" / f"{strategy}-{n}")
            points.append(CurvePoint(strategy, len(taken), m, round(time.perf_counter() - t, 1)))
            bar.update()
    bar.close()
    report = CurveReport(
        points,
        len(pool),
        len(val),
        pool.camera.nunique(),
        params.start,
        len(replay),
        {"ranked": frames_to_match(points)},
    )
    reports = root / "reports"
    write_json(reports / "label_curve.json", {**asdict(report), "params": params.model_dump()})
    plots.save(plots.label_curve(report), reports / "label_curve.png")
    return report
