"""The project's mongod: started once and reused, refused clearly when its port or data
folder is taken."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from ambon_cv.curate.db import Database, DatabaseError, database, ensure_db, status, stop_db
from ambon_cv.services import free_port, port_in_use

from ..conftest import ROOT


def test_start_reuse_stop(tmp_path):
    db = Database(tmp_path / "fo", free_port())
    ensure_db(db)
    pid = db.pidfile.read_text().strip()
    ensure_db(db)  # reused, not restarted
    assert db.pidfile.read_text().strip() == pid
    assert status(db).startswith(f"running (pid {pid})")
    assert stop_db(db)
    assert status(db) == "stopped"
    assert not stop_db(db)


def test_stale_pid_file_after_a_crash_is_recovered(tmp_path):
    db = Database(tmp_path / "fo", free_port())
    db.folder.mkdir(parents=True)
    db.pidfile.write_text("999999")  # a mongod that died without cleaning up
    try:
        ensure_db(db)
        assert status(db).startswith("running")
    finally:
        stop_db(db)


def test_busy_port_is_refused(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        db = Database(tmp_path / "fo", other.getsockname()[1])
        with pytest.raises(DatabaseError, match="taken by another program"):
            ensure_db(db)


def test_data_folder_held_by_another_mongod_is_refused(tmp_path):
    first = Database(tmp_path / "fo", free_port())
    ensure_db(first)
    try:
        second = Database(first.folder, free_port())  # same data folder, another port
        first.pidfile.rename(first.folder / "first.pid")  # as if another checkout started it
        with pytest.raises(DatabaseError, match="in use by another mongod"):
            ensure_db(second)
    finally:
        (first.folder / "first.pid").rename(first.pidfile)
        stop_db(first)


def _python(code: str, port: int, cwd) -> subprocess.CompletedProcess:
    """The project's Python as a user starts it: no FiftyOne settings of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIFTYONE_")}
    env["AMBON_DB_PORT"] = str(port)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_venv_points_fiftyone_at_the_project(tmp_path):
    """make setup's .pth: a plain `python` of .venv is given the project's database (nothing
    is started until fiftyone is imported)."""
    port = free_port()
    code = "import os; print(os.environ.get('FIFTYONE_DATABASE_URI'))"
    out = _python(code, port, ROOT / "notebooks")
    assert out.stdout.strip() == f"mongodb://127.0.0.1:{port}", out.stderr
    assert not port_in_use(port)
    # outside the project FiftyOne is left as it is everywhere else
    assert _python(code, port, tmp_path).stdout.strip() == "None"


def _hooked_project(tmp_path):
    """A project folder with the hook, and the code that installs it as the `.pth` does."""
    project = tmp_path / "project"
    hook = project / "src" / "ambon_cv" / "fiftyone_env.py"
    hook.parent.mkdir(parents=True)
    shutil.copy(ROOT / "src" / "ambon_cv" / "fiftyone_env.py", hook)
    (project / "dvc.yaml").write_text("stages: {}\n")
    load = (
        "import importlib.util as u, os; "
        f"s = u.spec_from_file_location('hook', {str(hook)!r}); m = u.module_from_spec(s); "
        "s.loader.exec_module(m); os.environ.pop('FIFTYONE_DATABASE_URI', None); m.install(); "
    )
    return project, load


def test_fo_load_dataset_finds_the_projects_dataset(tmp_path):
    """`import fiftyone as fo; fo.load_dataset(...)` in a project starts its mongod and finds
    what an earlier process saved there."""
    project, load = _hooked_project(tmp_path)
    port = free_port()
    try:
        made = _python(
            load + "import fiftyone as fo; fo.Dataset('ambon', persistent=True)", port, project
        )
        assert made.returncode == 0, made.stderr[-2000:]
        found = _python(
            load
            + "import fiftyone as fo; print(fo.config.database_uri, len(fo.load_dataset('ambon')))",
            port,
            project,
        )
        assert found.stdout.split() == [f"mongodb://127.0.0.1:{port}", "0"], found.stderr[-2000:]
        assert (project / "data" / "fiftyone" / "db").is_dir()
    finally:
        stop_db(database(project, port))


def test_looking_for_fiftyone_starts_nothing_and_another_port_is_left_free(tmp_path):
    """The hook starts the database on an import only, on the port it chose at start-up: a
    `find_spec("fiftyone")` (how mongod is found) and an `AMBON_DB_PORT` set later for another
    project's database (as the test suite does) must leave that other port free."""
    project, load = _hooked_project(tmp_path)
    port, other = free_port(), free_port()
    code = (
        load
        + f"os.environ['AMBON_DB_PORT'] = '{other}'; "
        + "from ambon_cv.services import port_in_use; "
        + "from ambon_cv.curate.db import mongod_binary; mongod_binary(); "
        + f"print(port_in_use({port}), port_in_use({other})); "
        + "import fiftyone; "
        + f"print(port_in_use({port}), port_in_use({other}))"
    )
    try:
        out = _python(code, port, project)
        assert out.stdout.split() == ["False", "False", "True", "False"], out.stderr[-2000:]
    finally:
        stop_db(database(project, port))
        stop_db(database(project, other))
