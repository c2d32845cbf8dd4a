"""The README's commands are real: every `ambon` line parses with the command's own options,
every `make` target exists, every `dvc` subcommand is one DVC has, and every file or folder the
README names is in the checkout (or made by setup or the pipeline, said beside it)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ambon_cv.cli import build_parser

from .conftest import ROOT

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.S)
LINES = [
    line.split("#")[0].strip() for block in BLOCKS for line in block.splitlines() if line.strip()
]
DVC = str(Path(sys.executable).with_name("dvc"))


def test_the_readme_is_a_front_door():
    assert len(README.splitlines()) <= 250
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", README), "dated figures belong in reports/"


@pytest.mark.parametrize("line", [x for x in LINES if x.startswith("ambon ")])
def test_each_ambon_line_parses(line):
    args = shlex.split(line.replace("$PWD", str(ROOT)))[1:]
    build_parser().parse_args(args)  # exits (SystemExit) on an unknown command or option


def test_each_make_target_exists():
    targets = {
        m.group(1) for m in re.finditer(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M)
    }
    used = {x.split()[1] for x in LINES if x.startswith("make ")}
    assert used and used <= targets, used - targets


@pytest.mark.parametrize("line", sorted({x for x in LINES if x.startswith("dvc ")}))
def test_each_dvc_line_names_a_real_subcommand(line):
    words = shlex.split(line)[1:]
    sub = [w for w in words[:2] if not w.startswith("-") and w.isalpha()]
    out = subprocess.run([DVC, *sub, "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, f"{line}: {out.stderr[-300:]}"
    flags = [w.split("=")[0] for w in words if w.startswith("--")]
    for flag in flags:
        assert flag in out.stdout, f"{line}: dvc {' '.join(sub)} has no {flag}"


def test_the_files_the_readme_names_exist():
    named = set(
        re.findall(r"`((?:docs|notebooks|models/base|scripts|requirements)/[\w./-]+)`", README)
    )
    missing = [n for n in named if not (ROOT / n).exists() and "<" not in n]
    assert not missing, missing
