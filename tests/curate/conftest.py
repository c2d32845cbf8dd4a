"""Shared by the curation tests: a project folder with footage, frames, real data and its own
mongod (FiftyOne binds to one database per process), and a helper that runs the stage."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ambon_cv.config import CurateParams, FootageParams, FramesParams, RealSet, SplitParams
from ambon_cv.footage.pull import pull_footage
from ambon_cv.frames.build import build_frames
from ambon_cv.services import free_port

from ..conftest import SHARED


def small_real_sets(root: Path) -> list[RealSet]:
    """A dozen street-garbage photos and six fight clips from three recordings."""
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
    from ambon_cv.curate.db import connect, database, stop_db

    root = tmp_path_factory.mktemp("curate-project")
    pull_footage(
        FootageParams(synthetic=tiny_cfg), registry, root / "data" / "footage", root, progress=False
    )
    manifest = pd.read_parquet(root / "data" / "footage" / "manifest.parquet")
    build_frames(
        FramesParams(rate_fps=1.0),
        manifest,
        root / "data" / "frames",
        root,
        workers=1,
        progress=False,
    )
    port = free_port()
    os.environ["AMBON_DB_PORT"] = str(port)  # every connect() of this process uses it
    fo = connect(root)
    yield root, fo, small_real_sets(root)
    stop_db(database(root, port))
    del os.environ["AMBON_DB_PORT"]


def params(real, name: str, **kw) -> CurateParams:
    return CurateParams(dataset=name, real=real, split=SplitParams(block_s=2, gap_s=1), **kw)


def frames_table(root: Path) -> pd.DataFrame:
    return pd.read_parquet(root / "data" / "frames" / "frames.parquet")


def run(project, registry, name, frames=None, **kw):
    from ambon_cv.curate.dataset import curate

    root, fo, real = project
    table = frames_table(root) if frames is None else frames
    report = curate(params(real, name, **kw), table, registry, root, progress=False)
    return report, fo.load_dataset(name)
