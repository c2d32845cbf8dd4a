"""The val split by source: frames of a registry camera are the synthetic city, the rest real;
the figures of each source come from one validation pass."""

from __future__ import annotations

import pytest

from ambon_cv.evaluate.detector import Detector
from ambon_cv.evaluate.frame import headline, val_images


def test_val_images_split_the_city_from_the_real_photos(tmp_path):
    val = tmp_path / "images" / "val"
    val.mkdir(parents=True)
    names = ["pemkot-01_20261102T183501_000110.jpg", "polda-12_x.jpg", "000004_jpg.rf.1.jpg"]
    for name in [*names, "pemkot-010_other-camera.jpg"]:
        (val / name).write_bytes(b"")
    out = val_images(tmp_path / "dataset.yaml", {"pemkot-01", "polda-12"})
    assert [p.name for p in out["synthetic"]] == names[:2]
    assert [p.name for p in out["real"]] == ["000004_jpg.rf.1.jpg", "pemkot-010_other-camera.jpg"]


@pytest.mark.slow
def test_the_figures_of_each_source_from_one_pass_equal_validating_it_alone(
    project, registry, trained, tmp_path
):
    """`headline(groups=...)` keeps each val image's matches from the one validation and
    scores each group from them: the same figures as validating the group alone."""
    root = project[0]
    data = root / "data" / "curated" / "yolo" / "dataset.yaml"
    weights = root / "models" / "best.pt"
    imgsz = Detector(weights, None, 0.25, "cpu").imgsz
    groups = {k: v for k, v in val_images(data, {c.id for c in registry.cameras}).items() if v}
    # the tiny city's val split may hold one source only: a half of it is a group too
    everything = sorted(p for paths in groups.values() for p in paths)
    groups["first_half"] = everything[: max(1, len(everything) // 2)]
    groups["all"] = everything
    once = headline(weights, data, imgsz, "cpu", None, tmp_path, groups=groups)
    assert set(once["groups"]) == set(groups)
    # every image as a group: the validator's own figures, recomputed from the kept matches
    assert once["groups"]["all"] == {k: v for k, v in once.items() if k != "groups"}
    # one group validated alone (each is a validation of its own on a slow box)
    alone = headline(
        weights, data, imgsz, "cpu", None, tmp_path / "half", images=groups["first_half"]
    )
    assert once["groups"]["first_half"] == alone
