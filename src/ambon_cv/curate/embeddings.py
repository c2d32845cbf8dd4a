"""Image embeddings from our own models, for near-duplicates, uniqueness, representativeness
and leak detection. Nothing is downloaded.

- `ColorLayoutEmbedder` (default, no weights): colour histogram, a coarse grey layout and a
  grid of gradient-orientation histograms; deterministic and fast on a CPU.
- `DetectorEmbedder`: the pooled backbone features of a local ultralytics detector (`.pt`),
  once the train stage has produced one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ambon_cv.paths import under_root


class ColorLayoutEmbedder:
    name = "color-layout-v1"

    def embed(self, image: np.ndarray) -> np.ndarray:
        small = cv2.resize(image, (128, 72), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
        hist /= hist.sum() + 1e-9
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        layout = cv2.resize(gray, (16, 9), interpolation=cv2.INTER_AREA).ravel()
        layout = (layout - layout.mean()) / (layout.std() + 1e-6)
        gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
        mag, ang = cv2.cartToPolar(gx, gy)
        bins = (ang / (2 * np.pi) * 8).astype(int) % 8
        cells = []
        for rows in np.array_split(np.arange(72), 4):
            for cols in np.array_split(np.arange(128), 4):
                b = bins[np.ix_(rows, cols)].ravel()
                m = mag[np.ix_(rows, cols)].ravel()
                cells.append(np.bincount(b, weights=m, minlength=8))
        grad = np.concatenate(cells)
        grad /= np.linalg.norm(grad) + 1e-9
        vec = np.concatenate([hist * 4, layout / np.sqrt(len(layout)), grad]).astype(np.float32)
        return vec / (np.linalg.norm(vec) + 1e-9)

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack([self.embed(im) for im in images])


class DetectorEmbedder:
    """Pooled features of a local detector's backbone (ultralytics `embed`)."""

    def __init__(self, weights: str | Path, imgsz: int = 320) -> None:
        from ultralytics import YOLO

        self.model = YOLO(str(weights))
        self.imgsz = imgsz
        self.name = f"detector:{Path(weights).name}"

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        feats = self.model.embed(list(images), imgsz=self.imgsz, verbose=False)
        out = np.stack([f.detach().cpu().numpy().ravel() for f in feats]).astype(np.float32)
        return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-9)


def embedder_for(model: str, root: Path):
    """The detector's backbone when `model` names an existing local .pt, else colour layout."""
    if model:
        path = under_root(model, root)
        if not path.is_file():
            from ambon_cv.curate.records import CurationInputError

            raise CurationInputError(
                f"curate.embeddings.model: {path} does not exist (train a detector first, or "
                "leave it empty for the built-in embedder)"
            )
        return DetectorEmbedder(path)
    return ColorLayoutEmbedder()


def embed_files(
    paths: Sequence[Path], embedder, batch: int = 32, progress: bool = True
) -> np.ndarray:
    from tqdm.auto import tqdm

    out = []
    for i in tqdm(
        range(0, len(paths), batch),
        desc=f"embedding ({embedder.name})",
        disable=not progress,
        unit="batch",
    ):
        images = [cv2.imread(str(p)) for p in paths[i : i + batch]]
        out.append(embedder(images))
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)
