"""Offline-safe runtime: switches are on after `import ambon_cv`, and a real train + export
tries no connection beyond loopback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import ambon_cv  # noqa: F401  (applies the offline switches)
from ambon_cv.offline import OFFLINE_ENV, ULTRALYTICS_SETTINGS, ultralytics_config_dir

from .conftest import tiny_yolo_dataset


def test_switches_are_set_on_import():
    for key in OFFLINE_ENV:
        assert key in os.environ, key
    assert os.environ["YOLO_OFFLINE"] == "1"
    folder = ultralytics_config_dir()
    assert (folder / "Arial.ttf").stat().st_size > 100_000
    assert (folder / "Arial.Unicode.ttf").is_file()
    settings = json.loads((folder / "settings.json").read_text())
    for key, value in ULTRALYTICS_SETTINGS.items():
        assert settings[key] == value, key
    assert (Path.home() / "intel" / "openvino_telemetry").read_text().strip() == "0"


def test_guard_blocks_and_records_outbound(network_attempts):
    import socket

    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("192.0.2.1", 80))
    with pytest.raises(socket.gaierror):
        socket.create_connection(("example.org", 80), timeout=1)
    assert network_attempts == ["connect ('192.0.2.1', 80)", "resolve example.org"]
    with socket.socket() as server:  # loopback stays open: the project's own servers live there
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=1).close()
    assert len(network_attempts) == 2


@pytest.mark.slow
def test_train_and_export_onnx_without_any_outbound_connection(tmp_path, network_attempts):
    from ultralytics import YOLO

    data = tiny_yolo_dataset(tmp_path / "ds")
    model = YOLO("yolo11n.yaml")  # from scratch: a model .yaml, no weights download
    model.train(
        data=str(data),
        epochs=1,
        imgsz=64,
        batch=4,
        workers=0,
        device="cpu",
        amp=False,
        plots=False,
        project=str(tmp_path / "runs"),
        name="smoke",
        exist_ok=True,
        verbose=False,
    )
    best = tmp_path / "runs" / "smoke" / "weights" / "best.pt"
    assert best.is_file()
    onnx_path = Path(YOLO(str(best)).export(format="onnx", imgsz=64, dynamic=True, simplify=False))
    assert onnx_path.is_file()

    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(1).random((2, 3, 64, 64), dtype=np.float32)
    (out,) = session.run(None, {session.get_inputs()[0].name: batch})
    assert out.shape[0] == 2 and out.shape[1] == 4 + 1  # xywh + one class score per anchor
    assert network_attempts == [], f"outbound attempts: {network_attempts}"
