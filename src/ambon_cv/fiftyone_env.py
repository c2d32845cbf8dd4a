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
    """Starts the project's mongod just before `fiftyone` is first executed.

    Only an import runs the module, so the database is started by the wrapped loader, not here:
    `importlib.util.find_spec("fiftyone")` (how `curate.db` finds the wheel's mongod) also asks
    this finder and must start nothing.
    """

    def __init__(self, uri: str, port: int) -> None:
        self.uri = uri
        self.port = port

    def find_spec(self, name, path=None, target=None):
        if name != "fiftyone":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _StartThenLoad(spec.loader, self)
                return spec
        return None

    def start(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        if os.environ.get("FIFTYONE_DATABASE_URI") != self.uri:  # someone chose another since
            return
        try:
            from ambon_cv.curate.db import database, ensure_db

            ensure_db(database(ROOT, self.port))
        except Exception as err:  # fiftyone itself then says it cannot connect
            print(f"ambon-cv: could not start the project's database: {err}", file=sys.stderr)


class _StartThenLoad(importlib.abc.Loader):
    """fiftyone's own loader, with the database started before the module runs."""

    def __init__(self, loader, finder: _StartDatabase) -> None:
        self._loader = loader
        self._finder = finder

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = module.__spec__.loader = self._loader
        self._finder.start()
        self._loader.exec_module(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def install() -> None:
    """Point FiftyOne at the project's database (see the module doc); idempotent."""
    if os.environ.get("FIFTYONE_DATABASE_URI") or not (ROOT / "dvc.yaml").is_file():
        return
    try:
        Path.cwd().resolve().relative_to(ROOT)
    except (OSError, ValueError):  # outside the project: FiftyOne as it is everywhere else
        return
    port = int(os.environ.get("AMBON_DB_PORT") or DEFAULT_PORT)
    uri = f"mongodb://127.0.0.1:{port}"
    os.environ["FIFTYONE_DATABASE_URI"] = uri
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    if not any(isinstance(f, _StartDatabase) for f in sys.meta_path):
        sys.meta_path.insert(0, _StartDatabase(uri, port))
