"""The project's mongod: started once and reused, refused clearly when its port or data
folder is taken."""

from __future__ import annotations

import socket

import pytest

from ambon_cv.curate.db import Database, DatabaseError, ensure_db, status, stop_db
from ambon_cv.services import free_port


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
