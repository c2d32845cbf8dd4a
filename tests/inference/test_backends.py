"""Every backend, fed by our letterbox and read by our decode, finds the boxes ultralytics'
own predictor finds on the same frames, so the benchmark measures the model it claims to."""

from __future__ import annotations

import numpy as np
import pytest

from ambon_cv.inference.backends import BackendError, open_backend
from ambon_cv.inference.decode import class_map, decode
from ambon_cv.inference.letterbox import letterbox


@pytest.fixture(scope="module")
def exports(project, trained):
    from ambon_cv.export.stage import export

    root = project[0]
    if not (root / "exports" / "model.onnx").exists():
        export(trained, root, progress=False)
    return root


@pytest.mark.slow
@pytest.mark.parametrize(
    "target",
    [
        "models/best.pt",
        "exports/model.onnx",
        "exports/fp16_openvino_model",
        "exports/model.torchscript",
    ],
)
def test_backends_agree_with_ultralytics(exports, target):
    import cv2
    from ultralytics import YOLO

    frames_dir = exports / "data" / "curated" / "yolo" / "images" / "val"
    frames = [cv2.imread(str(p)) for p in sorted(frames_dir.iterdir())[:6]]
    ref = YOLO(str(exports / "models" / "best.pt")).predict(
        frames, imgsz=64, conf=0.05, verbose=False
    )
    found = sum(len(r.boxes) for r in ref)
    assert found >= 3, f"the reference found {found} boxes: a parity check on them proves nothing"
    backend = open_backend(exports / target)
    assert backend.imgsz == 64 and backend.names[3] == "fight"
    batch, placements = letterbox(frames, backend.imgsz)
    ours = decode(backend.infer(batch), placements, class_map(backend.names), conf=0.05)
    fp16 = "fp16" in target
    compared = 0
    for mine, theirs in zip(ours, ref, strict=True):
        want = theirs.boxes.xyxy.numpy()
        assert abs(len(mine) - len(want)) <= (2 if fp16 else 0)
        if len(mine) and len(want) and not fp16:
            assert np.allclose(np.sort(mine.xyxy, 0), np.sort(want, 0), atol=0.5)
            assert np.allclose(
                np.sort(mine.confidence), np.sort(theirs.boxes.conf.numpy()), atol=1e-3
            )
            compared += len(mine)
    assert fp16 or compared == found, "some frames' boxes were never compared"


def test_letterbox_places_boxes_back_in_the_frame():
    frame = np.zeros((360, 640, 3), np.uint8)
    batch, (place,) = letterbox([frame], 256)
    assert batch.shape == (1, 3, 256, 256) and place.scale == 0.4 and place.pad_y == 56
    assert batch[0, :, 0, 0].tolist() == pytest.approx([114 / 255] * 3)
    box = np.array([[0, 56, 256, 200]], np.float32)  # the whole frame's width, in model pixels
    assert place.to_frame(box).tolist() == [[0, 0, 640, 360]]


def test_decode_keeps_the_best_box_per_object_and_maps_classes():
    raw = np.zeros((1, 4 + 5, 3), np.float32)
    raw[0, :4, 0] = [50, 50, 20, 20]
    raw[0, :4, 1] = [51, 50, 20, 20]  # the same object, weaker: suppressed
    raw[0, :4, 2] = [150, 150, 10, 10]
    raw[0, 4 + 3, :] = [0.9, 0.6, 0.0]  # fight
    raw[0, 4 + 0, 2] = 0.8  # garbage
    _, places = letterbox([np.zeros((256, 256, 3), np.uint8)], 256)
    (d,) = decode(raw, places, class_map(["garbage", "garbage_bin", "overflow", "fight", "person"]))
    assert d.class_names() == ["fight", "garbage"] and d.confidence.tolist() == pytest.approx(
        [0.9, 0.8]
    )
    with pytest.raises(ValueError, match="expected"):
        decode(raw[:, :6], places, class_map(["garbage"] * 5))


def test_missing_or_unknown_models_say_what_to_do(tmp_path):
    with pytest.raises(BackendError, match="dvc repro export"):
        open_backend(tmp_path / "model.onnx")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(BackendError, match="not a model"):
        open_backend(tmp_path / "notes.txt")
    with pytest.raises(BackendError, match="name the model"):
        open_backend("triton://127.0.0.1:1")


@pytest.mark.slow
def test_a_tiny_int8_openvino_model_runs_at_any_batch_size(exports):
    """At the tiny project's 64 px, OpenVINO's AMX kernels crashed the whole process on the
    INT8 model's dynamic batch; the backend compiles it per batch size. Run in a child, so that
    a crash fails this test instead of ending the session."""
    import subprocess
    import sys

    script = f"""
import cv2, numpy as np
from pathlib import Path
from ambon_cv.inference.backends import open_backend
from ambon_cv.inference.letterbox import letterbox
root = Path({str(exports)!r})
frames = [cv2.imread(str(p)) for p in sorted((root / "data/curated/yolo/images/val").iterdir())[:6]]
backend = open_backend(root / "exports/int8_openvino_model")
batch, _ = letterbox(frames, backend.imgsz)
assert len(batch) >= 2, "a batch of one proves nothing"
whole = backend.infer(batch)
alone = np.concatenate([backend.infer(batch[k : k + 1]) for k in range(len(batch))])
again = backend.infer(batch)
assert whole.shape == alone.shape, (whole.shape, alone.shape)
assert np.allclose(whole, alone, rtol=1e-4, atol=1e-3), "the batch size changed the output"
assert np.array_equal(whole, again)
print("ran", whole.shape)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    assert run.stdout.startswith("ran (")
