"""What DVC shows: every committed report is strict JSON, each stage's headline is a handful of
numbers taken from its details, and dvc.yaml declares them as metrics and the curves as plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ambon_cv.metrics import HEADLINES, headline

ROOT = Path(__file__).resolve().parents[1]


def _refuse(constant: str):
    raise ValueError(f"not strict JSON: {constant}")


def _reports() -> list[Path]:
    return sorted(p for p in (ROOT / "reports").rglob("*.json") if "tmp" not in p.parts)


def test_every_report_is_strict_json():
    reports = _reports()
    assert len(reports) >= 12, reports
    for path in [*reports, ROOT / "data" / "real.json"]:
        json.loads(path.read_text(), parse_constant=_refuse)  # NaN and Infinity refused


@pytest.mark.parametrize("stage", sorted(HEADLINES))
def test_the_headline_is_a_few_numbers_taken_from_the_details(stage):
    assert len(HEADLINES[stage]) <= 15
    details = json.loads((ROOT / "reports" / f"{stage}.json").read_text())
    committed = json.loads((ROOT / "reports" / "metrics" / f"{stage}.json").read_text())
    assert committed == headline(stage, details)
    # every figure named is in the committed run's details (TensorRT needs a GPU)
    missing = set(HEADLINES[stage]) - set(committed)
    assert all(name.startswith("tensorrt") for name in missing), missing


def test_dvc_declares_the_headlines_as_metrics_and_the_curves_as_plots():
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    for stage in HEADLINES:
        metrics = [
            next(iter(m)) if isinstance(m, dict) else m
            for m in pipeline["stages"][stage]["metrics"]
        ]
        assert f"reports/metrics/{stage}.json" in metrics
        assert f"reports/{stage}.json" not in metrics  # the details are an output
    for plot in pipeline["plots"]:
        ((name, spec),) = plot.items()
        for path, columns in spec["y"].items():
            header = (ROOT / path).read_text().splitlines()[0].split("\t")
            wanted = columns if isinstance(columns, list) else [columns]
            assert {*wanted, spec["x"]} <= set(header), (name, path, header)
