"""The export stage on the tiny trained project: every CPU format built, proven against the
PyTorch model by the evaluate code, timed, packed for Triton and described by a model card;
a format past its parity bound leaves the published exports untouched."""

from __future__ import annotations

import json
import shutil

import pytest

from ambon_cv.export import stage as export_stage
from ambon_cv.export.stage import ExportError, export
from tests.stages import run_stage

CPU_FORMATS = ["onnx", "openvino_fp16", "openvino_int8", "torchscript"]


@pytest.fixture(scope="module")
def exported(project, trained):
    root = project[0]
    report = run_stage("export", trained, root).details  # only its declared params
    return root, report


@pytest.mark.slow
def test_every_cpu_format_is_built_proven_and_timed(exported, capfd):
    root, report = exported
    formats = report["formats"]
    for name in CPU_FORMATS:
        assert formats[name]["status"] == "passed", formats[name]
        assert abs(formats[name]["drop"]) <= formats[name]["bound"]
    import torch

    if not torch.cuda.is_available():  # on a GPU box, test_tensorrt_on_a_gpu says what happens
        for name in ("tensorrt_fp16", "tensorrt_int8"):
            assert formats[name] == {
                "status": "skipped",
                "reason": "no GPU on this machine",
                "precision": name.split("_")[1],
            }
    exports = root / "exports"
    for path in ("model.onnx", "model.torchscript", "fp16_openvino_model/model.xml",
                 "int8_openvino_model/model.xml", "model-card.md", "model-card.json"):  # fmt: skip
        assert (exports / path).is_file(), path
    assert not (root / "exports.tmp").exists()
    # every format timed at every batch it takes, with its ratio to PyTorch eager
    speed = report["speed"]
    assert set(speed) == {"pytorch", *CPU_FORMATS}
    for cells in speed.values():
        assert set(cells) == {"1", "4"}
        assert all(c["images_per_s"] > 0 and c["x_pytorch"] > 0 for c in cells.values())
    assert speed["pytorch"]["1"]["x_pytorch"] == 1.0
    # the calibration set came from train only, and there were too few frames: said so
    assert 0 < report["calibration_frames"] < 300
    saved = json.loads((root / "reports" / "export.json").read_text())
    assert saved["formats"] == formats
    md = (root / "reports" / "export.md").read_text()
    assert "| openvino_int8 | passed |" in md and (root / "reports/export/speed.png").is_file()


@pytest.mark.slow
def test_the_model_card_names_data_metrics_and_limits(exported):
    root, report = exported
    card = json.loads((root / "exports" / "model-card.json").read_text())
    assert card["name"] == "ambon-detector" and card["version"] == "0.1.0"
    assert set(card["data_version"]) >= {"git_commit"}
    assert set(card["params"]) == {"export"} and card["imgsz"] == 64
    assert card["formats"] == report["formats"] and card["speed"] == report["speed"]
    assert "human review" in card["intended_use"]
    assert any("tensorrt_fp16 not built here" in x for x in card["known_limits"])
    md = (root / "exports" / "model-card.md").read_text()
    assert "## Known limits" in md and "| onnx | passed |" in md
    # a one-epoch model at 64 px is below the quality floor: the card's first line says so
    assert report["quality"]["below"] and card["quality"] == report["quality"]
    first = md.splitlines()[0]
    assert first.startswith("**BELOW THE QUALITY FLOOR**") and "--allow-weak" in first
    assert "Speed measured on " in md and card["machine"]


@pytest.mark.slow
def test_a_format_past_its_bound_fails_and_leaves_exports_alone(exported, trained, monkeypatch):
    root, _ = exported
    before = {p: p.stat().st_mtime_ns for p in (root / "exports").rglob("*")}
    real_headline = export_stage.headline

    def int8_degraded(weights, *args, **kw):
        m = real_headline(weights, *args, **kw)
        if "int8" in str(weights):  # past any bound, one box's worth (at most 1) included
            m["mAP50"] -= 1.5
            m["per_class"] = {
                c: {**v, "mAP50": v["mAP50"] - 1.5} for c, v in m["per_class"].items()
            }
        return m

    monkeypatch.setattr(export_stage, "headline", int8_degraded)
    quick = trained.model_copy(
        update={"export": trained.export.model_copy(update={"formats": ["onnx", "openvino_int8"]})}
    )
    with pytest.raises(ExportError, match=r"parity failed for openvino_int8.*--allow-degraded"):
        export(quick, root, progress=False)
    after = {p: p.stat().st_mtime_ns for p in (root / "exports").rglob("*")}
    assert before == after, "a rejected run touched exports/"
    assert (root / "exports.rejected" / "int8_openvino_model").is_dir()
    report = json.loads((root / "reports" / "export.json").read_text())
    assert report["formats"]["openvino_int8"]["status"] == "failed"
    assert "REJECTED" in (root / "reports" / "export.md").read_text()

    report = export(quick, root, allow_degraded=True, progress=False)
    assert report["formats"]["openvino_int8"]["status"] == "failed"
    card = json.loads((root / "exports" / "model-card.json").read_text())
    assert any("openvino_int8 failed its parity bound" in x for x in card["known_limits"])
    shutil.rmtree(root / "exports.rejected")
    monkeypatch.undo()
    export(trained, root, progress=False)  # leave the full export for the other tests


def test_no_model_says_which_stage_to_run(trained, tmp_path):
    with pytest.raises(ExportError, match=r"dvc repro train"):
        export(trained, tmp_path, progress=False)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "best.pt").write_bytes(b"")
    with pytest.raises(ExportError, match=r"dvc repro curate"):
        export(trained, tmp_path, progress=False)


@pytest.mark.gpu
def test_tensorrt_on_a_gpu(exported):
    """Where there is a CUDA device, the TensorRT formats are built and proven like the rest
    (or refused by their parity bound), never skipped."""
    _, report = exported
    for name in ("tensorrt_fp16", "tensorrt_int8"):
        cell = report["formats"][name]
        assert cell["status"] in ("passed", "failed"), cell
        if cell["status"] == "passed":
            assert abs(cell["drop"]) <= cell["bound"]
