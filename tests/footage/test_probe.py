"""Probing clips: real footage of mixed sizes and rates, and every kind of bad file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ambon_cv.footage.probe import UnreadableClip, probe_clip

from ..conftest import SHARED

FIGHTS = SHARED / "surveillance-fights"


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,avg_frame_rate,codec_name",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)["streams"][0]


def mixed_real_clips(n: int = 12) -> list[Path]:
    """Real CCTV clips of as many different sizes and frame rates as a small set can hold."""
    seen, picked = set(), []
    for path in sorted(FIGHTS.glob("*/*.mp4"))[::4]:
        key = tuple(ffprobe(path).values())
        if key not in seen:
            seen.add(key)
            picked.append(path)
        if len(picked) == n:
            break
    return picked


@pytest.mark.skipif(not FIGHTS.is_dir(), reason="the shared fight clips are not beside the repo")
def test_real_clips_of_mixed_sizes_and_rates_probe_like_ffprobe():
    clips = mixed_real_clips()
    assert len({(probe_clip(p).width, probe_clip(p).fps) for p in clips}) >= 3
    for path in clips:
        info, ref = probe_clip(path), ffprobe(path)
        num, den = map(int, ref["avg_frame_rate"].split("/"))
        assert (info.width, info.height) == (ref["width"], ref["height"]), path.name
        assert info.fps == pytest.approx(num / den, rel=1e-3), path.name
        assert info.codec == ref["codec_name"]
        assert 1.0 < info.duration_s < 10.0


@pytest.fixture
def good_clip(tiny_city) -> Path:
    _, clips = tiny_city
    return clips[0].path


def test_good_clip(good_clip, tiny_cfg):
    info = probe_clip(good_clip)
    assert (info.width, info.height, info.fps) == (tiny_cfg.width, tiny_cfg.height, tiny_cfg.fps)
    assert info.frames == round(tiny_cfg.clip_seconds * tiny_cfg.fps)


def test_zero_byte(tmp_path):
    (tmp_path / "a.mp4").touch()
    with pytest.raises(UnreadableClip, match="zero-byte"):
        probe_clip(tmp_path / "a.mp4")


def test_not_a_video(tmp_path):
    (tmp_path / "notes.mp4").write_text("camera 3 was offline from 02:00 to 04:00\n")
    with pytest.raises(UnreadableClip, match="not a video file"):
        probe_clip(tmp_path / "notes.mp4")


def test_truncated_mp4(tmp_path, good_clip):
    data = good_clip.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableClip, match="truncated"):
        probe_clip(tmp_path / "cut.mp4")


def test_truncated_faststart_mp4_is_caught_by_its_missing_tail(tmp_path, good_clip):
    # A recorder that writes its index first (faststart) leaves a file that opens but ends early.
    fast = tmp_path / "fast.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(good_clip),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(fast),
        ],
        check=True,
    )
    data = fast.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(UnreadableClip, match=r"truncated|corrupt"):
        probe_clip(tmp_path / "cut.mp4")


def test_source_file_is_never_modified(tmp_path, good_clip):
    copy = tmp_path / "c.mp4"
    shutil.copy2(good_clip, copy)
    before = (copy.read_bytes(), copy.stat().st_mtime_ns)
    probe_clip(copy)
    assert (copy.read_bytes(), copy.stat().st_mtime_ns) == before
