"""Frames: each strategy keeps the frames it promises, near-duplicates go, ground truth and
unique names come along, a broken clip costs only its own frames."""

from __future__ import annotations

import shutil

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from ambon_cv.config import FootageParams, FrameDedup, FramesParams
from ambon_cv.detections import Detections
from ambon_cv.footage.pull import pull_footage
from ambon_cv.frames.build import FRAME_COLUMNS, build_frames
from ambon_cv.frames.sample import NearDuplicates, dhash, sample_clip


@pytest.fixture(scope="module")
def footage(tmp_path_factory, registry, tiny_cfg):
    root = tmp_path_factory.mktemp("project")
    p = FootageParams(synthetic=tiny_cfg)
    report = pull_footage(p, registry, root / "data" / "footage", root, progress=False)
    return root, report.manifest


def clip_path(footage, camera="pemkot-04"):
    root, manifest = footage
    return root / manifest[manifest.camera == camera].path.iloc[0]


def test_fixed_rate_keeps_one_frame_per_period(footage):
    frames = list(sample_clip(clip_path(footage), "fixed_rate", rate_fps=1.0))
    assert [f.index for f in frames] == [0, 5, 10, 15, 20, 25, 30, 35]
    frames = list(sample_clip(clip_path(footage), "fixed_rate", rate_fps=2.5))
    assert [f.index for f in frames] == list(range(0, 40, 2))


def test_luma_frames_are_the_grey_of_the_colour_ones(footage):
    """What the fight analytic reads: the Y plane as decoded, the same frames as in colour."""
    bgr = list(sample_clip(clip_path(footage), "fixed_rate", rate_fps=1.0))
    grey = list(sample_clip(clip_path(footage), "fixed_rate", rate_fps=1.0, colour="luma"))
    assert [f.index for f in grey] == [f.index for f in bgr]
    for a, b in zip(bgr, grey, strict=True):
        assert b.image.shape == a.image.shape[:2] and b.image.dtype == np.uint8
        # BT.601 limited-range luma against OpenCV's full-range grey of the converted frame
        converted = cv2.cvtColor(a.image, cv2.COLOR_BGR2GRAY).astype(float)
        assert np.corrcoef(converted.ravel(), b.image.ravel().astype(float))[0, 1] > 0.99
    with pytest.raises(ValueError, match="colour"):
        next(sample_clip(clip_path(footage), colour="rgb"))


def test_keyframes_only_decodes_keyframes(footage):
    frames = list(sample_clip(clip_path(footage), "keyframes"))
    assert [f.index for f in frames] == [0, 10, 20, 30]  # a keyframe every 2 s at 5 fps
    assert all(f.keyframe for f in frames)


def test_scene_change_keeps_the_first_and_the_changes(tmp_path):
    path = tmp_path / "cuts.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 128, 96, "yuv420p"
        for i in range(30):
            level = [30, 200, 90][i // 10]  # three still shots, cut at frames 10 and 20
            img = np.full((96, 128, 3), level, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    frames = list(sample_clip(path, "scene_change", scene_threshold=0.1))
    assert [f.index for f in frames] == [0, 10, 20]


def test_near_duplicates_are_per_camera():
    rng = np.random.default_rng(0)
    street = rng.integers(0, 255, (180, 320, 3), np.uint8)
    noisy = cv2.add(street, rng.integers(0, 6, street.shape, np.uint8))
    other = rng.integers(0, 255, (180, 320, 3), np.uint8)
    d = NearDuplicates(max_distance=12)
    assert not d.is_duplicate("cam-a", dhash(street))
    assert d.is_duplicate("cam-a", dhash(noisy))
    assert not d.is_duplicate("cam-b", dhash(noisy))  # the same view on another camera stays
    assert not d.is_duplicate("cam-a", dhash(other))


def test_frames_table_carries_truth_and_unique_names(footage, tiny_cfg):
    root, manifest = footage
    out = root / "data" / "frames"
    params = FramesParams(rate_fps=1.0, dedup=FrameDedup(enabled=False))
    report = build_frames(params, manifest, out, root, workers=1, progress=False)
    t = pd.read_parquet(out / "frames.parquet")
    assert list(t.columns) == list(FRAME_COLUMNS)
    assert len(t) == 3 * 8 and t.frame_id.is_unique
    names = t.path.map(lambda p: p.rsplit("/", 1)[1])
    assert names.is_unique, "JPEG names must be unique across cameras (Label Studio exports)"
    assert (t.source == "synthetic").all() and t.timestamp.notna().all()
    row = t[(t.camera == "pemkot-04") & (t.frame_index == 15)].iloc[0]
    truth = pd.read_parquet(root / manifest[manifest.camera == "pemkot-04"].truth.iloc[0])
    gt = truth[truth.frame_index == 15].iloc[0]
    a = Detections.from_columns(row.boxes, row.classes)
    b = Detections.from_columns(gt.boxes, gt.classes)
    assert np.array_equal(a.xyxy, b.xyxy) and a.class_names() == b.class_names()
    image = cv2.imread(str(root / row.path))
    assert image.shape == (tiny_cfg.height, tiny_cfg.width, 3)
    assert sum(s["kept"] for s in report.per_camera.values()) == len(t)


def test_dedup_drops_a_still_camera(tmp_path, footage):
    root, manifest = footage
    still = root / "still.mp4"
    with av.open(str(still), "w") as c:
        s = c.add_stream("libx264", rate=5)
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        base = np.random.default_rng(1).integers(0, 255, (96, 160, 3), np.uint8)
        for _ in range(40):
            for p in s.encode(av.VideoFrame.from_ndarray(base, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    row = manifest.iloc[0].to_dict() | {
        "camera": "quiet-cam",
        "clip": "quiet-cam/still.mp4",
        "path": "still.mp4",
        "truth": None,
    }
    report = build_frames(
        FramesParams(), pd.DataFrame([row]), root / "frames-still", root, workers=1, progress=False
    )
    stats = report.per_camera["quiet-cam"]
    assert (stats["sampled"], stats["kept"], stats["duplicates"]) == (8, 1, 7)


def test_a_broken_clip_is_reported_and_the_others_go_on(footage):
    root, manifest = footage
    broken = root / "broken.mp4"
    data = clip_path(footage, "pemkot-02").read_bytes()
    broken.write_bytes(data[: len(data) // 3])  # the file was cut after the manifest was made
    rows = manifest.to_dict("records")
    rows.append(
        rows[1]
        | {
            "camera": "pemkot-02",
            "clip": "pemkot-02/broken.mp4",
            "path": "broken.mp4",
            "truth": None,
            "start_time": None,
        }
    )
    out = root / "frames-broken"
    report = build_frames(
        FramesParams(dedup=FrameDedup(enabled=False)),
        pd.DataFrame(rows),
        out,
        root,
        workers=1,
        progress=False,
    )
    assert len(report.errors) == 1 and "broken.mp4" in report.errors[0]
    assert "broken.mp4" in report.summary()
    assert set(report.table.camera) == {"pemkot-01", "pemkot-02", "pemkot-04"}
    assert len(report.table) == 3 * 8
    shutil.rmtree(out)
