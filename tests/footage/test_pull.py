"""The footage stage against real sources: a recorder-export folder, the shared real clips,
and a real S3 server process on loopback (moto's server, spoken to over HTTP by boto3)."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ambon_cv.config import FootageParams
from ambon_cv.footage.pull import MANIFEST_COLUMNS, FootageError, pull_footage
from ambon_cv.footage.sources import S3Source, SourceError
from ambon_cv.services import free_port

from ..conftest import SHARED


def tree_state(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def export(tmp_path, tiny_city) -> Path:
    """A recorder export: <camera>/<day>/<clip>.mp4 for the tiny city's clips."""
    _, clips = tiny_city
    root = tmp_path / "nvr-export"
    for clip in clips:
        day = clip.clip.split("_")[1][:8]
        dest = root / clip.camera / day / clip.path.name
        dest.parent.mkdir(parents=True)
        shutil.copy2(clip.path, dest)
    return root


def params(**kw) -> FootageParams:
    return FootageParams(**kw)


def test_dir_pull_writes_a_complete_manifest(tmp_path, export, registry):
    out = tmp_path / "footage"
    report = pull_footage(
        params(source="dir", location=str(export)), registry, out, tmp_path, progress=False
    )
    m = pd.read_parquet(out / "manifest.parquet")
    assert list(m.columns) == list(MANIFEST_COLUMNS)
    assert len(m) == 3 and (m.status == "ok").all() and report.fetched == 3
    row = m.iloc[0]
    assert row.camera == "pemkot-01" and row["clip"].startswith("pemkot-01/")
    assert row.start_time.startswith("2026-11-0") and row.time_of_day in {"day", "dusk", "night"}
    assert (row.width, row.height, row.fps, row.codec) == (320, 180, 5.0, "h264")
    local = tmp_path / row.path
    assert hashlib.sha256(local.read_bytes()).hexdigest() == row.sha256
    assert local.stat().st_size == row.size_bytes


def test_a_good_file_is_never_fetched_twice_and_a_changed_one_is(tmp_path, export, registry):
    out = tmp_path / "footage"
    p = params(source="dir", location=str(export))
    pull_footage(p, registry, out, tmp_path, progress=False)
    again = pull_footage(p, registry, out, tmp_path, progress=False)
    assert (again.fetched, again.reused, again.bytes_fetched) == (0, 3, 0)
    changed = next(export.glob("pemkot-02/*/*.mp4"))
    data = changed.read_bytes()
    changed.write_bytes(data + b"\0" * 16)  # the recorder rewrote this clip
    third = pull_footage(p, registry, out, tmp_path, progress=False)
    assert (third.fetched, third.reused) == (1, 2)


def test_bad_inputs_are_recorded_and_the_stage_goes_on(tmp_path, export, registry):
    good = next(export.glob("pemkot-01/*/*.mp4"))
    day = good.parent
    (day / "pemkot-01_20261102T010000.mp4").write_bytes(b"")
    (day / "pemkot-01_20261102T020000.mp4").write_text("not a video\n")
    (day / "pemkot-01_20261102T030000.mp4").write_bytes(good.read_bytes()[:5000])
    stray = export / "cam-99" / "20261102" / "cam-99_20261102T040000.mp4"
    stray.parent.mkdir(parents=True)
    shutil.copy2(good, stray)
    before = tree_state(export)

    out = tmp_path / "footage"
    with pytest.raises(FootageError, match=r"4 of 7 clips are unreadable") as err:
        pull_footage(
            params(source="dir", location=str(export), max_bad_fraction=0.5),
            registry,
            out,
            tmp_path,
            progress=False,
        )
    assert "cam-99" in str(err.value)
    m = pd.read_parquet(out / "manifest.parquet")  # written before failing: nothing lost
    reasons = dict(zip(m["clip"], m["reason"], strict=True))
    assert reasons["pemkot-01/20261102/pemkot-01_20261102T010000.mp4"] == "zero-byte file"
    assert "not a video" in reasons["pemkot-01/20261102/pemkot-01_20261102T020000.mp4"]
    assert "truncated" in reasons["pemkot-01/20261102/pemkot-01_20261102T030000.mp4"]
    assert "unknown camera 'cam-99'" in reasons["cam-99/20261102/cam-99_20261102T040000.mp4"]
    assert (m.status == "ok").sum() == 3
    assert tree_state(export) == before, "the source was modified"

    report = pull_footage(
        params(source="dir", location=str(export), max_bad_fraction=0.6),
        registry,
        out,
        tmp_path,
        progress=False,
    )
    assert len(report.bad) == 4 and "unreadable" in report.summary()


@pytest.mark.skipif(not (SHARED / "surveillance-fights").is_dir(), reason="shared data missing")
def test_real_clips_pull_and_probe(tmp_path, registry):
    src = tmp_path / "research"
    for label in ("fight", "noFight"):
        (src / label).mkdir(parents=True)
        for clip in sorted((SHARED / "surveillance-fights" / label).glob("*.mp4"))[::10]:
            os.symlink(clip, src / label / clip.name)
    out = tmp_path / "footage"
    report = pull_footage(
        params(source="dir", location=str(src), unknown_cameras="accept"),
        registry,
        out,
        tmp_path,
        progress=False,
    )
    m = report.manifest
    assert len(m) == 20 and (m.status == "ok").all(), m[m.status != "ok"][["clip", "reason"]]
    assert set(m.camera) == {"fight", "noFight"}
    assert m.width.nunique() >= 2 and m.fps.nunique() >= 2
    assert m.start_time.isna().all()  # upstream names carry no recording time


