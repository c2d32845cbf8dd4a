"""The synthetic city: ground truth that holds its objects' pixels, aligned with the video,
deterministic for a seed."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from ambon_cv.detections import CLASSES, Detections
from ambon_cv.footage.synth import ClipRenderer, draw_frame, plan_clips

FIGHT = CLASSES.index("fight")


def renderer_for(registry, cfg, camera_id: str) -> ClipRenderer:
    cameras = registry.select(cfg.cameras)
    index = [c.id for c in cameras].index(camera_id)
    plan = next(p for p in plan_clips(cameras, cfg) if p.camera.id == camera_id)
    return ClipRenderer(plan, cfg, index)


def test_every_box_tightly_holds_its_objects_drawn_pixels(registry, tiny_cfg):
    checked = 0
    for camera_id in tiny_cfg.cameras:
        r = renderer_for(registry, tiny_cfg, camera_id)
        for i in range(0, r.n_frames, 4):
            t = i / tiny_cfg.fps
            clean, mask = draw_frame(r.scene, r.actors, t)
            _, mask_again, truth = r.frame(i)
            assert np.array_equal(mask, mask_again)
            # what was drawn on the frame is where the object-id mask says
            changed = (clean != r.scene.plate).any(axis=2)
            near_objects = cv2.dilate((mask > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
            stray = changed & ~near_objects
            stray[:, [0, 1, -2, -1]] = False  # the anti-aliased rim of an object just off-frame
            assert not stray.any(), "pixels drawn outside every object"
            for box, cls, oid in zip(truth.xyxy, truth.class_id, truth.object_id, strict=True):
                if cls == FIGHT:
                    continue
                ys, xs = np.nonzero(mask == oid)
                assert list(box) == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
                assert changed[mask == oid].mean() > 0.9, "the object's pixels are on the frame"
                checked += 1
    assert checked > 50


def test_fight_box_surrounds_the_fighting_group(registry, tiny_cfg):
    r = renderer_for(registry, tiny_cfg, "pemkot-02")
    assert r.fights, "the busy tiny city holds a fight on the Kudamati camera"
    seen = 0
    for i in range(r.n_frames):
        _, _, truth = r.frame(i)
        t = i / tiny_cfg.fps
        for fight in r.fights:
            inside = fight["start_s"] <= t <= fight["end_s"]
            has_box = bool((truth.object_id == fight["id"]).any())
            members = np.isin(truth.object_id, fight["members"])
            if has_box:
                assert inside
                box = truth.xyxy[truth.object_id == fight["id"]][0]
                m = truth.xyxy[members]
                assert list(box) == [m[:, 0].min(), m[:, 1].min(), m[:, 2].max(), m[:, 3].max()]
                seen += 1
            elif inside:
                assert members.sum() < 2  # only when the group is not visible
    assert seen > 0


def test_video_frames_are_the_rendered_frames(tiny_city, registry, tiny_cfg):
    _, clips = tiny_city
    clip = next(c for c in clips if c.camera == "pemkot-04")
    r = renderer_for(registry, tiny_cfg, "pemkot-04")
    with av.open(str(clip.path)) as container:
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(decoded) == r.n_frames == clip.frames
    truth = pd.read_parquet(clip.truth)
    for i in (3, 15, 27):
        image, _, gt = r.frame(i)
        psnr = cv2.PSNR(image, decoded[i])
        assert psnr > 28, f"frame {i}: video differs from the render (PSNR {psnr:.1f})"
        assert psnr > cv2.PSNR(image, decoded[i + 1]), "video and ground truth are out of step"
        row = truth[truth.frame_index == i].iloc[0]
        stored = Detections.from_columns(row.boxes, row.classes, row.object_ids)
        assert np.allclose(stored.xyxy, gt.xyxy) and stored.class_names() == gt.class_names()


def test_ground_truth_holds_every_class_and_incidents(tiny_city):
    out, clips = tiny_city
    classes = set()
    for clip in clips:
        for row in pd.read_parquet(clip.truth).itertuples():
            classes.update(row.classes)
    assert classes == set(CLASSES)
    incidents = pd.read_parquet(out / "incidents.parquet")
    assert list(incidents.columns) == ["camera", "clip", "kind", "start_s", "end_s", "object_id"]
    assert set(incidents.kind) == {"garbage", "overflow", "fight"}
    assert set(incidents[incidents.kind == "fight"].camera) <= {"pemkot-02", "pemkot-04"}
    assert (incidents.end_s >= incidents.start_s).all()


def test_same_seed_same_city_other_seed_other_city(registry, tiny_cfg):
    a = renderer_for(registry, tiny_cfg, "pemkot-04")
    b = renderer_for(registry, tiny_cfg, "pemkot-04")
    c = renderer_for(registry, tiny_cfg.model_copy(update={"seed": 12}), "pemkot-04")
    for i in (0, 10, 20):
        fa, _, ta = a.frame(i)
        fb, _, tb = b.frame(i)
        assert np.array_equal(fa, fb) and np.array_equal(ta.xyxy, tb.xyxy)
    fa, _, ta = a.frame(10)
    fc, _, tc = c.frame(10)
    assert not np.array_equal(fa, fc)
    assert len(ta) != len(tc) or not np.array_equal(ta.xyxy, tc.xyxy)


@pytest.mark.parametrize("light", ["day", "dusk", "night"])
def test_light_conditions_render(registry, tiny_cfg, light):
    cfg = tiny_cfg.model_copy(
        update={
            "night_fraction": float(light == "night"),
            "dusk_fraction": float(light == "dusk"),
            "rain_fraction": 1.0,
        }
    )
    r = renderer_for(registry, cfg, "pemkot-01")
    assert r.plan.light == light and r.plan.rain
    image, _, _ = r.frame(0)
    saturation = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)[..., 1].mean()
    b, _, red = (image[..., k].astype(float).mean() for k in range(3))
    if light == "night":  # the IR look: grey, lamps glowing
        assert saturation < 3
    elif light == "dusk":  # warm and dim
        assert red - b > 15
    else:
        assert saturation > 20
