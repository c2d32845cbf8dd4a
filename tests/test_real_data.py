"""The real stage: a fingerprint of the real folders that changes with their files, names no
machine's paths, and says which folder is missing."""

from __future__ import annotations

import json
import os

from ambon_cv.config import RealParams
from ambon_cv.real_data import FINGERPRINT, HASHES, fingerprint, how_to_add, real_folder


def test_the_fingerprint_follows_the_files_and_marks_a_missing_folder(tmp_path):
    data = tmp_path / "datasets" / "photos"
    (data / "images").mkdir(parents=True)
    (data / "images" / "a.jpg").write_bytes(b"one")
    (data / "data.yaml").write_text("names: [garbage]\n")
    p = RealParams(root="datasets", folders=["photos", "clips"])
    first = fingerprint(p, tmp_path, progress=False)
    saved = json.loads((tmp_path / FINGERPRINT).read_text())
    assert saved == {k: v for k, v in first.items() if k != "paths"}
    assert saved["folders"]["photos"] == {
        "present": True,
        "files": 2,
        "bytes": 3 + len("names: [garbage]\n"),
        "md5": saved["folders"]["photos"]["md5"],
    }
    assert saved["folders"]["clips"] == {"present": False}
    assert str(tmp_path) not in (tmp_path / FINGERPRINT).read_text()  # the same on any machine
    assert first["paths"]["clips"] == str(tmp_path / "datasets" / "clips")

    assert fingerprint(p, tmp_path, progress=False) == first  # nothing changed
    assert len(json.loads((tmp_path / HASHES).read_text())) == 2  # each file hashed once, kept

    (data / "images" / "a.jpg").write_bytes(b"two")  # same size: the mtime tells
    st = (data / "images" / "a.jpg").stat()
    os.utime(data / "images" / "a.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed = fingerprint(p, tmp_path, progress=False)
    assert changed["folders"]["photos"]["md5"] != first["folders"]["photos"]["md5"]
    (data / "images" / "a.jpg").rename(data / "images" / "b.jpg")  # a rename is a change too
    renamed = fingerprint(p, tmp_path, progress=False)
    assert renamed["folders"]["photos"]["md5"] != changed["folders"]["photos"]["md5"]


def test_folders_are_named_under_the_root_and_absolute_ones_kept(tmp_path):
    p = RealParams(root="../elsewhere")
    assert real_folder(p, tmp_path, "clips") == tmp_path / "../elsewhere" / "clips"
    assert real_folder(p, tmp_path, "/mnt/team/clips").as_posix() == "/mnt/team/clips"
    assert real_folder(p, tmp_path, "") is None  # that check switched off
    note = how_to_add("fights.folder", tmp_path / "clips")
    assert "fights.folder" in note and str(tmp_path / "clips") in note and "real.root" in note


def test_an_experiment_s_temporary_copy_finds_the_real_data_or_fails_loudly(tmp_path, monkeypatch):
    """`dvc exp run --temp` runs in <checkout>/.dvc/tmp/exps/<tmp>: a relative real.root means
    the same there as in the checkout, and a missing folder stops the experiment."""
    import pytest

    from ambon_cv.errors import AmbonError

    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    checkout = tmp_path / "work" / "ambon"
    copy = checkout / ".dvc" / "tmp" / "exps" / "tmp1a2b3c"
    copy.mkdir(parents=True)
    photos = tmp_path / "work" / "shared" / "photos"
    photos.mkdir(parents=True)
    (photos / "a.jpg").write_bytes(b"one")
    p = RealParams(root="../shared", folders=["photos"])
    assert real_folder(p, copy, "photos").resolve() == photos
    assert fingerprint(p, copy, progress=False)["folders"]["photos"]["present"]
    missing = RealParams(root="../shared", folders=["photos", "clips"])
    with pytest.raises(AmbonError, match=r"inside this DVC experiment.*-S real.root="):
        fingerprint(missing, copy, progress=False)
    assert not fingerprint(missing, checkout, progress=False)["folders"]["clips"]["present"]
