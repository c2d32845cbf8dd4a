"""Train the detector from scratch on a lent GPU machine for a fixed time budget, and report val
mAP50 (a measurement for the train/evaluate issue; the pipeline's own `ambon train` does the
same with `train.device: auto` on a machine that has the project's environment).

The GPU machine has PyTorch but not this project's environment, and takes at most 64 MiB of
files, so the run is prepared here and carried there:

  1. here:  .venv/bin/python scripts/gpu_train_budget.py prepare     # -> .device/ (git-excluded)
            (street-garbage photos and the synthetic city's curated frames at 320 px, plus the
             ultralytics wheels: python3 -m pip download --no-deps --python-version 3.12
             --only-binary=:all: -d .device/whl ultralytics==8.4.190 ultralytics-thop)
  2. there: pip install --no-deps --target /tmp/site .device/whl/*.whl; PYTHONPATH=/tmp/site
            python3 scripts/gpu_train_budget.py train 0.055 yolo11s.yaml

`train HOURS MODEL [IMGSZ]` trains MODEL (a .yaml: from scratch, nothing downloaded) on each
prepared set for HOURS of GPU time at IMGSZ px (320), validates best.pt on the val split and
writes $OUT/<set>.json and $OUT/<set>.pt. `AMBON_GPU_SETS=curated` prepares the whole curated
export (the train stage's data) instead of the street-garbage and synthetic subsets.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

DATA = Path(".device/data")


def prepare(width: int = 320) -> None:
    import cv2

    shutil.rmtree(DATA, ignore_errors=True)

    def copy(src_img: Path, label: Path, dst: Path, split: str) -> None:
        im = cv2.imread(str(src_img))
        h, w = im.shape[:2]
        im = cv2.resize(im, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
        for kind in ("images", "labels"):
            (dst / kind / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(dst / "images" / split / src_img.name), im, [cv2.IMWRITE_JPEG_QUALITY, 85])
        text = label.read_text() if label.is_file() else ""
        (dst / "labels" / split / f"{src_img.stem}.txt").write_text(text)

    sets = {
        "garbage": (
            Path("../shared/datasets/street-garbage"),
            lambda p: True,
            ["garbage", "garbage_bin", "overflow"],
        ),
        "synthetic": (
            Path("data/curated/yolo"),
            lambda p: p.name.startswith(("pemkot-", "polda-")),
            ["garbage", "garbage_bin", "overflow", "fight", "person"],
        ),
        "curated": (  # everything the train stage sees: the pipeline's own model, on a GPU
            Path("data/curated/yolo"),
            lambda p: True,
            ["garbage", "garbage_bin", "overflow", "fight", "person"],
        ),
    }
    wanted = os.environ.get("AMBON_GPU_SETS", "garbage,synthetic").split(",")
    for name, (src, keep, names) in sets.items():
        if name not in wanted:
            continue
        for split in ("train", "val"):
            for img in sorted((src / "images" / split).glob("*.jpg")):
                if keep(img):
                    copy(img, src / "labels" / split / f"{img.stem}.txt", DATA / name, split)
        (DATA / name / "names.txt").write_text("\n".join(names) + "\n")


def train(hours: float, model: str, imgsz: int = 320) -> None:
    out = Path(os.environ.get("OUT", "/tmp/out"))
    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="0", YOLO_CONFIG_DIR="/tmp/ycfg")
    import matplotlib

    cfg = Path("/tmp/ycfg/Ultralytics")
    cfg.mkdir(parents=True, exist_ok=True)
    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for n in ("Arial.ttf", "Arial.Unicode.ttf"):  # ultralytics downloads these otherwise
        shutil.copy(font, cfg / n)
    from ultralytics import YOLO
    from ultralytics.engine.trainer import BaseTrainer

    # polars (results history in checkpoints) is not on the GPU machine and not needed here
    BaseTrainer.read_results_csv = lambda self: {}
    for name in sorted(p.name for p in DATA.iterdir() if p.is_dir()):
        root = DATA / name
        names = root.joinpath("names.txt").read_text().split()
        data = Path(f"/tmp/{name}.yaml")
        data.write_text(
            json.dumps(
                {
                    "path": str(root.resolve()),
                    "train": "images/train",
                    "val": "images/val",
                    "names": dict(enumerate(names)),
                }
            )
        )
        start = time.time()
        YOLO(model).train(
            data=str(data),
            imgsz=imgsz,
            epochs=400,
            time=hours,
            batch=64,
            workers=14,
            device=0,
            amp=False,
            plots=False,
            cache="ram",
            project="/tmp/runs",
            name=name,
            exist_ok=True,
            verbose=False,
            seed=0,
            patience=1000,
        )
        minutes = (time.time() - start) / 60
        run = Path("/tmp/runs") / name
        epochs = max(0, len((run / "results.csv").read_text().splitlines()) - 1)
        r = YOLO(str(run / "weights" / "best.pt")).val(
            data=str(data), imgsz=imgsz, device=0, plots=False, verbose=False
        )
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run / "weights" / "best.pt", out / f"{name}.pt")  # brought back to evaluate
        result = {
            "run": name,
            "model": model,
            "imgsz": imgsz,
            "train_minutes": round(minutes, 2),
            "epochs": epochs,
            "mAP50": float(r.box.map50),
            "mAP50-95": float(r.box.map),
            "per_class_mAP50": {
                names[int(c)]: float(a)
                for c, a in zip(r.box.ap_class_index, r.box.ap50, strict=True)
            },
        }
        print("RESULT", json.dumps(result), flush=True)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["prepare"]:
        prepare()
    else:
        train(
            float(sys.argv[2]) if len(sys.argv) > 2 else 0.05,
            sys.argv[3] if len(sys.argv) > 3 else "yolo11s.yaml",
            int(sys.argv[4]) if len(sys.argv) > 4 else 320,
        )
