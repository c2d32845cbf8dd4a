"""The train stage: a real (tiny) training run publishes models/, DVCLive metrics and a
report; an interrupted run resumes where it stopped; bad set-ups say what to do."""

from __future__ import annotations

import json

import pytest

from ambon_cv.config import TrainParams
from ambon_cv.train.trainer import TrainError, train

from ..conftest import tiny_yolo_dataset

TINY = dict(imgsz=64, batch=4, workers=0, cache=False, device="cpu")


def epochs_logged(root) -> list[int]:
    tsv = root / "dvclive" / "train" / "plots" / "metrics" / "metrics" / "mAP50.tsv"
    rows = tsv.read_text().splitlines()[1:]
    return [int(r.split("\t")[0]) for r in rows]


@pytest.mark.slow
def test_training_publishes_models_metrics_and_dvclive(tmp_path):
    data = tiny_yolo_dataset(tmp_path / "ds")
    result = train(TrainParams(epochs=2, **TINY), tmp_path, data=data)
    assert result.epochs_done == 2
    assert (tmp_path / "models" / "best.pt").is_file() and (
        tmp_path / "models" / "last.pt"
    ).is_file()
    report = json.loads((tmp_path / "reports" / "train.json").read_text())
    assert report["epochs"] == 2 and "metrics/mAP50" in report
    assert "metrics" in json.loads((tmp_path / "dvclive" / "train" / "metrics.json").read_text())
    assert epochs_logged(tmp_path) == [0, 1, 2]  # two epochs, then best.pt's validation


@pytest.mark.slow
def test_an_interrupted_run_resumes(tmp_path):
    data = tiny_yolo_dataset(tmp_path / "ds")
    seen = []

    def stop_after_first_epoch(trainer) -> None:
        seen.append(trainer.epoch)
        if trainer.epoch == 0:
            raise KeyboardInterrupt  # the data scientist's Ctrl-C, or a lost machine

    with pytest.raises(KeyboardInterrupt):
        train(
            TrainParams(epochs=3, **TINY),
            tmp_path,
            data=data,
            callbacks={"on_fit_epoch_end": stop_after_first_epoch},
        )
    assert (tmp_path / "runs" / "train" / "ambon" / "weights" / "last.pt").is_file()
    assert not (tmp_path / "models").exists(), "nothing is published from a broken run"

    result = train(TrainParams(epochs=3, **TINY), tmp_path, resume=True, data=data)
    assert result.epochs_done == 3
    assert seen == [0]
    assert epochs_logged(tmp_path) == [0, 1, 2, 3], "DVCLive continues the interrupted run"


def test_bad_setups_say_what_to_do(tmp_path):
    with pytest.raises(TrainError, match="run the curate stage first"):
        train(TrainParams(), tmp_path)
    data = tiny_yolo_dataset(tmp_path / "ds")
    with pytest.raises(TrainError, match="weights are never downloaded"):
        train(TrainParams(model="yolo11n.pt"), tmp_path, data=data)
    with pytest.raises(TrainError, match="nothing to resume"):
        train(TrainParams(), tmp_path, resume=True, data=data)


@pytest.mark.slow
def test_make_runs_fine_tune_starts_from_the_released_base(project, trained):
    import torch
    from ultralytics import YOLO

    root = project[0]
    report = json.loads((root / "reports" / "train.json").read_text())
    assert report["epochs"] == 1 and report["start"].endswith("models/base/ambon-base-v2.pt")
    base = YOLO(report["start"]).model
    tuned = YOLO(str(root / "models" / "best.pt")).model
    backbone = list(zip(base.model[0].parameters(), tuned.model[0].parameters(), strict=True))
    assert backbone and all(torch.equal(b, t) for b, t in backbone), "train.freeze: 1 keeps it"
    head = zip(base.model[-1].parameters(), tuned.model[-1].parameters(), strict=True)
    assert any(not torch.equal(b, t) for b, t in head), "one epoch moved the head"