# --- S3 -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_server():
    """A real S3-speaking HTTP server process (moto) on loopback."""
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("moto_server did not start")
    os.environ.update(
        AWS_ACCESS_KEY_ID="ambon",
        AWS_SECRET_ACCESS_KEY="ambon-secret",
        AWS_DEFAULT_REGION="us-east-1",
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def bucket(s3_server, tiny_city):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server)
    name = f"recordings-{time.time_ns()}"
    client.create_bucket(Bucket=name)
    _, clips = tiny_city
    for clip in clips:
        client.upload_file(str(clip.path), name, f"export/{clip.camera}/{clip.path.name}")
    return name


def test_s3_pull_verifies_checksums(tmp_path, s3_server, bucket, registry, tiny_city):
    p = params(source="s3", location=f"s3://{bucket}/export", s3_endpoint_url=s3_server)
    report = pull_footage(p, registry, tmp_path / "footage", tmp_path, progress=False)
    assert report.fetched == 3 and (report.manifest.status == "ok").all()
    _, clips = tiny_city
    originals = {c.path.name: hashlib.sha256(c.path.read_bytes()).hexdigest() for c in clips}
    for row in report.manifest.itertuples():
        assert originals[Path(row.path).name] == row.sha256
    assert pull_footage(p, registry, tmp_path / "footage", tmp_path, progress=False).reused == 3


def test_interrupted_s3_pull_resumes_where_it_stopped(
    tmp_path, s3_server, bucket, registry, monkeypatch
):
    monkeypatch.setattr("ambon_cv.footage.sources.CHUNK", 16 * 1024)
    p = params(source="s3", location=f"s3://{bucket}/export", s3_endpoint_url=s3_server)
    received = []

    def cut_after_five_chunks(n: int) -> None:
        received.append(n)
        if len(received) == 5:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or the link dropping

    out = tmp_path / "footage"
    with pytest.raises(KeyboardInterrupt):
        pull_footage(p, registry, out, tmp_path, on_chunk=cut_after_five_chunks, progress=False)
    parts = list(out.rglob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size == sum(received)
    done_before = sum(received)

    resumed: list[int] = []
    report = pull_footage(p, registry, out, tmp_path, on_chunk=resumed.append, progress=False)
    total = int(report.manifest.size_bytes.sum())
    assert sum(resumed) == total - done_before, "the resumed pull fetched bytes twice"
    assert not list(out.rglob("*.part"))
    assert (report.manifest.status == "ok").all()


def test_s3_server_down_says_where(tmp_path, registry):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "x")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "y")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    endpoint = f"http://127.0.0.1:{free_port()}"
    p = params(source="s3", location="s3://recordings/export", s3_endpoint_url=endpoint)
    with pytest.raises(SourceError, match=rf"cannot list s3://recordings/export at {endpoint}"):
        pull_footage(p, registry, tmp_path / "footage", tmp_path, progress=False)
    assert isinstance(S3Source("s3://b/p", endpoint).bucket, str)


def test_missing_folder_says_how_to_fix(tmp_path, registry):
    with pytest.raises(SourceError, match="does not exist or is not mounted"):
        pull_footage(
            params(source="dir", location=str(tmp_path / "nas")),
            registry,
            tmp_path / "footage",
            tmp_path,
            progress=False,
        )


def test_loose_clips_are_named_with_the_layout_a_pull_expects(tmp_path, export, registry):
    """A folder of mp4s with no camera folders: the error says what layout is expected."""
    loose = tmp_path / "my-mp4s"
    loose.mkdir()
    first = next(export.rglob("*.mp4"))
    shutil.copy2(first, loose / first.name)
    with pytest.raises(FootageError) as err:
        pull_footage(params(source="dir", location=str(loose)), registry, tmp_path / "out",
                     tmp_path, progress=False)  # fmt: skip
    text = str(err.value)
    assert "<camera id>/<anything>/<clip>.mp4" in text
    assert f"1 clips lie directly in {loose}" in text and first.name in text


def test_a_pull_into_a_scratch_folder_leaves_the_pipeline_s_footage_alone(tmp_path, export):
    from ambon_cv.config import load_params
    from ambon_cv.contract import StageIO, StageParams
    from ambon_cv.footage.pull import run

    from ..conftest import ROOT

    p = load_params(overrides={"footage.source": "dir", "footage.location": str(export)})
    pipeline = ROOT / "data" / "footage" / "manifest.parquet"
    before = pipeline.stat().st_mtime_ns if pipeline.is_file() else None
    scratch = tmp_path / "scratch-footage"
    io = StageIO(ROOT, progress=False)
    result = run(StageParams(p, ("footage",), "footage"), io, out=str(scratch))
    assert (scratch / "manifest.parquet").is_file()
    assert f"(into {scratch})" in result.summary()
    assert (pipeline.stat().st_mtime_ns if pipeline.is_file() else None) == before
