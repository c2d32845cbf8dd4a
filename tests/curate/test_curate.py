"""The curate stage against a real mongod and FiftyOne: synthetic and real frames in one
dataset, views, YOLO export round trip, updates that keep human labels, bad inputs, the App
in a real headless browser."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ambon_cv.curate.records import CurationInputError
from ambon_cv.services import free_port

from ..conftest import ROOT, frames_table, run


def test_one_dataset_for_synthetic_and_real_frames(project, registry):
    report, ds = run(project, registry, "t-build")
    root = project[0]
    n_frames = len(frames_table(root))
    assert report.per_source["synthetic-city"] == n_frames
    assert report.per_source["street-garbage"] == 12
    assert report.per_source["fights"] > 12
    assert len(ds) == report.samples == n_frames + 12 + report.per_source["fights"]
    s = ds.match({"camera": "pemkot-02"}).first()
    assert s.owner == "Pemkot Ambon" and "Lorong Farmasi" in s.place and s.kecamatan == "Nusaniwe"
    assert s.time_of_day in {"day", "dusk", "night"} and s.source == "synthetic"
    assert s.timestamp is not None and s.split in {"train", "val", "buffer"}
    fight_frames = ds.match_tags("fights")
    assert set(fight_frames.distinct("clip_label.label")) == {"fight", "no_fight"}
    # clips of one recording stay on one side
    for group in fight_frames.distinct("group"):
        assert len(fight_frames.match({"group": group}).distinct("split")) == 1
    assert set(ds.list_saved_views()) >= {"fights", "garbage", "night", "unreviewed", "val"}
    assert len(ds.load_saved_view("fights")) > 0
    assert len(ds.load_saved_view("unreviewed")) == len(ds)
    assert "leak" in (root / "reports" / "curate.md").read_text()
    assert report.closest_val_train_gap_s > 1.0
    assert len(ds.first().embedding) > 100 and ds.has_sample_field("uniqueness")


def test_yolo_export_round_trips_boxes_exactly(project, registry):
    report, ds = run(project, registry, "t-export")
    root, fo, _ = project
    export = root / "data" / "curated" / "yolo"
    spec = (export / "dataset.yaml").read_text()
    assert "garbage_bin" in spec and "path:" not in spec
    for split in ("train", "val"):
        back = fo.Dataset.from_dir(
            dataset_dir=str(export),
            dataset_type=fo.types.YOLOv5Dataset,
            split=split,
            label_field="gt",
        )
        assert len(back) == report.exported[split]
        by_name = {Path(s.filepath).name: s for s in back}
        for sample in ds.match({"split": split}).exists("ground_truth"):
            name = Path(sample.filepath).name
            if name not in by_name:
                continue

            def boxes(dets, w=sample.metadata.width, h=sample.metadata.height):
                rows = sorted((d.label, *(np.array(d.bounding_box) * [w, h, w, h])) for d in dets)
                return [r[0] for r in rows], np.array([r[1:] for r in rows]).reshape(-1, 4)

            labels_a, px_a = boxes(sample.ground_truth.detections)
            labels_b, px_b = boxes(by_name[name].gt.detections if by_name[name].gt else [])
            assert labels_a == labels_b, name
            assert np.abs(px_a - px_b).max(initial=0) < 0.01, f"{name}: boxes moved (pixels)"
        back.delete()


def test_rerun_updates_in_place_and_never_overwrites_a_human_label(project, registry):
    from fiftyone import ViewField as F

    _, ds = run(project, registry, "t-update")
    first_count = len(ds)
    sample = ds.match(F("source") == "synthetic").exists("ground_truth").first()
    human = sample.ground_truth.detections[:1]
    sample.ground_truth.detections = human
    sample.tags.append("reviewed")
    sample.save()
    report, ds = run(project, registry, "t-update")
    assert len(ds) == first_count and report.added == 0 and report.updated == first_count
    again = ds[sample.filepath]
    assert len(again.ground_truth.detections) == 1, "a reviewed label was overwritten"
    assert report.kept_reviewed == 1


def test_rerun_with_no_real_data_updates_in_place(project, registry):
    """With no real folder there is no clip label anywhere: a second curate of the same
    dataset must still update it (FiftyOne cannot type a new field from Nones alone)."""
    report, ds = run(project, registry, "t-synthetic-only", real=[])
    assert "clip_label" not in ds.get_field_schema() and report.added == len(ds)
    report, again = run(project, registry, "t-synthetic-only", real=[])
    assert report.added == 0 and report.updated == len(again) == len(ds)


def test_missing_image_is_skipped_and_reported(project, registry, tmp_path):
    root = project[0]
    table = frames_table(root)
    missing = root / table.path.iloc[0]
    moved = tmp_path / "moved.jpg"
    shutil.move(missing, moved)
    try:
        report, ds = run(project, registry, "t-missing")
    finally:
        shutil.move(moved, missing)
    assert report.missing_files == [str(missing)]
    assert len(ds.match({"frame_id": table.frame_id.iloc[0]})) == 0


def test_label_outside_the_image_is_clipped_and_counted(project, registry):
    root = project[0]
    table = frames_table(root).copy()
    row = table[table.boxes.notna()].index[0]
    boxes = [list(b) for b in table.at[row, "boxes"]]
    boxes[0] = [-30.0, -10.0, 40.0, 50.0]
    table.at[row, "boxes"] = boxes
    report, ds = run(project, registry, "t-clip", frames=table)
    assert report.clipped_boxes == 1
    det = ds.match({"frame_id": table.at[row, "frame_id"]}).first().ground_truth.detections
    assert min(min(d.bounding_box[:2]) for d in det) >= 0


def test_unknown_class_names_file_and_line_and_loses_nothing(project, registry):
    _, fo, real = project
    _, ds = run(project, registry, "t-badclass")
    before = len(ds)
    label = next((Path(real[0].path) / "labels" / "train").glob("*.txt"))
    original = label.read_text()
    label.write_text(original.rstrip("\n") + "\n7 0.5 0.5 0.1 0.1\n")
    try:
        with pytest.raises(CurationInputError, match=rf"{label.name}:\d+: class 7 is not in"):
            run(project, registry, "t-badclass")
    finally:
        label.write_text(original)
    assert len(fo.load_dataset("t-badclass")) == before


def test_duplicate_frame_ids_are_refused(project, registry):
    table = frames_table(project[0])
    doubled = pd.concat([table, table.iloc[:2]])
    with pytest.raises(CurationInputError, match="appear more than once"):
        run(project, registry, "t-dups", frames=doubled)


def test_app_renders_the_dataset_in_headless_chromium(project, registry):
    chromium = shutil.which("chromium")
    assert chromium, "make setup installs Debian's chromium for this test"
    root = project[0]
    run(project, registry, "t-app")
    port = free_port()
    code = (
        "import sys; from ambon_cv.curate import app; "
        "sys.exit(app.launch('t-app', 'fights', int(sys.argv[1])))"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code, str(port)],
        env={**os.environ, "AMBON_ROOT": str(root)},  # the test project, its mongod
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the App did not start: {server.stdout.read() if server.poll() else ''}")
        reports = ROOT / "reports"
        reports.mkdir(exist_ok=True)
        shot = reports / "app-fights.png"
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,900",
            "--virtual-time-budget=20000",
        ]
        url = f"http://127.0.0.1:{port}/datasets/t-app?view=fights"
        for _ in range(3):  # the App's first answer for a dataset can outlast the
            # browser's virtual time on a busy 2-core machine (seen once in a full run)
            dom = subprocess.run(
                [chromium, *flags, f"--user-data-dir={root / 'chromium-a'}", "--dump-dom", url],
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
            if "t-app" in dom and dom.count("<canvas") >= 4:
                break
        subprocess.run(
            [
                chromium,
                *flags,
                f"--user-data-dir={root / 'chromium-b'}",
                f"--screenshot={shot}",
                url,
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
    finally:
        server.terminate()
        server.wait(20)
    assert "t-app" in dom and "ground_truth" in dom and "kecamatan" in dom
    assert dom.count("<canvas") >= 4, "the sample grid did not render"
    image = cv2.imread(str(shot))
    grid = image[150:880, 320:1380]
    assert grid.std() > 20, "the screenshot's sample grid is blank"


def test_real_folders_are_found_under_real_root_and_a_missing_one_is_skipped(project, tmp_path):
    """curate.real names folders under real.root: with the folder there its photos are
    curated; with real.root pointing nowhere the synthetic frames alone are, and the report
    says what was skipped and how to add it."""
    from ambon_cv.config import CurateParams, RealParams, RealSet
    from ambon_cv.curate.dataset import load_records
    from ambon_cv.curate.records import LoadStats

    root, _, real = project
    photos = Path(real[0].path)
    params = CurateParams(real=[RealSet(name="street-garbage", kind="yolo", path=photos.name)])
    frames = frames_table(root)
    here, gone = LoadStats(), LoadStats()
    found = load_records(params, frames, root, here, False, RealParams(root=str(photos.parent)))
    alone = load_records(params, frames, root, gone, False, RealParams(root=str(tmp_path / "no")))
    assert here.real_skipped == [] and len(found) > len(alone) == len(frames)
    assert len(gone.real_skipped) == 1
    assert "curate.real 'street-garbage'" in gone.real_skipped[0]
    assert str(tmp_path / "no" / photos.name) in gone.real_skipped[0]
    assert "real.root" in gone.real_skipped[0]
