"""`import fiftyone as fo; fo.load_dataset("ambon")` from any Python of the project's `.venv`.

FiftyOne finds its database through `FIFTYONE_DATABASE_URI`; without it, it silently starts an
empty one in `~/.fiftyone`. `make setup` puts a `.pth` file in `.venv` that calls `install()` at
every interpreter start (the CLI, notebooks and `make lab`'s kernel, a plain `python`): in a
process started inside the project folder it points FiftyOne at the project's mongod
(127.0.0.1, `AMBON_DB_PORT` or 27217) unless something else already chose a database, and
starts that mongod on the first `import fiftyone` of the process. Only the standard library
is imported at start-up; the `.pth` loads this file by path, so the `ambon_cv` package
itself is not imported either.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # src/ambon_cv/fiftyone_env.py -> the project
DEFAULT_PORT = 27217


class _StartDatabase(importlib.abc.MetaPathFinder):
    """Starts the project's mongod just before `fiftyone` is first imported."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def find_spec(self, name, path=None, target=None):
        if name != "fiftyone":
            return None
        sys.meta_path.remove(self)
        if os.environ.get("FIFTYONE_DATABASE_URI") == self.uri:  # nobody chose another since
            try:
                from ambon_cv.curate.db import database, ensure_db

                ensure_db(database(ROOT))
            except Exception as err:  # fiftyone itself then says it cannot connect
                print(f"ambon-cv: could not start the project's database: {err}", file=sys.stderr)
        return None


def install() -> None:
    """Point FiftyOne at the project's database (see the module doc); idempotent."""
    if os.environ.get("FIFTYONE_DATABASE_URI") or not (ROOT / "dvc.yaml").is_file():
        return
    try:
        Path.cwd().resolve().relative_to(ROOT)
    except (OSError, ValueError):  # outside the project: FiftyOne as it is everywhere else
        return
    uri = f"mongodb://127.0.0.1:{int(os.environ.get('AMBON_DB_PORT') or DEFAULT_PORT)}"
    os.environ["FIFTYONE_DATABASE_URI"] = uri
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    if not any(isinstance(f, _StartDatabase) for f in sys.meta_path):
        sys.meta_path.insert(0, _StartDatabase(uri))
