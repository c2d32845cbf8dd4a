"""dvc.yaml: every stage is a command of the registry, declares there the params it reads
(its own section, and named keys of another), and declares its code, deps and outs."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from ambon_cv.config import Params
from ambon_cv.registry import BY_NAME, STAGES

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

# the module that holds each stage's `run` (the registry's target)
ENTRY = {name: BY_NAME[name].target.partition(":")[0] for name in STAGES}


def _file(module: str) -> Path | None:
    base = SRC / Path(*module.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _imports(module: str) -> set[str]:
    """The ambon_cv modules `module` imports anywhere (at the top or inside a function), and
    the packages above each, which Python runs first."""
    path = _file(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(up + ([node.module] if node.module else []))
            found |= {name} | {f"{name}.{a.name}" for a in node.names}
    found = {m for m in found if m.startswith("ambon_cv")}
    found |= {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)}
    return {m for m in found if _file(m)}


def _closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        if (m := todo.pop()) not in seen:
            seen.add(m)
            todo += _imports(m)
    return seen


def test_each_stage_reads_only_its_own_section_and_declares_outs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert list(stages) == list(STAGES)
    for name, stage in stages.items():
        # its own section, plus named keys of another that DVC then tracks too (the bench
        # raises alerts by evaluate.alerts, the one set of alert rules); the registry gives the
        # stage these and nothing else (tests/test_registry.py runs every stage so)
        own, *shared = stage["params"]
        assert own == name, f"stage {name} reads {stage['params']}"
        assert all("." in key and key.split(".")[0] in Params.model_fields for key in shared)
        assert name in Params.model_fields, f"params.yaml has no section for stage {name}"
        assert tuple(stage["params"]) == BY_NAME[name].params, f"stage {name}: registry differs"
        assert stage["cmd"].split()[:2] == ["ambon", name]
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


def test_each_stage_declares_the_code_it_runs():
    """A change to any module a stage imports (its own package or shared code such as
    config.py, detections.py, plots.py) must make `dvc repro` run it again."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert set(ENTRY) == set(stages)
    for name, module in ENTRY.items():
        deps = stages[name]["deps"]
        files = sorted(str(_file(m).relative_to(ROOT)) for m in _closure(module))
        assert len(files) > 3, files  # the walk found the imports
        missing = [f for f in files if not any(f == d or f.startswith(d + "/") for d in deps)]
        assert not missing, f"stage {name} imports these but dvc.yaml does not declare them"
