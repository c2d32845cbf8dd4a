"""The project's tables and reports by name, for notebooks: each read from where its stage
writes it, with an error that names the stage to run when it is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

_TABLES = {
    "manifest": ("data/footage/manifest.parquet", "footage"),
    "incidents": ("data/footage/incidents.parquet", "footage"),
    "frames": ("data/frames/frames.parquet", "frames"),
}


def table(root: Path, name: str) -> pd.DataFrame:
    """One of: manifest, incidents (footage stage), frames (frames stage)."""
    relative, stage = _TABLES[name]
    path = root / relative
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run dvc repro {stage}")
    return pd.read_parquet(path)


def report(root: Path, name: str) -> dict:
    """reports/<name>.json: curate, train, fights, evaluate, export or bench."""
    path = root / "reports" / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run dvc repro {name}")
    return json.loads(path.read_text())


def experiments(root: Path) -> pd.DataFrame:
    """`dvc exp show` as a table: one row per experiment with its params and metrics."""
    import dvc.api

    rows = dvc.api.exp_show(repo=str(root))
    keep = [c for c in pd.DataFrame(rows).columns if not c.startswith(("deps", "Created"))]
    return pd.DataFrame(rows)[keep]
