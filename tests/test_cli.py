"""The `ambon` command as a person types it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ambon_cv.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def ambon(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ambon_cv.cli", *args], cwd=cwd, capture_output=True, text=True
    )


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_help_lists_every_subcommand():
    out = ambon("--help")
    assert out.returncode == 0
    for name in subcommands():
        assert name in out.stdout


@pytest.mark.parametrize("name", subcommands())
def test_each_subcommand_explains_itself(name):
    out = ambon(name, "--help")
    assert out.returncode == 0, out.stderr
    assert "usage: ambon " + name in out.stdout
    assert len(out.stdout.splitlines()) > 3


def test_cameras_check_summarises_the_registry(capsys):
    assert main(["cameras", "--check"]) == 0
    assert "55 cameras (32 Pemkot Ambon, 23 Polda Maluku)" in capsys.readouterr().out


def test_config_error_exits_2_with_the_key(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("frames:\n  rate_fsp: 2\n")
    out = ambon("params", "--params", str(bad))
    assert out.returncode == 2
    assert "frames.rate_fsp: unknown key (did you mean 'rate_fps'?)" in out.stderr
    assert "Traceback" not in out.stderr


def test_params_override_is_shown():
    out = ambon("params", "frames", "-S", "frames.rate_fps=2.5")
    assert out.returncode == 0, out.stderr
    assert "rate_fps: 2.5" in out.stdout


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("ambon")
    assert exe.exists(), "make setup installs the project in editable mode with its `ambon` script"
    out = subprocess.run([str(exe), "cameras", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_a_stage_error_is_one_actionable_line_and_exit_1(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    out = ambon("train", cwd=tmp_path)
    assert out.returncode == 1
    assert "run the curate stage first" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_single_bench_run_is_not_recorded_as_the_bench_stages_time(tmp_path, monkeypatch):
    # the summary's "last run of each stage" is the stage's (the sweep): a one-off
    # `ambon bench run` took 35 s and showed as the bench stage's time, which takes 12 minutes
    import ambon_cv.bench.stage as bench_stage
    from ambon_cv.contract import StageResult
    from ambon_cv.summary import TIMES

    monkeypatch.setenv("AMBON_ROOT", str(tmp_path))
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    calls: list[str] = []

    def fake(params, io, action="run", **options):
        calls.append(action)
        return StageResult("bench", [f"bench {action}"], timed=action == "sweep")

    monkeypatch.setattr(bench_stage, "run", fake)
    assert main(["bench", "run"]) == 0
    assert not (tmp_path / TIMES).exists()
    assert main(["bench", "sweep"]) == 0
    assert "bench" in (tmp_path / TIMES).read_text() and calls == ["run", "sweep"]
