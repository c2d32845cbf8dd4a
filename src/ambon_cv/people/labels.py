"""People labels: the teacher's person boxes on the real frames, kept as text in git beside the
base that learned from them (`models/base/people-labels.json`).

Nobody boxed the people in the real photos and clips. The teacher (`ambon_cv.people.teacher`)
boxes them once, when a base is built (`ambon base people`); every box keeps its confidence,
so the thresholds below can change without running the teacher again. The curate stage adds
them to the real frames' ground truth, which is how `make run` keeps its people on a fresh
clone without the teacher:

- train frames get the boxes at or above `curate.people.train_conf` (chosen by looking: see
  the base's card);
- val frames, whole recordings and photos the base never trains on, get only the boxes at or
  above `curate.people.check_conf`, where the teacher is nearly always right: that is the
  real-person check the evaluate stage reports per source.

A frame the teacher saw and found nobody in keeps an empty list: for a clip frame (labelled
only per clip) it becomes a frame with no person, not a frame of unknown content.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ambon_cv.detections import CLASSES, Detections
from ambon_cv.errors import AmbonError

LABELS_FILE = Path("models") / "base" / "people-labels.json"
PERSON = CLASSES.index("person")


class PeopleLabelsError(AmbonError, ValueError):
    """A people labels file that cannot be read; the message names it."""


@dataclass
class PeopleLabels:
    """Each real frame's person boxes: frame id -> rows of (x1, y1, x2, y2, confidence)."""

    teacher: dict = field(default_factory=dict)
    frames: dict[str, list[list[float]]] = field(default_factory=dict)
    made: str = ""

    def people(self, frame_id: str, min_conf: float) -> Detections | None:
        """The frame's people at or above `min_conf`; None when the teacher never saw it.

        Example:
            >>> labels = PeopleLabels(frames={"a": [[0, 0, 10, 20, 0.9], [5, 5, 9, 9, 0.3]]})
            >>> len(labels.people("a", 0.5)), labels.people("b", 0.5) is None
            (1, True)
        """
        rows = self.frames.get(frame_id)
        if rows is None:
            return None
        arr = np.asarray(rows, np.float32).reshape(-1, 5)
        arr = arr[arr[:, 4] >= min_conf]
        return Detections(
            xyxy=arr[:, :4], class_id=np.full(len(arr), PERSON, np.int64), confidence=arr[:, 4]
        )

    def add(self, frame_id: str, people: Detections) -> None:
        self.frames[frame_id] = [
            [*(round(float(v), 1) for v in box), round(float(c), 3)]
            for box, c in zip(people.xyxy, people.confidence, strict=True)
        ]

    def save(self, path: Path) -> Path:
        """Written whole to a temporary file and moved into place; one frame per line, so a
        diff between two teacher runs reads frame by frame."""
        path.parent.mkdir(parents=True, exist_ok=True)
        head = json.dumps({"teacher": self.teacher, "made": self.made or _now()})
        rows = ",\n".join(
            f"  {json.dumps(fid)}: {json.dumps(boxes)}"
            for fid, boxes in sorted(self.frames.items())
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f'{head[:-1]}, "frames": {{\n{rows}\n}}}}\n')
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> PeopleLabels:
        """Raises:
        PeopleLabelsError: the file is not JSON, or a row is not five numbers (named)."""
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise PeopleLabelsError(f"{path}: not a people labels file ({err})") from None
        frames = data.get("frames", {})
        for fid, rows in frames.items():
            if not all(isinstance(r, list) and len(r) == 5 for r in rows):
                raise PeopleLabelsError(
                    f"{path}: frame {fid}: each box is [x1, y1, x2, y2, confidence]"
                )
        return cls(teacher=data.get("teacher", {}), frames=frames, made=data.get("made", ""))

    def counts(self, min_conf: float) -> dict[str, int]:
        boxes = sum(1 for rows in self.frames.values() for r in rows if r[4] >= min_conf)
        empty = sum(1 for rows in self.frames.values() if not any(r[4] >= min_conf for r in rows))
        return {"frames": len(self.frames), "boxes": boxes, "frames_without_people": empty}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def label_records(
    records: Iterable, teacher, progress: bool = True, chunk: int = 64
) -> tuple[PeopleLabels, list]:
    """The teacher's people in every real record's image (`CurationRecord`s whose source is
    `real`), read `chunk` images at a time; returns the labels and the images that could not
    be read (left out, named)."""
    import cv2
    from tqdm import tqdm

    real = [r for r in records if r.source == "real"]
    unreadable: list[str] = []
    labels = PeopleLabels(teacher=teacher.describe())
    with tqdm(total=len(real), disable=not progress, desc="teacher: people in real frames",
              unit="frame") as bar:  # fmt: skip
        for start in range(0, len(real), chunk):
            loaded = []
            for r in real[start : start + chunk]:
                image = cv2.imread(str(r.filepath))
                if image is None:
                    unreadable.append(str(r.filepath))
                else:
                    loaded.append((r.frame_id, image))
            for (fid, _), people in zip(loaded, teacher(i for _, i in loaded), strict=True):
                labels.add(fid, people)
            bar.update(len(real[start : start + chunk]))
    labels.made = _now()
    return labels, unreadable


def add_people(records: list, labels: PeopleLabels, train_conf: float, check_conf: float) -> dict:
    """Each real record's people (train split at `train_conf`, val at `check_conf`) added to
    its ground truth, replacing any person box it had (the real sets box no people). A teacher
    box mostly inside a hand-drawn box of another class is left out: the teacher takes a
    bulging garbage bag or a bin for a person, and the hand-drawn box says what it is. A clip
    frame known only by its clip label becomes a frame whose boxes are its people. Returns
    the frames and boxes added per split."""
    added: dict[str, Counter] = {}
    for r in records:
        if r.source != "real":
            continue
        people = labels.people(r.frame_id, check_conf if r.split == "val" else train_conf)
        if people is None:
            continue
        kept = r.truth.filter(r.truth.class_id != PERSON) if r.truth is not None else None
        if kept is not None:
            people = people.filter(~covered(people.xyxy, kept.xyxy))
        r.truth = people if kept is None else Detections.merge([kept, people])
        count = added.setdefault(r.split or "train", Counter())
        count["frames"] += 1
        count["people"] += len(people)
    return {split: dict(c) for split, c in sorted(added.items())}


def covered(boxes: np.ndarray, others: np.ndarray, share: float = 0.5) -> np.ndarray:
    """Which of `boxes` have at least `share` of their area inside one of `others`.

    Example:
        >>> covered(np.array([[0, 0, 10, 10], [20, 0, 30, 10]]), np.array([[0, 0, 10, 6]]))
        array([ True, False])
    """
    if not len(boxes) or not len(others):
        return np.zeros(len(boxes), bool)
    b, o = boxes[:, None, :], others[None, :, :]
    w = np.minimum(b[..., 2], o[..., 2]) - np.maximum(b[..., 0], o[..., 0])
    h = np.minimum(b[..., 3], o[..., 3]) - np.maximum(b[..., 1], o[..., 1])
    inside = w.clip(0) * h.clip(0)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return (inside / np.maximum(area, 1e-9)[:, None] >= share).any(axis=1)
