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
    # every figure named is in the run's details: a name left out is one the run did not
    # measure (TensorRT needs a GPU; the real checks need the real folders), never a wrong path
    missing = set(HEADLINES[stage]) - set(committed)
    unexplained = {
        name
        for name in missing
        if not name.startswith("tensorrt")
        and not _not_measured(details, HEADLINES[stage][name])
        and not (_needs_real(stage, name) and not _real_present())
    }
    assert not unexplained, unexplained


def _not_measured(details: dict, dotted: str) -> bool:
    """True where the details hold the key and say it was not measured (null)."""
    *parents, last = dotted.split(".")
    for key in parents:
        details = details.get(key) if isinstance(details, dict) else None
    return isinstance(details, dict) and last in details and details[last] is None


def _needs_real(stage: str, name: str) -> bool:
    return stage == "fights" or name.startswith("real_")


def _real_present() -> bool:
    listing = json.loads((ROOT / "data" / "real.json").read_text())
    return all(folder["present"] for folder in listing["folders"].values())


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
