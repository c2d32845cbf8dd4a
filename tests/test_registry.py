"""The stage contract: every command comes from the registry, and every pipeline stage runs with
only the params its dvc.yaml entry declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambon_cv.config import Params
from ambon_cv.contract import StageIO, StageParams, StageResult, UndeclaredParams
from ambon_cv.metrics import HEADLINES, headline
from ambon_cv.registry import BY_NAME, COMMANDS, STAGES, Command, run_command
from tests.stages import STAGE_RUNS

ROOT = Path(__file__).resolve().parents[1]


def reads_the_train_section(params: StageParams, io: StageIO) -> StageResult:
    """A stage that reads a section it did not declare."""
    return StageResult("wrong", [f"{params.train.epochs} epochs"])


def test_a_stage_reading_params_it_did_not_declare_fails_naming_the_key():
    wrong = Command("wrong", "", "", f"{__name__}:reads_the_train_section", ("frames",))
    with pytest.raises(UndeclaredParams, match=r"wrong reads params 'train'.*declares frames"):
        wrong.run(Params(), StageIO(ROOT))
    right = Command("right", "", "", f"{__name__}:reads_the_train_section", ("train",))
    assert right.run(Params(), StageIO(ROOT)).lines == [f"{Params().train.epochs} epochs"]


def test_a_declared_key_gives_that_key_alone():
    params = StageParams(Params(), ["bench", "evaluate.alerts"], "bench")
    assert params.bench.streams == 55
    assert params.evaluate.alerts.cooldown_s == Params().evaluate.alerts.cooldown_s
    with pytest.raises(UndeclaredParams, match=r"'evaluate\.conf'"):
        params.evaluate.conf  # noqa: B018
    with pytest.raises(UndeclaredParams, match="every params section"):
        params.everything  # noqa: B018
    with pytest.raises(AttributeError):  # a key that does not exist at all is no such attribute
        params.bench.no_such_key  # noqa: B018


def test_every_command_runs_a_function_that_exists_and_names_real_params():
    for command in COMMANDS:
        assert callable(command.function()), command.name
        for key in command.params:
            if key == "*":
                continue
            node = Params()
            for part in key.split("."):
                node = getattr(node, part)  # AttributeError names a key that does not exist


@pytest.mark.slow
def test_every_stage_ran_with_only_its_declared_params(reported_project):
    """The session's fixtures run the whole tiny pipeline through the registry; a stage that
    read an undeclared key would have raised there. Each result carries its headline."""
    missing = set(STAGES) - set(STAGE_RUNS)
    assert not missing, f"not run through the registry: {missing}"
    for name in STAGES:
        result = STAGE_RUNS[name]
        assert result.stage == name and result.exit_code == 0 and result.summary()
        if name in HEADLINES and result.metrics:  # (a bench run, not a sweep, has none)
            assert result.metrics == headline(name, result.details), name
    assert STAGE_RUNS["evaluate"].metrics["mAP50"] >= 0


def test_the_cli_is_the_registry():
    from ambon_cv.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    assert list(action.choices) == [c.name for c in COMMANDS]
    assert BY_NAME["bench"].stage and not BY_NAME["serve"].stage
    assert len((ROOT / "src/ambon_cv/cli.py").read_text().splitlines()) < 250


def test_run_command_is_what_ambon_runs(capsys):
    from ambon_cv.cli import main

    result = run_command("cameras", None, StageIO(ROOT), check=True)
    assert main(["cameras", "--check"]) == 0
    assert capsys.readouterr().out.strip() == result.summary()
