"""Benchmark: ingesting 20,000 labelled frames into the FiftyOne dataset (target: <= 60 s).

Writes N small generated JPEGs with 5 ground-truth boxes each, then times `write_dataset`
(records -> persistent FiftyOne dataset on the project's mongod) and prints the rate. The
dataset is deleted afterwards.

Run: .venv/bin/python benchmarks/curate_ingest.py [--frames 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ambon_cv.config import load_cameras
from ambon_cv.curate.db import connect
from ambon_cv.curate.records import CurationRecord
from ambon_cv.detections import CLASSES, Detections
from ambon_cv.paths import project_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    args = parser.parse_args()
    registry = load_cameras()
    cameras = [c.id for c in registry.cameras]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        records = []
        for i in range(args.frames):
            path = Path(tmp) / f"f{i:06d}.jpg"
            cv2.imwrite(str(path), rng.integers(0, 255, (36, 64, 3), np.uint8))
            xy = rng.uniform(0, 500, (5, 2))
            boxes = np.hstack([xy, xy + rng.uniform(10, 100, (5, 2))])
            records.append(
                CurationRecord(
                    frame_id=f"bench/{i:06d}",
                    filepath=path,
                    width=640,
                    height=360,
                    camera=cameras[i % len(cameras)],
                    source="synthetic",
                    dataset_tag="bench",
                    clip="bench",
                    time_s=float(i),
                    time_of_day="day",
                    split="train",
                    truth=Detections(boxes, rng.integers(0, len(CLASSES), 5)),
                )
            )
        from ambon_cv.curate.dataset import write_dataset

        fo = connect(project_root())
        name = "bench-ingest"
        if fo.dataset_exists(name):
            fo.delete_dataset(name)
        start = time.perf_counter()
        ds, _ = write_dataset(fo, name, records, registry, progress=True)
        took = time.perf_counter() - start
        boxes = ds.count("ground_truth.detections")
        ds.delete()
    verdict = "PASS" if took <= 60 else "FAIL"
    print(
        f"\ningest: {args.frames} frames with {boxes} boxes in {took:.1f} s = "
        f"{args.frames / took:.0f} frames/s ({verdict}: target 60 s for 20,000)"
    )


if __name__ == "__main__":
    main()
