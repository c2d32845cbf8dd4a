"""Test-suite wide fixtures, and the network guard.

The workbench must run with no internet. Every test runs with outbound connections blocked
except loopback: `scripts/test.sh` runs pytest in a network namespace that has only `lo`, and
this guard, installed before any test imports a library, refuses and records every attempt to
reach a non-loopback address (or to resolve a non-local name), so a test can prove that a whole
train-and-export run tried none.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

BLOCKED: list[str] = []

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "0.0.0.0", "::", ""}


def _is_local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).strip("[]")
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _check(sock: socket.socket, address: object) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        BLOCKED.append(f"connect {address}")
        raise ConnectionRefusedError(f"network guard: outbound connection to {address} blocked")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        BLOCKED.append(f"resolve {host}")
        raise socket.gaierror(socket.EAI_NONAME, f"network guard: name lookup of {host} blocked")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture
def network_attempts() -> list[str]:
    """The non-loopback attempts made during the test (empty at its start)."""
    BLOCKED.clear()
    return BLOCKED


# --- shared fixtures -----------------------------------------------------------------------------

from tests.stages import run_stage  # noqa: E402 (after the network guard)

ROOT = Path(__file__).resolve().parents[1]
# The real datasets beside the checkout (never copied in); AMBON_SHARED_DATASETS points elsewhere.
SHARED = Path(os.environ.get("AMBON_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    """In CI the shared datasets must be there: a test that needs them fails, never skips.
    Tests marked `gpu` are skipped where there is no CUDA device, and run where there is."""
    if os.environ.get("CI") == "true" and not SHARED.is_dir():
        raise pytest.UsageError(f"CI: the shared datasets are missing at {SHARED}")
    gpu_tests = [item for item in items if "gpu" in item.keywords]
    if gpu_tests and not _has_cuda():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in gpu_tests:
            item.add_marker(skip)


TINY_CAMERAS = ["pemkot-01", "pemkot-02", "pemkot-04"]  # office front, alley (fights), market


@pytest.fixture(scope="session")
def registry():
    from ambon_cv.config import load_cameras

    return load_cameras(ROOT / "data" / "cameras.yaml")


@pytest.fixture(scope="session")
def tiny_cfg():
    """A small, busy synthetic city: 320x180, 5 fps, 8 s clips, incidents in every clip."""
    from ambon_cv.config import IncidentRates, SyntheticCity

    return SyntheticCity(
        seed=11,
        cameras=TINY_CAMERAS,
        clip_seconds=8,
        width=320,
        height=180,
        fps=5,
        incidents_per_camera_hour=IncidentRates(garbage_dump=400, bin_overflow=1, fight=700),
    )


@pytest.fixture(scope="session")
def tiny_city(tmp_path_factory, registry, tiny_cfg):
    """The tiny city rendered once per session, as a recorder export plus ground truth."""
    from ambon_cv.footage.synth import render_city

    out = tmp_path_factory.mktemp("city")
    clips = render_city(registry.select(TINY_CAMERAS), tiny_cfg, out, workers=1, progress=False)
    return out, clips


def tiny_yolo_dataset(root: Path, n: int = 8, size: int = 64) -> Path:
    """A few generated images: a bright square (class 0) on noise, with YOLO labels."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(n):
            img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            w, h = rng.integers(12, 28, 2)
            x, y = rng.integers(0, size - w), rng.integers(0, size - h)
            img[y : y + h, x : x + w] = (40, 200, 240)
            cv2.imwrite(str(root / "images" / split / f"{i}.jpg"), img)
            cx, cy = (x + w / 2) / size, (y + h / 2) / size
            label = f"0 {cx} {cy} {w / size} {h / size}\n"
            (root / "labels" / split / f"{i}.txt").write_text(label)
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: garbage\n")
    return data


# --- a curation project (footage, frames, real data, its own mongod) ---------------------------


