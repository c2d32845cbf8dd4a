"""Publishing a version: a git tag in GTO's format that `dvc artifacts get` resolves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ambon_cv.export.publish import PublishError, publish

DVC = str(Path(sys.executable).with_name("dvc"))


def sh(cwd: Path, *cmd: str) -> str:
    cmd = (DVC, *cmd[1:]) if cmd[0] == "dvc" else cmd
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def exported_repo(repo: Path, below: list[str]) -> Path:
    """A git repo with a committed export whose model card says what is below the floor."""
    repo.mkdir()
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "config", "user.email", "t@example.invalid")
    sh(repo, "git", "config", "user.name", "t")
    (repo / "exports").mkdir()
    card = {"quality": {"meets_floor": not below, "below": below}}
    (repo / "exports" / "model-card.json").write_text(json.dumps(card))
    (repo / "dvc.lock").write_text("stages:\n  export:\n    outs:\n    - path: exports\n")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "export")
    return repo


def test_a_model_below_the_quality_floor_is_not_tagged_unless_allowed(tmp_path):
    below = ["garbage incident recall 0.610 < 0.95"]
    repo = exported_repo(tmp_path / "repo", below)
    with pytest.raises(PublishError, match=r"below the quality floor.*recall 0\.610.*--allow-weak"):
        publish(repo, "0.1.0")
    assert "ambon-detector@v0.1.0" not in sh(repo, "git", "tag")

    assert publish(repo, "0.1.0", allow_weak=True) == "ambon-detector@v0.1.0"
    message = sh(repo, "git", "tag", "-n9", "ambon-detector@v0.1.0")
    assert "Below the quality floor: garbage incident recall 0.610 < 0.95" in message


def test_a_model_that_meets_the_floor_is_tagged(tmp_path):
    repo = exported_repo(tmp_path / "repo", [])
    assert publish(repo, "0.2.0") == "ambon-detector@v0.2.0"


@pytest.mark.slow
def test_a_published_version_is_fetched_by_dvc_artifacts_get(tmp_path):
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    repo.mkdir()
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "config", "user.email", "t@example.invalid")
    sh(repo, "git", "config", "user.name", "t")
    sh(repo, "dvc", "init", "-q")
    sh(repo, "dvc", "config", "core.analytics", "false")
    sh(repo, "dvc", "remote", "add", "-d", "local", str(remote))
    (repo / "exports").mkdir()
    (repo / "exports" / "model.onnx").write_bytes(b"weights v1")
    (repo / "exports" / "model-card.json").write_text('{"quality": {"below": []}}')
    (repo / "dvc.yaml").write_text(
        "artifacts:\n  ambon-detector:\n    path: exports\n    type: model\n"
        "stages:\n  export:\n    cmd: 'true'\n    outs:\n      - exports\n"
    )
    sh(repo, "dvc", "commit", "-f", "-q")
    sh(repo, "dvc", "push", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "export v1")

    assert publish(repo, "0.1.0") == "ambon-detector@v0.1.0"
    assert "ambon-detector@v0.1.0" in sh(repo, "git", "tag")
    with pytest.raises(PublishError, match="already exists"):
        publish(repo, "0.1.0")

    (repo / "dvc.yaml").write_text((repo / "dvc.yaml").read_text() + "# edited\n")
    with pytest.raises(PublishError, match="uncommitted"):
        publish(repo, "0.2.0")

    out = tmp_path / "fetched"
    sh(tmp_path, "dvc", "artifacts", "get", str(repo), "ambon-detector", "--rev", "v0.1.0",
       "-o", str(out))  # fmt: skip
    assert (out / "model.onnx").read_bytes() == b"weights v1"


def test_not_a_repository_says_so(tmp_path):
    with pytest.raises(PublishError, match="not a git repository"):
        publish(tmp_path, "0.1.0")
