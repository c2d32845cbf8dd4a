"""The val split by source: frames of a registry camera are the synthetic city, the rest real."""

from __future__ import annotations

from ambon_cv.evaluate.frame import val_images


def test_val_images_split_the_city_from_the_real_photos(tmp_path):
    val = tmp_path / "images" / "val"
    val.mkdir(parents=True)
    names = ["pemkot-01_20261102T183501_000110.jpg", "polda-12_x.jpg", "000004_jpg.rf.1.jpg"]
    for name in [*names, "pemkot-010_other-camera.jpg"]:
        (val / name).write_bytes(b"")
    out = val_images(tmp_path / "dataset.yaml", {"pemkot-01", "polda-12"})
    assert [p.name for p in out["synthetic"]] == names[:2]
    assert [p.name for p in out["real"]] == ["000004_jpg.rf.1.jpg", "pemkot-010_other-camera.jpg"]
