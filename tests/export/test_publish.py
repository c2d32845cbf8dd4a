"""Publishing a version: a git tag in GTO's format that `dvc artifacts get` resolves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ambon_cv.export.publish import PublishError, publish

DVC = str(Path(sys.executable).with_name("dvc"))


def sh(cwd: Path, *cmd: str) -> str:
    cmd = (DVC, *cmd[1:]) if cmd[0] == "dvc" else cmd
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


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
