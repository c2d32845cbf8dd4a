"""Naming a published model: the `ambon-detector` artifact in dvc.yaml gets a version as an
annotated git tag `ambon-detector@vX.Y.Z` (GTO's convention), so a deployment fetches exactly
that version:

    dvc artifacts get <repo> ambon-detector --rev v0.1.0 -o ambon-detector/
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ambon_cv.errors import AmbonError
from ambon_cv.export.stage import ARTIFACT


class PublishError(AmbonError, RuntimeError):
    """The version cannot be published; the message says what to do."""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)


def tag_name(version: str) -> str:
    return f"{ARTIFACT}@v{version.removeprefix('v')}"


def quality_shortfalls(root: Path) -> list[str]:
    """What the export's model card says is below the quality floor (export.floor)."""
    card_file = root / "exports" / "model-card.json"
    if not card_file.is_file():
        raise PublishError("exports/model-card.json is missing: run the export stage first")
    quality = json.loads(card_file.read_text()).get("quality")
    if quality is None:
        raise PublishError(
            "exports/model-card.json predates the quality floor: rerun dvc repro export"
        )
    return list(quality.get("below", []))


def publish(root: Path, version: str, message: str = "", allow_weak: bool = False) -> str:
    """Tag HEAD as `ambon-detector@v<version>`; refuses when the exports are not committed (the
    tag would name weights nobody can fetch), the version exists, or the model is below the
    quality floor (unless `allow_weak`: the tag message then says so). Returns the tag."""
    tag = tag_name(version)
    if _git(root, "rev-parse", "--git-dir").returncode:
        raise PublishError(f"{root} is not a git repository; versions are git tags")
    below = quality_shortfalls(root)
    if below and not allow_weak:
        raise PublishError(
            "the model is below the quality floor (export.floor in params.yaml): "
            + "; ".join(below)
            + ". Train a better one, or publish anyway with --allow-weak (its model card "
            "already says so in its first line)"
        )
    status = _git(root, "status", "--porcelain", "--", "dvc.lock", "dvc.yaml", "params.yaml")
    if status.stdout.strip():
        raise PublishError(
            "dvc.lock, dvc.yaml or params.yaml has uncommitted changes; commit the export run "
            "(git add dvc.lock && git commit) and push its data (dvc push) first"
        )
    lock = (root / "dvc.lock").read_text() if (root / "dvc.lock").exists() else ""
    if "exports" not in lock:
        raise PublishError("dvc.lock has no export stage: run dvc repro export and commit it")
    if _git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}").returncode == 0:
        raise PublishError(f"{tag} already exists; raise export.version in params.yaml")
    done = _git(
        root,
        "tag",
        "-a",
        tag,
        "-m",
        (message or f"Registering artifact {ARTIFACT} version v{version}")
        + (f"\n\nBelow the quality floor: {'; '.join(below)}" if below else ""),
    )
    if done.returncode:
        raise PublishError(f"git tag {tag} failed: {done.stderr.strip()}")
    return tag
