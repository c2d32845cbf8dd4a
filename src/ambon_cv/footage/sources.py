"""Where recorded clips come from: a recorder-export folder (local disk or a NAS mount) or an
S3-compatible bucket. One interface: list what is there, fetch one clip into a `.part` file,
resuming from what the `.part` already holds.

Layout at the source, as recorders export it: `<camera id>/.../<clip>.mp4`. The first folder
names the camera. A `<clip>.mp4.sha256` beside a clip, or an S3 object's MD5 ETag or `sha256`
metadata, is the checksum the fetched copy must match. Nothing at the source is ever modified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ambon_cv.errors import AmbonError
from ambon_cv.footage.probe import VIDEO_EXTS

CHUNK = 1 << 20
OnChunk = Callable[[int], None]


class SourceError(AmbonError, RuntimeError):
    """The footage source cannot be read; the message says which and how to fix it."""


@dataclass(frozen=True)
class SourceClip:
    camera: str
    name: str  # path below the camera folder, e.g. 2026-11-02/cam_20261102T080000.mp4
    uri: str
    size: int
    version: str  # changes when the source file changes (mtime+size, or the ETag)
    md5: str | None = None
    sha256: str | None = None


class DirSource:
    """A recorder export on disk: `<root>/<camera>/.../*.mp4`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise SourceError(
                f"footage folder {self.root} does not exist or is not mounted "
                "(set footage.location in params.yaml)"
            )

    def list(self) -> list[SourceClip]:
        clips = []
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if not path.is_file() or path.suffix.lower() not in VIDEO_EXTS or len(rel.parts) < 2:
                continue
            if any(part.startswith(".") for part in rel.parts):
                continue
            stat = path.stat()
            sidecar = path.with_name(path.name + ".sha256")
            sha = sidecar.read_text().split()[0].lower() if sidecar.is_file() else None
            clips.append(
                SourceClip(
                    camera=rel.parts[0],
                    name=str(PurePosixPath(*rel.parts[1:])),
                    uri=str(path),
                    size=stat.st_size,
                    version=f"{stat.st_mtime_ns}:{stat.st_size}",
                    sha256=sha,
                )
            )
        return clips

    def fetch(self, clip: SourceClip, part: Path, on_chunk: OnChunk | None = None) -> None:
        offset = part.stat().st_size if part.exists() else 0
        with open(clip.uri, "rb") as src, open(part, "ab") as dst:
            src.seek(offset)
            while block := src.read(CHUNK):
                dst.write(block)
                if on_chunk:
                    on_chunk(len(block))

    def source_sha256(self, clip: SourceClip) -> str:
        from ambon_cv.footage.probe import sha256_of

        return clip.sha256 or sha256_of(Path(clip.uri))


class S3Source:
    """An S3-compatible bucket (AWS, MinIO, Ceph): `s3://bucket/prefix/<camera>/.../*.mp4`.

    Credentials come from the usual AWS variables or profile; `endpoint_url` points at a
    non-AWS store.
    """

    def __init__(self, url: str, endpoint_url: str = "") -> None:
        import boto3
        from botocore.config import Config

        if not url.startswith("s3://"):
            raise SourceError(f"footage.location must be s3://bucket/prefix, got {url!r}")
        bucket, _, prefix = url[5:].partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.endpoint = endpoint_url or None
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5),
        )

    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint or 'AWS'}"

    def list(self) -> list[SourceClip]:
        from botocore.exceptions import BotoCoreError, ClientError

        clips = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    rel = PurePosixPath(key[len(self.prefix) :].lstrip("/"))
                    if rel.suffix.lower() not in VIDEO_EXTS or len(rel.parts) < 2:
                        continue
                    etag = obj["ETag"].strip('"')
                    clips.append(
                        SourceClip(
                            camera=rel.parts[0],
                            name=str(PurePosixPath(*rel.parts[1:])),
                            uri=f"s3://{self.bucket}/{key}",
                            size=int(obj["Size"]),
                            version=etag,
                            md5=etag if "-" not in etag else None,
                        )
                    )
        except (BotoCoreError, ClientError) as err:
            raise SourceError(
                f"cannot list {self._where()}: {err} "
                "(check footage.location, footage.s3_endpoint_url and the AWS credentials)"
            ) from None
        return clips

    def fetch(self, clip: SourceClip, part: Path, on_chunk: OnChunk | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        offset = part.stat().st_size if part.exists() else 0
        if offset >= clip.size:
            return
        key = clip.uri[len(f"s3://{self.bucket}/") :]
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={offset}-", IfMatch=f'"{clip.version}"'
            )
            with open(part, "ab") as dst:
                for block in response["Body"].iter_chunks(CHUNK):
                    dst.write(block)
                    if on_chunk:
                        on_chunk(len(block))
        except (BotoCoreError, ClientError) as err:
            raise SourceError(f"cannot fetch {clip.uri} from {self._where()}: {err}") from None

    def source_sha256(self, clip: SourceClip) -> str | None:
        head = self.client.head_object(Bucket=self.bucket, Key=clip.uri.split("/", 3)[3])
        return (head.get("Metadata") or {}).get("sha256")


def digests_of(path: Path) -> tuple[str, str]:
    """SHA-256 and MD5 of a file in one read."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            sha.update(block)
            md5.update(block)
    return sha.hexdigest(), md5.hexdigest()
