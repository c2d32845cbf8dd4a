"""The README's everyday commands run as written, in a scratch copy of this checkout (its git
history, with the working tree's uncommitted files laid over it, and the set-up environment
linked in): where results are, comparing experiments, the plots. The commands that train or
serve are run by their own tests; `tests/test_readme.py` parses every line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT

README = (ROOT / "README.md").read_text()
WALKED = [  # the lines a newcomer runs first, each as the README writes it
    "ambon summary",
    "dvc metrics show",
    "make exps",
    "dvc metrics diff main",
    "dvc plots diff main",
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A clone of this checkout with its uncommitted and untracked files copied over."""
    dest = tmp_path_factory.mktemp("readme") / "ambon-cv"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    # `main` as the README compares against: the checkout's own main where it has one
    subprocess.run(["git", "branch", "-f", "main", head], cwd=dest, capture_output=True)
    changed = subprocess.run(
        ["git", "ls-files", "-m", "-o", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in changed:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    for linked in (".venv", ".cache"):  # what `make setup` built, linked in
        if (ROOT / linked).exists():
            (dest / linked).symlink_to(ROOT / linked)
    if (ROOT / ".dvc" / "config.local").is_file():  # set-up's settings (the offline plots page)
        shutil.copy2(ROOT / ".dvc" / "config.local", dest / ".dvc" / "config.local")
    (dest / "data").mkdir(exist_ok=True)
    return dest


def test_the_walked_lines_are_in_the_readme():
    lines = {x.split("#")[0].strip() for x in re.findall(r"^\S.*$", README, re.M)}
    blocks = "\n".join(re.findall(r"```bash\n(.*?)```", README, re.S))
    for line in WALKED:
        assert line in blocks or line in lines or f"`{line}`" in README, line


@pytest.mark.slow
@pytest.mark.parametrize("line", WALKED)
def test_a_readme_line_runs_in_a_scratch_copy(scratch, line):
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "AMBON_ROOT": str(scratch),
        "DVC_NO_ANALYTICS": "1",
    }
    out = subprocess.run(
        line, shell=True, cwd=scratch, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, f"{line}:\n{out.stdout[-1500:]}\n{out.stderr[-1500:]}"
    text = out.stdout + out.stderr
    assert "Traceback" not in text, text[-1500:]
    if line == "ambon summary":
        assert "quality" in text and "reports/index.md" in text
    if line == "dvc metrics show":
        assert "reports/metrics/" in text
    if line == "make exps":
        width = max(len(x) for x in out.stdout.splitlines()) if out.stdout.strip() else 0
        assert width <= 200, f"make exps is {width} characters wide"
    if line == "dvc plots diff main":
        page = scratch / "dvc_plots" / "index.html"
        assert page.is_file() and "cdn.jsdelivr" not in page.read_text()
