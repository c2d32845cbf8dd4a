"""The `export` stage (`ambon export`): models/best.pt -> exports/.

Every format in params export.formats is exported into a staging folder, evaluated on the val
split by the same code as `ambon evaluate` (its mAP50 drop against the PyTorch model checked
against params export.parity, or against one box's worth of mAP50 where a small val split cannot
resolve the bound: `one_box`), timed side by side with PyTorch eager, packaged for Triton, and
described by a model card. Only when all that succeeded does the staging folder replace
`exports/`; a run whose parity fails leaves the previous `exports/` untouched and keeps its
results in `exports.rejected/` (unless `allow_degraded`).

Writes reports/export.json (DVC metrics), reports/export.md and reports/export/speed.png.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from pathlib import Path

from ambon_cv import plots
from ambon_cv.config import Params
from ambon_cv.contract import StageIO, StageParams, StageResult, stage_result
from ambon_cv.errors import AmbonError
from ambon_cv.evaluate.detector import trained_imgsz
from ambon_cv.evaluate.frame import headline
from ambon_cv.export.card import build_card, card_markdown, format_table
from ambon_cv.export.floor import shortfalls
from ambon_cv.export.formats import FORMATS, Format
from ambon_cv.export.speed import BASELINE, time_backends, with_ratios
from ambon_cv.export.triton import write_repository
from ambon_cv.fights.classifier import FightModel
from ambon_cv.fights.stage import MODEL_DIR as FIGHT_MODEL
from ambon_cv.inference.precision import exact_openvino
from ambon_cv.machine import cpu_line
from ambon_cv.metrics import write_report
from ambon_cv.train.trainer import torch_device

log = logging.getLogger("ambon_cv.export")

ARTIFACT = "ambon-detector"  # the dvc.yaml artifact name; versions are git tags ARTIFACT@vX.Y.Z


class ExportError(AmbonError, RuntimeError):
    """The export cannot proceed or its result is not good enough; the message says why."""


def _say(progress: bool, text: str) -> None:
    if progress:
        print(f"export: {text}", flush=True)
    log.info(text)


def calibration_set(yolo: Path, work: Path, frames: int, seed: int = 0) -> tuple[Path, int]:
    """A dataset yaml whose `train` list holds up to `frames` train-split images (never val)
    for INT8 calibration; returns it and the number of frames it lists."""
    import yaml

    spec = yaml.safe_load((yolo / "dataset.yaml").read_text())
    images = sorted(p for p in (yolo / "images" / "train").iterdir() if p.is_file())
    if not images:
        raise ExportError(f"no train images in {yolo / 'images' / 'train'}: run dvc repro curate")
    chosen = sorted(random.Random(seed).sample(images, min(frames, len(images))))
    listing = work / "calibration.txt"
    listing.write_text("".join(f"{p.resolve()}\n" for p in chosen))
    data = {"path": str(yolo.resolve()), "train": str(listing), "val": str(listing)}
    data["names"] = spec["names"]
    out = work / "calibration.yaml"
    out.write_text(yaml.safe_dump(data))
    return out, len(chosen)


def _export_one(fmt: Format, work: Path, stage: Path, imgsz: int, device: str, calib: Path) -> Path:
    from ultralytics import YOLO

    args = dict(fmt.export_args, imgsz=imgsz, device=device if fmt.needs_gpu else "cpu")
    if fmt.calibrated:
        args.update(data=str(calib), split="train")
    if fmt.needs_gpu:
        args["batch"] = 16
    with exact_openvino():  # INT8 calibration statistics in full precision too
        made = Path(YOLO(str(work / "model.pt")).export(**args))
    target = stage / fmt.target
    shutil.move(str(made if made.is_absolute() else work / made.name), target)
    return target


def _unsupported(fmt: Format, gpu: bool) -> str | None:
    if fmt.needs_gpu and not gpu:
        return "no GPU on this machine"
    if fmt.needs_gpu:
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            return "TensorRT is not installed (pip install tensorrt on the GPU machine)"
    return None


def export(params: Params, root: Path, allow_degraded: bool = False, progress: bool = True) -> dict:
    """Run the stage; returns the report written to reports/export.json."""
    weights = root / "models" / "best.pt"
    if not weights.exists():
        raise ExportError(f"no trained model at {weights}: run the train stage (dvc repro train)")
    yolo = root / "data" / "curated" / "yolo"
    if not (yolo / "dataset.yaml").exists():
        raise ExportError(f"no curated dataset at {yolo}: run the curate stage (dvc repro curate)")
    device = torch_device("auto")
    stage = root / "exports.tmp"
    shutil.rmtree(stage, ignore_errors=True)
    work = stage / ".work"
    work.mkdir(parents=True)
    shutil.copy2(weights, work / "model.pt")
    try:
        return _run(params, root, stage, work, yolo, device, allow_degraded, progress)
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # gone already when the run got through


def _run(
    params: Params,
    root: Path,
    stage: Path,
    work: Path,
    yolo: Path,
    device: str,
    allow_degraded: bool,
    progress: bool,
) -> dict:
    from ultralytics import YOLO

    p = params.export
    gpu = device != "cpu"
    started = time.perf_counter()
    model = YOLO(str(work / "model.pt"))  # its class names, training args and size, loaded once
    imgsz = trained_imgsz(model)  # every format takes the input the model was trained on

    calib, count = calibration_set(yolo, work, p.calibration_frames)
    if count < p.calibration_frames and any(FORMATS[f].calibrated for f in p.formats):
        _say(
            True,
            f"WARNING: only {count} train frames for INT8 calibration, fewer than "
            f"export.calibration_frames = {p.calibration_frames}; INT8 accuracy may suffer",
        )

    formats: dict[str, dict] = {}
    built: dict[str, Path] = {}
    for name in p.formats:
        fmt = FORMATS[name]
        reason = _unsupported(fmt, gpu)
        if reason:
            _say(progress, f"{name}: skipped ({reason})")
            formats[name] = {"status": "skipped", "reason": reason, "precision": fmt.precision}
            continue
        t = time.perf_counter()
        try:
            built[name] = _export_one(fmt, work, stage, imgsz, device, calib)
        except Exception as exc:  # an exporter's own error: report it, keep the others
            raise ExportError(f"exporting {name} failed: {type(exc).__name__}: {exc}") from exc
        formats[name] = {
            "status": "built",
            "precision": fmt.precision,
            "path": f"exports/{fmt.target}",
            "export_s": round(time.perf_counter() - t, 1),
        }
        _say(progress, f"{name}: built in {formats[name]['export_s']} s")

    # Parity: the same validator as `ambon evaluate`, on the same val split, for every format.
    data = yolo / "dataset.yaml"
    base = headline(work / "model.pt", data, imgsz, device, None, work)
    reference = {"mAP50": base["mAP50"], "mAP50-95": base["mAP50-95"]}
    _say(progress, f"pytorch: val mAP50 {base['mAP50']:.4f}")
    judged = judged_classes(base["per_class"], p.parity.classes)
    step = one_box({c: base["per_class"][c] for c in judged})
    if built and step > min(getattr(p.parity, FORMATS[n].precision) for n in built):
        _say(
            True,
            f"WARNING: this val split is too small to check the parity bounds exactly: one box "
            f"of each class found or missed moves mAP50 by {step:.4f}, so a drop is judged "
            "against that where it is the larger (add val frames, e.g. the real data, for the "
            "full check)",
        )
    failed = []
    for name, path in built.items():
        fmt = FORMATS[name]
        m = headline(path, data, imgsz, device if fmt.needs_gpu else "cpu", None, work)
        drop = (
            mean_ap50(base["per_class"], judged) - mean_ap50(m["per_class"], judged)
            if judged
            else base["mAP50"] - m["mAP50"]  # no judged class has val boxes: the whole mAP50
        )
        bound = getattr(p.parity, fmt.precision)
        tolerance = round(max(bound, step), 4)
        ok = drop <= tolerance + 1e-9
        formats[name].update(
            mAP50=round(m["mAP50"], 4),
            drop=round(drop, 4),
            bound=bound,
            tolerance=tolerance,
            class_drops={
                c: round(
                    base["per_class"][c]["mAP50"] - m["per_class"].get(c, {}).get("mAP50", 0.0), 4
                )
                for c in base["per_class"]
            },
            status="passed" if ok else "failed",
        )
        if not ok:
            formats[name]["reason"] = f"mAP50 drop {drop:.4f} > bound {tolerance}"
            failed.append(name)
        _say(
            progress,
            f"{name}: val mAP50 {m['mAP50']:.4f} (drop {drop:+.4f}, bound {tolerance})",
        )

    # Speed, side by side, on real val frames.
    speed = _speed(work / "model.pt", built, yolo, p, imgsz, device, progress)

    triton_dir = None
    if "onnx" in built:
        triton_dir = write_repository(built["onnx"], stage / "triton", p.triton, imgsz, model.names)

    fight_model = root / FIGHT_MODEL
    if fight_model.is_dir():  # the real-fight clip classifier (or why there is none) ships too
        shutil.copytree(fight_model, stage / "fight-clips")

    report = {
        "version": p.version,
        "artifact": ARTIFACT,
        "imgsz": imgsz,
        "pytorch": {k: round(v, 4) for k, v in reference.items()},
        "one_box": round(step, 4),
        "parity_classes": judged,
        "formats": formats,
        "speed": speed,
        "calibration_frames": count,
        "triton": str(triton_dir.relative_to(stage)) if triton_dir else None,
        "fight_clips": "fight-clips" if FightModel.exists(fight_model) else None,
        "device": device,
        "machine": cpu_line(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    int8 = speed.get("openvino_int8", {})
    best_batch = max((int(b) for b in int8), default=None)
    if best_batch:
        report["openvino_int8_x_pytorch"] = int8[str(best_batch)].get("x_pytorch")

    evaluation_file = root / "reports" / "evaluate.json"
    evaluation = json.loads(evaluation_file.read_text()) if evaluation_file.exists() else {}
    below = shortfalls(evaluation, p.floor)
    report["quality"] = {"meets_floor": not below, "below": below, "floor": p.floor.model_dump()}
    if below:
        _say(
            True,
            "WARNING: below the quality floor (export publish refuses it): " + "; ".join(below),
        )
    # the card records the settings this stage declares, and how the weights were trained as
    # the weights file itself says
    classes = list(model.names.values())
    args = (getattr(model, "ckpt", None) or {}).get("train_args", {})
    training = {k: args[k] for k in TRAINING_KEYS if k in args}
    start = Path(str(training.get("model", "")))
    if start.is_absolute() and start.is_relative_to(root.resolve()):  # no machine's path
        training["model"] = str(start.relative_to(root.resolve()))
    card = build_card(
        p.version, {"export": p.model_dump()}, evaluation, report, root, classes, training
    )
    (stage / "model-card.json").write_text(json.dumps(card, indent=2, default=str))
    (stage / "model-card.md").write_text(card_markdown(card))
    shutil.rmtree(work)

    rejected = bool(failed) and not allow_degraded
    _publish(stage, root / ("exports.rejected" if rejected else "exports"))
    _write_reports(report, root, rejected)
    if rejected:
        raise ExportError(
            f"parity failed for {', '.join(failed)} (see reports/export.md); exports/ was left "
            "as it was and this run is in exports.rejected/. Rerun with --allow-degraded to "
            "publish anyway."
        )
    return report


def _speed(
    pt: Path, built: dict[str, Path], yolo: Path, p, imgsz: int, device: str, progress: bool
) -> dict:
    import cv2

    from ambon_cv.inference.backends import open_backend
    from ambon_cv.inference.letterbox import letterbox

    frames = sorted((yolo / "images" / "val").iterdir())[: max(p.speed.batches) * 4]
    inputs, _ = letterbox([cv2.imread(str(f)) for f in frames], imgsz)
    threads = p.speed.threads or None
    backends = {BASELINE: open_backend(pt, device, threads)}
    for name, path in built.items():
        backends[name] = open_backend(path, device, threads)
    table = with_ratios(
        time_backends(backends, inputs, p.speed.batches, p.speed.seconds, progress=progress)
    )
    for b in backends.values():
        b.close()
    return {name: {str(k): v for k, v in cells.items()} for name, cells in table.items()}


# what the model card says of how the weights were trained (from the weights file itself)
TRAINING_KEYS = ("model", "epochs", "imgsz", "batch", "optimizer", "lr0", "freeze", "seed", "time")


def judged_classes(per_class: dict, wanted: list[str]) -> list[str]:
    """The val classes the parity drop is taken over: `wanted` (export.parity.classes) among
    those with val boxes (the ones `headline` lists), or all of those when it is empty."""
    return [c for c in per_class if c in wanted] if wanted else list(per_class)


def mean_ap50(per_class: dict, classes: list[str]) -> float:
    """mAP50 over `classes` (a class a format no longer finds counts as 0)."""
    return sum(per_class.get(c, {}).get("mAP50", 0.0) for c in classes) / len(classes)


def one_box(per_class: dict) -> float:
    """How much one ground-truth box moves mAP50 on this val split: found or missed, it moves
    its class's AP by about 1 / the class's boxes, and mAP50 by the mean of that over the
    classes. A parity drop below it cannot be told from one box's score crossing another's
    (17 fight boxes on a synthetic-only split: 0.012 from that class alone).

    Example:
        >>> one_box({"garbage": {"instances": 100}, "fight": {"instances": 20}})
        0.03
    """
    counts = [c.get("instances") or 0 for c in per_class.values()]
    counts = [n for n in counts if n > 0]
    return round(sum(1 / n for n in counts) / len(counts), 6) if counts else 0.0


def _publish(stage: Path, target: Path) -> None:
    """Move the finished staging folder into place; the old one goes only once it has."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    stage.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _write_reports(report: dict, root: Path, rejected: bool) -> None:
    reports = root / "reports"
    (reports / "export").mkdir(parents=True, exist_ok=True)
    plots.save(plots.formats(report), reports / "export" / "speed.png")
    write_report(root, "export", report)
    lines = [
        f"# Export of models/best.pt as {ARTIFACT} v{report['version']}",
        "",
        "REJECTED: a format failed its parity bound; exports/ was not replaced."
        if rejected
        else "All built formats are in `exports/`.",
        "",
        "Quality floor (export.floor): "
        + (
            "met."
            if not report["quality"]["below"]
            else "BELOW, `ambon export publish` refuses it: "
            + "; ".join(report["quality"]["below"])
        ),
        "",
        f"PyTorch val mAP50 {report['pytorch']['mAP50']:.4f}; INT8 calibrated on "
        f"{report['calibration_frames']} train frames; device {report['device']}.",
        "",
        *format_table(report["formats"], report["speed"]),
        "",
        "Speed: median call time per batch, formats timed in turns in one run; ratios are "
        "throughput over PyTorch eager at the same batch size. Plot: `reports/export/speed.png`.",
        f"Measured on {report.get('machine', 'n/a')}.",
        "",
        f"Triton model repository: `exports/{report['triton']}`." if report["triton"] else "",
        "Model card: `exports/model-card.md`.",
        "Real-fight clip classifier: `exports/fight-clips/`." if report.get("fight_clips") else "",
        "",
    ]
    (reports / "export.md").write_text("\n".join(lines))


def run(
    params: StageParams,
    io: StageIO,
    action: str = "run",
    allow_degraded: bool = False,
    allow_weak: bool = False,
    version: str | None = None,
) -> StageResult:
    """`ambon export`: every format of models/best.pt into exports/; with `publish`, tag the
    committed export as a release."""
    if action == "publish":
        from ambon_cv.export.publish import publish

        tag = publish(io.root, version or params.export.version, allow_weak=allow_weak)
        return StageResult(
            "export",
            [f"export: published {tag}; push it with git push origin {tag} (and dvc push)"],
        )
    r = export(params, io.root, allow_degraded=allow_degraded, progress=io.progress)
    return stage_result(
        "export",
        r,
        "export: "
        + ", ".join(f"{k} {v['status']}" for k, v in r["formats"].items())
        + f"; OpenVINO INT8 {r.get('openvino_int8_x_pytorch') or 'n/a'}x PyTorch throughput;"
        " report in reports/export.md, model card in exports/model-card.md",
    )
