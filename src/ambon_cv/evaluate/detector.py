"""The trained detector as evaluation and alerting see it: images in, `Detections` out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ambon_cv.detections import Detections
from ambon_cv.errors import AmbonError
from ambon_cv.footage.probe import sha256_of


class DetectorError(AmbonError, RuntimeError):
    """No usable model; the message says which stage to run."""


def model_version(weights: str | Path) -> str:
    """The exact model file: `best.pt@<first 10 hex of its sha256>`."""
    path = Path(weights)
    return f"{path.name}@{sha256_of(path)[:10]}" if path.is_file() else path.name


def trained_imgsz(model) -> int:
    """The image size an ultralytics model was trained at (640 when it does not say)."""
    trained = (getattr(model, "ckpt", None) or {}).get("train_args", {})
    return int(trained.get("imgsz") or 640)


class Detector:
    """An ultralytics model (.pt, or an exported format ultralytics loads) on the CPU or GPU.

    `imgsz` None: the size the model was trained at. `version` names the exact file (see
    `model_version`), for predictions that must say which model made them.
    """

    def __init__(
        self,
        weights: str | Path,
        imgsz: int | None,
        conf: float = 0.25,
        device: str = "cpu",
        batch: int = 16,
        iou: float = 0.7,
    ) -> None:
        from ultralytics import YOLO

        from ambon_cv.cores import on_every_core

        path = Path(weights)
        if not path.exists():
            raise DetectorError(f"no model at {path}: run the train stage first (dvc repro train)")
        self.model = on_every_core(YOLO(str(path)))
        imgsz = trained_imgsz(self.model) if imgsz is None else imgsz
        self.imgsz, self.conf, self.device, self.batch = imgsz, conf, device, batch
        self.iou = iou  # NMS: boxes of one class overlapping more than this are one
        self.path, self.name = path, path.name
        self.version = model_version(path)

    def __call__(self, images: Iterable[np.ndarray]) -> Iterator[Detections]:
        """Detections for each BGR image, in order (batched)."""
        chunk: list[np.ndarray] = []
        for image in images:
            chunk.append(image)
            if len(chunk) == self.batch:
                yield from self._run(chunk)
                chunk = []
        if chunk:
            yield from self._run(chunk)

    def _run(self, chunk: list[np.ndarray]) -> list[Detections]:
        results = self.model.predict(
            chunk, imgsz=self.imgsz, conf=self.conf, iou=self.iou, device=self.device,
            verbose=False,
        )  # fmt: skip
        return [Detections.from_ultralytics(r) for r in results]
