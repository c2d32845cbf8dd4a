"""The `footage` stage: bring clips from the configured source into `data/footage/` and write
the manifest.

    data/footage/clips/<camera>/<clip>      the clips (fetched, or rendered for `synthetic`)
    data/footage/truth/<camera>/<clip>.parquet   per-frame ground truth (synthetic only)
    data/footage/incidents.parquet          incident intervals (synthetic only)
    data/footage/manifest.parquet           one row per clip, the schema in MANIFEST_COLUMNS

A fetched clip is verified (size, then checksum) before it takes its final name; an interrupted
fetch resumes from its `.part` file; a clip already here with the same source version and
checksum is not fetched again. A clip that cannot be used is recorded with its reason and the
stage goes on; it fails only when more than `footage.max_bad_fraction` of the clips are bad,
and then only after the manifest is written.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from ambon_cv.config import CameraRegistry, FootageParams
from ambon_cv.contract import StageIO, StageParams, StageResult
from ambon_cv.errors import AmbonError
from ambon_cv.footage.probe import UnreadableClip, probe_clip, sha256_of
from ambon_cv.footage.sources import (
    DirSource,
    OnChunk,
    S3Source,
    SourceClip,
    SourceError,
    digests_of,
)

MANIFEST_COLUMNS = {
    "camera": "camera id (the registry's, or the source folder name for outside footage)",
    "clip": "clip id, unique across cameras: <camera>/<path below the camera folder>",
    "path": "the clip's file, relative to the project root",
    "source": "where it came from (a path, an s3:// URL, or synthetic://seed)",
    "source_version": "the source file's version (mtime:size, or the S3 ETag)",
    "start_time": "recording start (ISO 8601) when the file name or renderer says, else null",
    "time_of_day": "day | dusk | night, when known",
    "duration_s": "seconds",
    "fps": "frames per second",
    "width": "pixels",
    "height": "pixels",
    "codec": "video codec (h264 ...)",
    "frames": "number of frames",
    "size_bytes": "file size",
    "sha256": "checksum of the local copy",
    "truth": "per-frame ground truth Parquet, relative to the root (synthetic clips)",
    "status": "ok | unreadable",
    "reason": "why a clip is unreadable (empty when ok)",
}

_STAMP = re.compile(r"(\d{8})[T_-]?(\d{6})")


class FootageError(AmbonError, RuntimeError):
    """The stage cannot deliver usable footage; the manifest says which clips and why."""


@dataclass
class PullReport:
    manifest: pd.DataFrame
    fetched: int
    reused: int
    bytes_fetched: int

    @property
    def bad(self) -> pd.DataFrame:
        return self.manifest[self.manifest.status != "ok"]

    def summary(self) -> str:
        m = self.manifest
        ok = m[m.status == "ok"]
        lines = [
            f"footage: {len(ok)} usable clips of {len(m)} from {m.camera.nunique()} cameras, "
            f"{ok.duration_s.sum() / 60:.1f} min; new {self.fetched} "
            f"({self.bytes_fetched / 1e6:.1f} MB), reused {self.reused}"
        ]
        for row in self.bad.itertuples():
            lines.append(f"  unreadable: {row.clip}: {row.reason}")
        return "\n".join(lines)


def time_of_day(start: datetime | None) -> str | None:
    if start is None:
        return None
    hour = start.hour + start.minute / 60
    return "day" if 6 <= hour < 17.5 else "dusk" if 17.5 <= hour < 19 else "night"


def start_from_name(name: str) -> datetime | None:
    match = _STAMP.search(name)
    if not match:
        return None
    try:
        return datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S")
    except ValueError:
        return None


def _row(root: Path, camera: str, clip_id: str, path: Path, source: str, **extra) -> dict:
    row = dict.fromkeys(MANIFEST_COLUMNS)
    row.update(camera=camera, clip=clip_id, path=_stored(path, root), source=source)
    row.update(status="ok", reason="", **extra)
    return row


def _probe_into(row: dict, path: Path) -> dict:
    try:
        info = probe_clip(path)
    except UnreadableClip as err:
        row.update(status="unreadable", reason=str(err))
        return row
    row.update(
        duration_s=info.duration_s,
        fps=info.fps,
        width=info.width,
        height=info.height,
        codec=info.codec,
        frames=info.frames,
    )
    return row


def _previous(manifest_path: Path) -> dict[str, dict]:
    if not manifest_path.is_file():
        return {}
    try:
        old = pd.read_parquet(manifest_path)
    except Exception:  # a damaged manifest only costs re-verification, never data
        return {}
    return {r["clip"]: r for r in old.to_dict("records")}


def write_manifest(rows: list[dict], path: Path) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    for col in ("duration_s", "fps"):
        frame[col] = frame[col].astype("float64")
    for col in ("width", "height", "frames", "size_bytes"):
        frame[col] = frame[col].astype("Int64")
    frame = frame.sort_values(["camera", "clip"]).reset_index(drop=True)
    tmp = path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return frame


def _stored(path: Path, root: Path) -> str:
    """A manifest path: relative to the project (the same on every clone), absolute for a
    scratch folder outside it."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


