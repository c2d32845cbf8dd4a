"""The `train` stage: an ultralytics YOLO detector trained on the curated YOLO export.

`train(params, root)` starts from a model `.yaml` (from scratch) or a local `.pt`, fully
offline, logs every epoch's metrics with DVCLive into `dvclive/train/` (so `dvc exp show` and
`dvc plots diff` compare runs), and publishes `models/` (`best.pt`, `last.pt`, `args.yaml`)
and `reports/train.json` (the final metrics). `train(params, root, resume=True)` continues an
interrupted run from its `last.pt`. The run itself lives in `runs/train/` (ultralytics'
working folder, not versioned).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ambon_cv.config import TrainParams
from ambon_cv.contract import StageIO, StageParams, StageResult, stage_result
from ambon_cv.cores import use_cores
from ambon_cv.metrics import write_report
from ambon_cv.train.starts import TrainError, resolve_start

RUN_NAME = "ambon"

__all__ = ["TrainError", "TrainResult", "run", "train"]


@dataclass
class TrainResult:
    metrics: dict[str, float]
    best: Path
    last: Path
    epochs_done: int


def torch_device(requested: str) -> str:
    """`auto` -> the first GPU when there is one, else the CPU; anything else as given."""
    if requested != "auto":
        return requested
    import torch

    return "0" if torch.cuda.is_available() else "cpu"


def dataset_classes(data: Path) -> list[str]:
    """The class names of a YOLO dataset.yaml, in index order."""
    import yaml

    names = yaml.safe_load(data.read_text())["names"]
    return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)


def _cpu_callbacks(threads: int) -> dict:
    """Train fast on a CPU: `threads` threads (0: every core this process may use; ultralytics
    alone sets one fewer than the machine has, which on 2 cores halves the speed) and
    channels-last tensors (measured here: a batch of 16 at 256 px trains 1.4x faster)."""
    import torch

    def use_threads(trainer) -> None:
        if trainer.device.type == "cpu":
            use_cores(threads)

    def channels_last(trainer) -> None:
        if trainer.device.type == "cpu":
            trainer.model.to(memory_format=torch.channels_last)
            if trainer.ema is not None:
                trainer.ema.ema.to(memory_format=torch.channels_last)

    return {
        "on_pretrain_routine_start": use_threads,
        "on_pretrain_routine_end": channels_last,
        "on_val_start": lambda _: use_cores(threads),  # the final validation picks a device anew
    }


def _dvclive_callbacks(folder: Path, resume: bool):
    """Per-epoch metrics to DVCLive (metrics.json + plots/metrics/*.tsv); the last step holds
    the best model's validation."""
    from dvclive import Live

    live = Live(
        dir=str(folder),
        resume=resume,
        save_dvc_exp=False,
        dvcyaml=None,
        report=None,
        monitor_system=False,
    )

    def on_fit_epoch_end(trainer) -> None:
        # one step per epoch; ultralytics' final validation of best.pt comes as step `epochs`
        live.step = trainer.epoch
        values = {
            **trainer.label_loss_items(trainer.tloss, prefix="train"),
            **trainer.metrics,
        }
        for name, value in values.items():
            live.log_metric(name.replace("(B)", ""), float(value))
        live.next_step()

    def on_train_end(trainer) -> None:
        live.end()

    return {"on_fit_epoch_end": on_fit_epoch_end, "on_train_end": on_train_end}


def train(
    params: TrainParams,
    root: Path,
    resume: bool = False,
    callbacks: dict | None = None,
    data: Path | None = None,
) -> TrainResult:
    """Train (or resume) the detector and publish `models/`.

    Args:
        data: the YOLO dataset.yaml; default `data/curated/yolo/dataset.yaml`.
        callbacks: extra ultralytics callbacks by event name (tests interrupt a run this way).

    Raises:
        TrainError: no curated export, a model file that does not exist, nothing to resume.
    """
    from ultralytics import YOLO

    data = data or root / "data" / "curated" / "yolo" / "dataset.yaml"
    if not data.is_file():
        raise TrainError(f"{data} is missing: run the curate stage first (dvc repro curate)")
    runs = root / "runs" / "train"
    last = runs / RUN_NAME / "weights" / "last.pt"
    if resume:
        if not last.is_file():
            raise TrainError(f"nothing to resume: {last} does not exist (start with ambon train)")
        model = YOLO(str(last))
    else:
        shutil.rmtree(runs / RUN_NAME, ignore_errors=True)
        model = YOLO(resolve_start(params.model, root, dataset_classes(data)))
    live_dir = root / "dvclive" / "train"
    for extra in (
        _cpu_callbacks(params.threads),
        _dvclive_callbacks(live_dir, resume),
        callbacks or {},
    ):
        for event, fn in extra.items():
            model.add_callback(event, fn)  # appended: ours and the caller's both run
    aug = params.augment
    args = dict(
        data=str(data),
        epochs=params.epochs,
        **({"time": params.hours} if params.hours else {}),
        imgsz=params.imgsz,
        batch=params.batch,
        seed=params.seed,
        deterministic=True,
        workers=params.workers,
        device=torch_device(params.device),
        amp=False,  # ultralytics' AMP check downloads a model
        patience=params.patience,
        fraction=params.fraction,
        cache=params.cache,
        project=str(runs),
        name=RUN_NAME,
        exist_ok=True,
        plots=True,
        verbose=False,
        mosaic=aug.mosaic,
        fliplr=aug.fliplr,
        scale=aug.scale,
        translate=aug.translate,
        hsv_h=aug.hsv_h,
        hsv_s=aug.hsv_s,
        hsv_v=aug.hsv_v,
        close_mosaic=aug.close_mosaic,
        optimizer=params.optimizer,
        lr0=params.lr0,
        lrf=params.lrf,
        warmup_epochs=params.warmup_epochs,
        **({"freeze": params.freeze} if params.freeze else {}),
        save_period=params.save_period,
    )
    trainer_out = model.train(resume=True) if resume else model.train(**args)
    weights = runs / RUN_NAME / "weights"
    best = weights / "best.pt" if (weights / "best.pt").is_file() else weights / "last.pt"
    metrics = {
        k.replace("(B)", ""): float(v) for k, v in getattr(trainer_out, "results_dict", {}).items()
    }
    return _publish(root, runs / RUN_NAME, best, weights / "last.pt", metrics, params.model)


def _publish(
    root: Path, run: Path, best: Path, last: Path, metrics: dict, start: str
) -> TrainResult:
    """Copy the run's results into models/ (DVC outputs), each through a temporary file; the
    released bases in models/base/ stay as they are."""
    import csv

    out = root / "models"
    out.mkdir(exist_ok=True)
    files = {"best.pt": best, "last.pt": last, "args.yaml": run / "args.yaml"}
    for name, src in files.items():
        if src.is_file():
            tmp = out / f".{name}.tmp"
            shutil.copy2(src, tmp)
            os.replace(tmp, out / name)
    epochs = 0
    if (run / "results.csv").is_file():
        with open(run / "results.csv") as fh:
            epochs = sum(1 for _ in csv.DictReader(fh))
    write_report(root, "train", {**metrics, "epochs": epochs, "start": start})
    return TrainResult(metrics, out / "best.pt", out / "last.pt", epochs)


def run(params: StageParams, io: StageIO, resume: bool = False) -> StageResult:
    """`ambon train`: fine-tune train.model on data/curated/yolo into models/."""
    result = train(params.train, io.root, resume=resume)
    shown = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items() if k.startswith("metrics"))
    details = {**result.metrics, "epochs": result.epochs_done}
    return stage_result(
        "train", details, f"train: {result.epochs_done} epochs; {shown}; weights in models/best.pt"
    )
