"""What a detector costs in the live load: OpenVINO INT8 ms per frame of two models, each
exported the way `ambon export` does (NNCF, calibrated on train frames), timed alternately in one
process through the benchmark's backend (one thread), at batch 1 and 8, least of three passes;
also with OpenVINO's own default precision (bfloat16 on a CPU that has it) beside the FP32 the
workbench pins. Prints the CPU beside the figures.

Run: .venv/bin/python benchmarks/int8_cost.py REFERENCE.pt CANDIDATE.pt
     e.g. runs/starts/yolo11n.yaml/runs/train/ambon/weights/best.pt models/best.pt
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np

from ambon_cv.export.formats import FORMATS
from ambon_cv.export.stage import _export_one, calibration_set
from ambon_cv.inference.backends import open_backend
from ambon_cv.machine import cpu_line


class DefaultPrecision:
    """An INT8 export compiled with OpenVINO's defaults (what the workbench does not use)."""

    def __init__(self, folder: Path) -> None:
        import openvino as ov

        core = ov.Core()
        model = core.read_model(next(folder.glob("*.xml")))
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 1}
        self.compiled = core.compile_model(model, "CPU", config)
        self.precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self.compiled(batch)[0]


def int8_export(weights: Path, work: Path, yolo: Path, imgsz: int) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copy2(weights, work / "model.pt")
    calib, _ = calibration_set(yolo, work, 300)
    return _export_one(FORMATS["openvino_int8"], work, work, imgsz, "cpu", calib)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--data", type=Path, default=Path("data/curated/yolo"))
    args = parser.parse_args()
    exports = {
        name: int8_export(w, Path("runs/int8_cost").resolve() / name, args.data, args.imgsz)
        for name, w in (("reference", args.reference), ("candidate", args.candidate))
    }
    runtimes = {n: open_backend(str(p), threads=1) for n, p in exports.items()}
    for n, p in exports.items():
        default = DefaultPrecision(p)
        runtimes[f"{n} ({default.precision} default)"] = default
    print(f"CPU: {cpu_line()}")
    print(f"reference {args.reference}, candidate {args.candidate}, INT8 at {args.imgsz} px")
    for batch in (1, 8):
        x = np.random.rand(batch, 3, args.imgsz, args.imgsz).astype(np.float32)
        best = dict.fromkeys(runtimes, float("inf"))
        for _ in range(3):
            for n, runtime in runtimes.items():
                runtime.infer(x)
                t = time.perf_counter()
                for _ in range(20):
                    runtime.infer(x)
                best[n] = min(best[n], (time.perf_counter() - t) / 20 / batch * 1000)
        ref = best["reference"]
        print(
            f"batch {batch}: "
            + ", ".join(f"{n} {v:.2f} ms/frame ({v / ref:.2f}x)" for n, v in best.items())
        )


if __name__ == "__main__":
    main()
