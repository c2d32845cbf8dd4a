"""Benchmark: the Label Studio round trip for 1,000 frames against the project's real server.

Starts the server if needed (prints the start time), clones the curated dataset (the real one
is not touched), pushes 1,000 frames to a fresh project, has each task annotated through the
API (accepting the ground-truth boxes, as an annotator accepting good pre-annotations), then
pulls everything back. Prints push and pull rates; deletes the project and the clone.

Run: .venv/bin/python benchmarks/labelstudio_roundtrip.py [--frames 1000]
"""

from __future__ import annotations

import argparse
import time

from ambon_cv.config import load_params
from ambon_cv.curate.db import connect
from ambon_cv.curate.labelstudio import _to_result, find_project, pull, push
from ambon_cv.curate.labelstudio import connect as ls_connect
from ambon_cv.curate.labelstudio_server import server_config, status, up
from ambon_cv.paths import project_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()
    root = project_root()
    params = load_params()
    server = server_config(root)
    start = time.perf_counter()
    up(server)
    print(f"server: {status(server)} (ready after {time.perf_counter() - start:.1f} s)")

    fo = connect(root)
    clone = fo.load_dataset(params.curate.dataset).exists("ground_truth").limit(args.frames)
    ds = clone.clone("bench-label", persistent=False)
    title = f"bench-{int(time.time())}"
    classes = params.curate.classes
    try:
        t = time.perf_counter()
        report = push(ds, server, title, classes)
        push_s = time.perf_counter() - t
        client = ls_connect(server)
        pid = find_project(client, title).id
        by_frame = {s.frame_id: s for s in ds}
        t = time.perf_counter()
        for task in client.tasks.list(project=pid, fields="all"):
            s = by_frame[task.data["frame_id"]]
            result = [
                _to_result(d, s.metadata.width, s.metadata.height, i)
                for i, d in enumerate(s.ground_truth.detections)
                if d.label in classes
            ]
            client.annotations.create(task.id, result=result, lead_time=3.0)
        annotate_s = time.perf_counter() - t
        t = time.perf_counter()
        pulled = pull(ds, server, title, classes, root / ".cache" / "bench-label")
        pull_s = time.perf_counter() - t
    finally:
        project = find_project(ls_connect(server), title)
        if project:
            ls_connect(server).projects.delete(project.id)
        ds.delete()
    print(
        f"push: {report.created} frames in {push_s:.1f} s = {report.created / push_s:.0f} "
        f"frames/s\nannotate (API, not part of the round trip): {annotate_s:.1f} s\n"
        f"pull: {pulled.reviewed} frames, {pulled.boxes} boxes in {pull_s:.1f} s = "
        f"{pulled.reviewed / pull_s:.0f} frames/s"
    )


if __name__ == "__main__":
    main()
