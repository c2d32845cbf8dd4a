"""dvc.yaml: every stage is a subcommand of `ambon`, reads only its own params section, and
declares its deps and outs."""

from __future__ import annotations

from pathlib import Path

import yaml

from ambon_cv.cli import build_parser
from ambon_cv.config import Params

ROOT = Path(__file__).resolve().parents[1]


def test_each_stage_reads_only_its_own_section_and_declares_outs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    commands = {a for a in build_parser()._subparsers._group_actions[0].choices}
    for name, stage in stages.items():
        # its own section, plus named keys of another that DVC then tracks too (the bench
        # raises alerts by evaluate.alerts, the one set of alert rules)
        own, *shared = stage["params"]
        assert own == name, f"stage {name} reads {stage['params']}"
        assert all("." in key and key.split(".")[0] in Params.model_fields for key in shared)
        assert name in Params.model_fields, f"params.yaml has no section for stage {name}"
        assert stage["cmd"].split()[:2] == ["ambon", name] and name in commands
        assert stage["outs"], f"stage {name} declares no outs"
        for dep in stage["deps"]:
            outs = [
                next(iter(o)) if isinstance(o, dict) else o
                for s in stages.values()
                for o in s["outs"]
            ]
            produced = any(dep == o or dep.startswith(o + "/") for o in outs)
            assert produced or (ROOT / dep).exists(), f"stage {name}: dep {dep} missing"


def test_a_pull_reaches_the_next_fine_tune():
    """`ambon label pull` saves the annotators' work in data/labels: curate depends on it, so
    `dvc repro` applies the labels, and train (which depends on curate's export) fine-tunes."""
    from ambon_cv.curate.labelstudio import EXPORT

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert str(EXPORT.parent) in stages["curate"]["deps"]
    assert (ROOT / EXPORT.parent).is_dir()  # in git, so a fresh clone has the dep
    assert "data/curated/yolo" in stages["train"]["deps"]
