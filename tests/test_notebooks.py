"""The notebooks: committed without outputs, and each one runs top to bottom (papermill) on
the tiny project with small sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def test_the_five_stories_are_there():
    assert ALL == [
        "01_footage.ipynb",
        "02_curate.ipynb",
        "03_train.ipynb",
        "04_evaluate.ipynb",
        "05_benchmark.ipynb",
    ]


@pytest.mark.parametrize("name", ALL)
def test_committed_without_outputs(name):
    nb = json.loads((NOTEBOOKS / name).read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{name} has outputs: clear them before committing "
                "(jupyter nbconvert --clear-output --inplace notebooks/*.ipynb)"
            )
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{name} needs one cell tagged 'parameters' for papermill"


SIZES = {
    "01_footage.ipynb": {"cameras": 2, "per_camera": 1, "clips": 5},
    "02_curate.ipynb": {"dataset": "t-eval"},
    "03_train.ipynb": {"run_training": True, "epochs": 1, "imgsz": 64},
    "04_evaluate.ipynb": {"dataset": "t-eval", "worst": 3},
    "05_benchmark.ipynb": {
        "live_streams": 2,
        "live_seconds": 3.0,
        "overrides": {"bench.max_batch": 8},
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_runs_top_to_bottom_on_the_tiny_project(name, reported_project, tmp_path):
    import papermill

    root, _ = reported_project
    out = tmp_path / name
    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(out),
        parameters={"root": str(root), **SIZES[name]},
        kernel_name="python3",
        cwd=str(root),
        progress_bar=False,
    )
    executed = json.loads(out.read_text())
    errors = [
        o for c in executed["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert not errors
    images = [
        o
        for c in executed["cells"]
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert images, f"{name} showed no plot"