LAYOUT = "<camera id>/<anything>/<clip>.mp4 (the first folder names the camera)"


def no_clips(params: FootageParams) -> str:
    """What an empty pull says: where it looked, the layout it expects, and what it saw."""
    where = params.location or "the synthetic city"
    text = f"no clips found at {where}: footage.source {params.source} expects {LAYOUT}"
    if params.source == "dir" and params.location:
        top = Path(params.location)
        loose = sorted(top.glob("*.mp4")) if top.is_dir() else []
        if not top.is_dir():
            text += f"; {top} is not a folder"
        elif loose:
            text += (
                f"; {len(loose)} clips lie directly in {top} (e.g. {loose[0].name}): put each "
                "camera's clips in a folder named after the camera"
            )
    return text


def pull_footage(
    params: FootageParams,
    registry: CameraRegistry,
    out: Path,
    root: Path,
    on_chunk: OnChunk | None = None,
    progress: bool = True,
) -> PullReport:
    """Run the footage stage into `out` (normally `data/footage`).

    Args:
        on_chunk: called with the byte count of every fetched chunk (progress; tests use it to
            interrupt a transfer).

    Raises:
        SourceError: the source cannot be listed (down, wrong location or credentials).
        FootageError: more than `max_bad_fraction` of the clips are unreadable (the manifest is
            written first).
    """
    out.mkdir(parents=True, exist_ok=True)
    if params.source == "synthetic":
        rows, fetched, reused, nbytes = _synthesize(params, registry, out, root, progress)
    else:
        source = (
            DirSource(params.location)
            if params.source == "dir"
            else S3Source(params.location, params.s3_endpoint_url)
        )
        rows, fetched, reused, nbytes = _fetch_all(
            source, params, registry, out, root, on_chunk, progress
        )
    manifest = write_manifest(rows, out / "manifest.parquet")
    report = PullReport(manifest, fetched, reused, nbytes)
    bad = len(report.bad)
    if manifest.empty:
        raise FootageError(no_clips(params))
    if bad / len(manifest) > params.max_bad_fraction:
        raise FootageError(
            f"{bad} of {len(manifest)} clips are unreadable (more than footage.max_bad_fraction="
            f"{params.max_bad_fraction}); see {out / 'manifest.parquet'}:\n"
            + "\n".join(f"  {r.clip}: {r.reason}" for r in report.bad.itertuples())
        )
    return report


def _synthesize(params, registry, out, root, progress):
    from ambon_cv.footage.synth import render_city

    cfg = params.synthetic
    for sub in ("clips", "truth"):  # a new render replaces the old city entirely
        shutil.rmtree(out / sub, ignore_errors=True)
    clips = render_city(registry.select(cfg.cameras), cfg, out, progress=progress)
    rows = []
    for clip in clips:
        row = _row(
            root,
            clip.camera,
            f"{clip.camera}/{clip.path.name}",
            clip.path,
            f"synthetic://seed={cfg.seed}",
            start_time=start_from_name(clip.clip).isoformat(),
            time_of_day=clip.light,
            size_bytes=clip.path.stat().st_size,
            sha256=sha256_of(clip.path),
            truth=_stored(clip.truth, root),
        )
        rows.append(_probe_into(row, clip.path))
    return rows, len(clips), 0, sum(r["size_bytes"] for r in rows)