def small_real_sets(root: Path) -> list:
    """A dozen street-garbage photos and six fight clips from three recordings. Outside CI a
    checkout with no shared datasets beside it skips the tests that need them (CI refuses to
    start without them, see pytest_collection_modifyitems)."""
    import shutil

    if not SHARED.is_dir():
        pytest.skip(f"needs the shared datasets at {SHARED} (docs/concepts.md, Real data)")

    from ambon_cv.config import RealSet

    src = SHARED / "street-garbage"
    yolo = root / "real" / "street-garbage"
    for split, n in (("train", 8), ("val", 4)):
        (yolo / "images" / split).mkdir(parents=True)
        (yolo / "labels" / split).mkdir(parents=True)
        for image in sorted((src / "images" / split).glob("*.jpg"))[:n]:
            shutil.copy(image, yolo / "images" / split / image.name)
            label = src / "labels" / split / f"{image.stem}.txt"
            if label.is_file():
                shutil.copy(label, yolo / "labels" / split / label.name)
    shutil.copy(src / "data.yaml", yolo / "data.yaml")
    clips = root / "real" / "fights"
    listing = []
    for k, (fight, nofight) in enumerate(
        (("fi001", "nofi001"), ("fi002", "nofi002"), ("fi003", "nofi003"))
    ):
        listing.append(f"https://example.invalid/recording-{k}")
        for label, stem in (("fight", fight), ("noFight", nofight)):
            (clips / label).mkdir(parents=True, exist_ok=True)
            shutil.copy(SHARED / "surveillance-fights" / label / f"{stem}.mp4", clips / label)
            listing.append(f"{stem}: 0.00.00 - 0.02.00")
    (clips / "videos.txt").write_text("\n".join(listing) + "\n")
    return [
        RealSet(name="street-garbage", kind="yolo", path=str(yolo)),
        RealSet(
            name="fights",
            kind="clips",
            path=str(clips),
            class_map={"fight": "fight", "noFight": "no_fight"},
            rate_fps=2,
            val_fraction=0.34,
        ),
    ]


@pytest.fixture(scope="session")
def project(tmp_path_factory, registry, tiny_cfg):
    """A project folder with the tiny city's footage and frames, real data, and its own
    mongod on a free port (FiftyOne binds to one database per process)."""
    from ambon_cv.config import FramesParams, Params
    from ambon_cv.curate.db import connect, database, stop_db
    from ambon_cv.services import free_port

    root = tmp_path_factory.mktemp("curate-project")
    real = small_real_sets(root)  # first: a checkout with no shared datasets skips here
    base = Params()
    params = base.model_copy(
        update={
            "footage": base.footage.model_copy(update={"synthetic": tiny_cfg}),
            "frames": FramesParams(rate_fps=1.0),
        }
    )
    run_stage("footage", params, root, registry)
    run_stage("frames", params, root, registry)
    run_stage("real", params, root, registry)  # no real folders beside a temporary project
    port = free_port()
    os.environ["AMBON_DB_PORT"] = str(port)  # every connect() of this process uses it
    fo = connect(root)
    yield root, fo, real
    stop_db(database(root, port))
    del os.environ["AMBON_DB_PORT"]


_REPO = Path(__file__).resolve().parents[1]


def params_for(project, tiny_cfg):
    """Params for the tiny trained project: 64 px, the CPU, one event camera."""
    from ambon_cv.config import (
        CurateParams,
        EvaluateParams,
        EventEvaluation,
        ExportParams,
        FightHours,
        FightsParams,
        Params,
        ParityBounds,
        SpeedParams,
        SplitParams,
    )

    real = project[2]
    base = Params()
    return base.model_copy(
        update={
            "footage": base.footage.model_copy(update={"synthetic": tiny_cfg}),
            "curate": CurateParams(
                dataset="t-eval", real=real, split=SplitParams(block_s=2, gap_s=1)
            ),
            "fights": FightsParams(
                folder=str(real[1].path), folds=3, repeats=1, trees=50, workers=1
            ),
            "evaluate": EvaluateParams(
                conf=0.05,
                device="cpu",
                events=EventEvaluation(cameras=["pemkot-02"], clip_seconds=6, analysis_fps=5),
                fight_hours=FightHours(clip_seconds=6, fights_per_camera_hour=300, workers=1),
                real_garbage=str(real[0].path),
                real_fights=str(real[1].path),
            ),
            "export": ExportParams(
                calibration_frames=300,
                speed=SpeedParams(batches=[1, 4], seconds=0.3),
                # a one-epoch fine-tune at 64 px on a handful of val frames: one box that INT8
                # moves shifts mAP50 by about 0.02, so the bound here is looser than the real one
                parity=ParityBounds(int8=0.05),
            ),
        }
    )


