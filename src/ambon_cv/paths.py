"""Where the project lives on disk.

Every stage reads and writes relative to one project root, so the CLI, DVC, notebooks and
tests agree on where `params.yaml`, `data/` and `reports/` are.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[2]  # the source checkout (editable install)


def project_root() -> Path:
    """The project root: `$AMBON_ROOT`, else the nearest folder above the current directory that
    holds `params.yaml`, else the source checkout this package was installed from.

    Example:
        >>> (project_root() / "params.yaml").name
        'params.yaml'
    """
    if env := os.environ.get("AMBON_ROOT"):
        return Path(env).expanduser().resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "params.yaml").is_file() and (folder / "data").is_dir():
            return folder
    return CHECKOUT


def cache_dir() -> Path:
    """Project-local cache for tool settings (ultralytics config, fonts, matplotlib)."""
    return project_root() / ".cache"


def under_root(path: str | Path, root: Path) -> Path:
    """A path from params.yaml: absolute as given, else relative to the project root (so
    `../shared/datasets/...` means the same from the CLI, DVC and the notebooks)."""
    path = Path(path)
    return path if path.is_absolute() else root / path


def strict(data: Any) -> Any:
    """`data` with NaN and infinities as None, so it is strict JSON (DVC, browsers and jq
    reject NaN).

    Example:
        >>> strict({"recall": float("nan"), "alerts": [1.0, float("inf")]})
        {'recall': None, 'alerts': [1.0, None]}
    """
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: strict(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [strict(v) for v in data]
    return data


def write_json(path: Path, data: Any, indent: int = 2) -> None:
    """Write `data` as strict JSON through a temporary file, so a reader (DVC, a notebook, the
    next stage) never sees half a report."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(strict(data), indent=indent, default=str, allow_nan=False))
    os.replace(tmp, path)
