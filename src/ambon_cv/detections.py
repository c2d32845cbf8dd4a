"""The one record that crosses stage boundaries: boxes found (or known) in one frame.

Ground truth from the synthetic city, model output, evaluation, alerts and the benchmark all
speak `Detections`. Converters to and from other shapes live at the edges as classmethods, so
the core never imports a model library.

Example:
    >>> import numpy as np
    >>> d = Detections(xyxy=np.array([[10, 20, 50, 80]], dtype=np.float32),
    ...                class_id=np.array([CLASSES.index("garbage")]))
    >>> d.class_names()
    ['garbage']
    >>> len(d.filter(d.class_id == CLASSES.index("fight")))
    0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# The command center's classes. The first three match the street-garbage photo set.
CLASSES: tuple[str, ...] = ("garbage", "garbage_bin", "overflow", "fight", "person")


@dataclass(frozen=True)
class Detections:
    """Boxes in one frame, in pixels (x1, y1, x2, y2), with their class and confidence.

    `confidence` is 1.0 for ground truth; `object_id` is the object's known identity across
    frames (a synthetic actor), -1 when unknown; `track_id` is the identity a tracker gave it
    (`ambon_cv.inference.tracking`), -1 when untracked. Evaluation compares the two.
    """

    xyxy: np.ndarray
    class_id: np.ndarray
    confidence: np.ndarray | None = None
    object_id: np.ndarray | None = None
    track_id: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(xyxy)
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "class_id", _column(self.class_id, n, np.int64, "class_id"))
        conf = np.ones(n, np.float32) if self.confidence is None else self.confidence
        object.__setattr__(self, "confidence", _column(conf, n, np.float32, "confidence"))
        ids = np.full(n, -1, np.int64) if self.object_id is None else self.object_id
        object.__setattr__(self, "object_id", _column(ids, n, np.int64, "object_id"))
        tracks = np.full(n, -1, np.int64) if self.track_id is None else self.track_id
        object.__setattr__(self, "track_id", _column(tracks, n, np.int64, "track_id"))
        if n and (xyxy[:, 2] < xyxy[:, 0]).any() | (xyxy[:, 3] < xyxy[:, 1]).any():
            raise ValueError("Detections.xyxy: x2 < x1 or y2 < y1 in some box")

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls) -> Detections:
        return cls(xyxy=np.zeros((0, 4), np.float32), class_id=np.zeros(0, np.int64))

    @classmethod
    def merge(cls, parts: list[Detections]) -> Detections:
        """The boxes of every part, in order, as one record (the first part's `meta`).

        Example:
            >>> a = Detections(xyxy=np.array([[0, 0, 4, 4]]), class_id=np.array([0]))
            >>> len(Detections.merge([a, Detections.empty(), a]))
            2
        """
        if not parts:
            return cls.empty()
        return cls(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            class_id=np.concatenate([p.class_id for p in parts]),
            confidence=np.concatenate([p.confidence for p in parts]),
            object_id=np.concatenate([p.object_id for p in parts]),
            track_id=np.concatenate([p.track_id for p in parts]),
            meta=dict(parts[0].meta),
        )

    def with_tracks(self, track_id: np.ndarray) -> Detections:
        """The same boxes with the track ids a tracker gave them."""
        return Detections(
            self.xyxy, self.class_id, self.confidence, self.object_id, track_id, dict(self.meta)
        )

    @classmethod
    def from_ultralytics(cls, result: Any) -> Detections:
        """From one ultralytics `Results` (a model's output for one image). The model's class
        names are mapped to ours by name; classes we do not know are dropped."""
        boxes = result.boxes
        names = result.names
        ours = np.array(
            [
                CLASSES.index(names[int(c)]) if names[int(c)] in CLASSES else -1
                for c in boxes.cls.cpu().numpy()
            ],
            np.int64,
        )
        keep = ours >= 0
        return cls(
            xyxy=boxes.xyxy.cpu().numpy()[keep],
            class_id=ours[keep],
            confidence=boxes.conf.cpu().numpy()[keep],
        )

    def filter(self, keep: np.ndarray) -> Detections:
        """The detections where the boolean mask `keep` is true."""
        return Detections(
            xyxy=self.xyxy[keep],
            class_id=self.class_id[keep],
            confidence=self.confidence[keep],
            object_id=self.object_id[keep],
            track_id=self.track_id[keep],
            meta=dict(self.meta),
        )

    def to_fiftyone(self, width: int, height: int, truth: bool = False) -> Any:
        """FiftyOne `Detections` for a `width` x `height` image (relative [x, y, w, h] boxes).

        Model output keeps its confidence; ground truth (`truth=True`) keeps the object ids
        instead; a tracked box keeps its track id as FiftyOne's `index`. Call it after
        `ambon_cv.curate.db.connect()`, which points FiftyOne at the project's database.
        """
        import fiftyone as fo

        out = []
        for (x1, y1, x2, y2), c, s, oid, tid in zip(
            self.xyxy.tolist(),
            self.class_id.tolist(),
            self.confidence.tolist(),
            self.object_id.tolist(),
            self.track_id.tolist(),
            strict=True,
        ):
            box = [x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height]
            extra = {"object_id": int(oid)} if truth else {"confidence": float(s)}
            if tid >= 0:
                extra["index"] = int(tid)  # FiftyOne's object-track field
            out.append(fo.Detection(label=CLASSES[c], bounding_box=box, **extra))
        return fo.Detections(detections=out)

    @classmethod
    def from_fiftyone(cls, detections: Any, width: int, height: int) -> Detections:
        """From FiftyOne `Detections` (relative [x, y, w, h] boxes) of a `width` x `height`
        image; None (a sample without the field) gives no boxes. A box without a confidence
        is ground truth (1.0); its `object_id`, when stored, is kept.

        Raises:
            ValueError: a label that is not one of CLASSES, named.
        """
        found = list(detections.detections) if detections is not None else []
        unknown = sorted({d.label for d in found} - set(CLASSES))
        if unknown:
            raise ValueError(f"unknown class(es) {unknown}; known: {', '.join(CLASSES)}")
        boxes = [d.bounding_box for d in found]
        return cls(
            xyxy=np.array(
                [
                    [x * width, y * height, (x + w) * width, (y + h) * height]
                    for x, y, w, h in boxes
                ],
                np.float32,
            ).reshape(-1, 4),
            class_id=np.array([CLASSES.index(d.label) for d in found], np.int64),
            confidence=np.array(
                [1.0 if d.confidence is None else d.confidence for d in found], np.float32
            ),
            object_id=np.array([_object_id(d) for d in found], np.int64),
        )

    def to_supervision(self) -> Any:
        """`supervision.Detections` (for its annotators and trackers): `track_id` becomes
        `tracker_id` (`object_id` where nothing was tracked), and `class_name` rides along in
        `data`."""
        import supervision as sv

        tracked = (self.track_id >= 0).any()
        return sv.Detections(
            xyxy=self.xyxy.astype(np.float64),
            class_id=self.class_id,
            confidence=self.confidence,
            tracker_id=self.track_id if tracked else self.object_id,
            data={"class_name": np.array(self.class_names(), dtype=object)},
        )

    def to_labelstudio(
        self, width: int, height: int, from_name: str, to_name: str, prefix: str = "r"
    ) -> list[dict]:
        """Label Studio `rectanglelabels` results (percent of the image) for a `width` x
        `height` image; `from_name` and `to_name` are the labeling config's tag names."""
        out = []
        for k, ((x1, y1, x2, y2), c) in enumerate(
            zip(self.xyxy.tolist(), self.class_id.tolist(), strict=True)
        ):
            out.append(
                {
                    "id": f"{prefix}{k}",
                    "from_name": from_name,
                    "to_name": to_name,
                    "type": "rectanglelabels",
                    "original_width": width,
                    "original_height": height,
                    "image_rotation": 0,
                    "value": {
                        "x": 100 * x1 / width,
                        "y": 100 * y1 / height,
                        "width": 100 * (x2 - x1) / width,
                        "height": 100 * (y2 - y1) / height,
                        "rotation": 0,
                        "rectanglelabels": [CLASSES[c]],
                    },
                }
            )
        return out

    @classmethod
    def from_labelstudio(cls, results: list[dict], width: int, height: int) -> Detections:
        """The `rectanglelabels` results of one Label Studio annotation (other result types,
        such as choices, are not boxes and are left out); ground truth, confidence 1.

        Raises:
            ValueError: a label that is not one of CLASSES, named.
        """
        rects = [r["value"] for r in results if r.get("type") == "rectanglelabels"]
        labels = [v["rectanglelabels"][0] for v in rects]
        unknown = sorted(set(labels) - set(CLASSES))
        if unknown:
            raise ValueError(f"unknown class(es) {unknown}; known: {', '.join(CLASSES)}")
        return cls(
            xyxy=np.array(
                [
                    [
                        v["x"] * width / 100,
                        v["y"] * height / 100,
                        (v["x"] + v["width"]) * width / 100,
                        (v["y"] + v["height"]) * height / 100,
                    ]
                    for v in rects
                ],
                np.float32,
            ).reshape(-1, 4),
            class_id=np.array([CLASSES.index(c) for c in labels], np.int64),
        )

    def class_names(self) -> list[str]:
        return [CLASSES[i] for i in self.class_id]

    def to_columns(self) -> dict[str, list]:
        """Plain lists for one row of a Parquet table (see `from_columns`)."""
        return {
            "boxes": self.xyxy.round(1).tolist(),
            "classes": [CLASSES[i] for i in self.class_id],
            "object_ids": self.object_id.tolist(),
        }

    @classmethod
    def from_columns(cls, boxes: Any, classes: Any, object_ids: Any = None) -> Detections:
        """Inverse of `to_columns` (the frames table stores ground truth this way)."""
        boxes = [list(b) for b in (boxes if boxes is not None else [])]
        names = list(classes if classes is not None else [])
        unknown = sorted(set(names) - set(CLASSES))
        if unknown:
            raise ValueError(f"unknown class(es) {unknown}; known: {', '.join(CLASSES)}")
        return cls(
            xyxy=np.array(boxes, np.float32).reshape(-1, 4),
            class_id=np.array([CLASSES.index(c) for c in names], np.int64),
            object_id=None if object_ids is None else np.asarray(list(object_ids), np.int64),
        )


def _object_id(detection: Any) -> int:
    """A FiftyOne detection's stored object id, -1 when it has none."""
    value = detection["object_id"] if "object_id" in detection.field_names else None
    return -1 if value is None else int(value)


def _column(values: Any, n: int, dtype: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=dtype).reshape(-1)
    if len(arr) != n:
        raise ValueError(f"Detections.{name} has {len(arr)} values for {n} boxes")
    return arr