def _fetch_all(source, params, registry, out, root, on_chunk, progress):
    from tqdm.auto import tqdm

    listing = source.list()
    previous = _previous(out / "manifest.parquet")
    rows, fetched, reused, nbytes = [], 0, 0, 0
    keep: set[Path] = set()
    total = sum(c.size for c in listing)
    bar = tqdm(total=total, unit="B", unit_scale=True, desc="pulling footage", disable=not progress)

    def count(n: int) -> None:
        bar.update(n)
        if on_chunk:
            on_chunk(n)

    for clip in listing:
        dest = out / "clips" / clip.camera / clip.name
        keep.add(dest)
        start = start_from_name(clip.name)
        row = _row(
            root,
            clip.camera,
            f"{clip.camera}/{clip.name}",
            dest,
            clip.uri,
            start_time=start.isoformat() if start else None,
            time_of_day=time_of_day(start),
            size_bytes=clip.size,
            source_version=clip.version,
        )
        if clip.camera not in registry and params.unknown_cameras == "reject":
            row.update(
                status="unreadable",
                reason=f"unknown camera '{clip.camera}' (not in data/cameras.yaml; set "
                "footage.unknown_cameras: accept for footage from outside the registry)",
                path=None,
            )
            rows.append(row)
            bar.update(clip.size)
            continue
        old = previous.get(row["clip"])
        if (
            dest.is_file()
            and old is not None
            and old.get("sha256")
            and old.get("source_version") == clip.version
            and dest.stat().st_size == clip.size
            and sha256_of(dest) == old["sha256"]
        ):
            reused += 1
            bar.update(clip.size)
            row["sha256"] = old["sha256"]
            rows.append(_probe_into(row, dest))
            continue
        try:
            sha = _fetch_verified(source, clip, dest, count)
        except _BadTransfer as err:
            row.update(status="unreadable", reason=str(err))
            rows.append(row)
            continue
        fetched += 1
        nbytes += clip.size
        row["sha256"] = sha
        rows.append(_probe_into(row, dest))
    bar.close()
    _remove_stale(out / "clips", keep)
    return rows, fetched, reused, nbytes


class _BadTransfer(Exception):
    pass


def _fetch_verified(source, clip: SourceClip, dest: Path, on_chunk) -> str:
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.exists() and part.stat().st_size > clip.size:
        part.unlink()  # the source changed under a partial copy: start over
    source.fetch(clip, part, on_chunk)
    size = part.stat().st_size
    if size != clip.size:
        part.unlink()
        raise _BadTransfer(f"size mismatch after transfer: {size} bytes, source has {clip.size}")
    sha, md5 = digests_of(part)
    if clip.md5 and md5 != clip.md5:
        part.unlink()
        raise _BadTransfer("checksum mismatch (MD5 differs from the source ETag)")
    expected = source.source_sha256(clip)
    if expected and expected != sha:
        part.unlink()
        raise _BadTransfer("checksum mismatch (SHA-256 differs from the source's)")
    os.replace(part, dest)
    return sha


def _remove_stale(clips: Path, keep: set[Path]) -> None:
    """Clips no longer at the source leave the local copy too (`.part` files stay for resume)."""
    if not clips.is_dir():
        return
    for path in clips.rglob("*"):
        if path.is_file() and path not in keep and not path.name.endswith(".part"):
            path.unlink()


def run(
    params: StageParams,
    io: StageIO,
    action: str = "pull",
    out: str | None = None,
    camera: list[str] | None = None,
) -> StageResult:
    """`ambon footage`: pull the clips into data/footage (the stage; `out`: a scratch folder
    instead, leaving the pipeline's footage as it is), or with `synth` render the synthetic
    city as a recorder export into `out` (to try the `dir` source)."""
    registry = io.cameras()
    if action == "synth":
        from ambon_cv.footage.synth import render_city

        cfg = params.footage.synthetic
        out = out or "data/footage/synthetic-export"
        target = io.root / out
        clips = render_city(registry.select(camera or cfg.cameras), cfg, target)
        frames = sum(c.frames for c in clips)
        return StageResult("footage", [f"rendered {len(clips)} clips ({frames} frames) into {out}"])
    target = Path(out).expanduser().resolve() if out else io.root / "data" / "footage"
    report = pull_footage(params.footage, registry, target, io.root, progress=io.progress)
    return StageResult("footage", [report.summary() + (f" (into {target})" if out else "")])


__all__ = [
    "MANIFEST_COLUMNS",
    "FootageError",
    "PullReport",
    "SourceError",
    "pull_footage",
    "run",
]