def fine_tune_params():
    """params.yaml's train section (make run's fine-tune of the released base), sized for tests."""
    from ambon_cv.config import load_params

    train = load_params(_REPO / "params.yaml").train
    return train.model_copy(
        update=dict(
            model=str(_REPO / train.model),
            imgsz=64,
            batch=8,
            workers=0,
            cache=False,
            device="cpu",
        )
    )


@pytest.fixture(scope="session")
def trained(project, registry, tiny_cfg):
    """The tiny project curated and trained for one epoch (models/best.pt); its params."""
    root = project[0]
    params = params_for(project, tiny_cfg)
    run_stage("curate", params, root, registry)
    run_stage("train", params.model_copy(update={"train": fine_tune_params()}), root, registry)
    run_stage("fights", params, root, registry)
    return params


@pytest.fixture(scope="session")
def bench_project(project, trained):
    """The tiny trained project with its exports and a params.yaml sized for tests."""
    import shutil

    from ambon_cv.config import FightsParams, load_params
    from ambon_cv.fights.stage import MODEL_DIR, train_fight_model

    root = project[0]
    if not (root / MODEL_DIR).is_dir():  # the streaming fight analytic the hot spots run
        fights = FightsParams(
            folder=str(project[2][1].path), folds=3, repeats=1, trees=20, workers=1
        )
        train_fight_model(fights, root, progress=False)
    if not (root / "exports" / "int8_openvino_model").is_dir():
        run_stage("export", trained, root)
    if not (root / "exports" / "fight-clips").is_dir():  # exported before the analytic existed
        shutil.copytree(root / MODEL_DIR, root / "exports" / "fight-clips")
    shutil.copy2(_REPO / "params.yaml", root / "params.yaml")
    shutil.copy2(_REPO / "data" / "cameras.yaml", root / "data" / "cameras.yaml")
    params = load_params(
        root / "params.yaml",
        {
            "bench.warmup_s": 1.5,
            "bench.duration_s": 6,
            "bench.streams": 6,
            # a handful of streams fill batches of 4 at most, and a 64 px model is compiled
            # once per batch size it infers (about a second each)
            "bench.max_batch": 4,
            "bench.sweep.streams": [3],
            "bench.sweep.baseline_streams": [3],
            "bench.sweep.duration_s": 3,
            "bench.sweep.overload_x": 2,
            "bench.sweep.overload_duration_s": 4,
        },
    )
    return root, params


@pytest.fixture(scope="session")
def reported_project(bench_project, trained, registry):
    """The bench project with every stage's report: evaluate, export, a small bench sweep."""
    root, params = bench_project
    if not (root / "reports" / "evaluate.json").exists():
        run_stage("evaluate", trained, root, registry)
    if not (root / "reports" / "bench.json").exists():
        run_stage("bench", params, root, registry, action="sweep")
    return root, params


def params(real, name: str, **kw):
    from ambon_cv.config import CurateParams, SplitParams

    return CurateParams(dataset=name, real=real, split=SplitParams(block_s=2, gap_s=1), **kw)


def frames_table(root: Path):
    import pandas as pd

    return pd.read_parquet(root / "data" / "frames" / "frames.parquet")


def run(project, registry, name, frames=None, **kw):
    from ambon_cv.curate.dataset import curate

    root, fo, real = project
    table = frames_table(root) if frames is None else frames
    real = kw.pop("real", real)  # real=[]: no real folder at all
    report = curate(params(real, name, **kw), table, registry, root, progress=False)
    return report, fo.load_dataset(name)
