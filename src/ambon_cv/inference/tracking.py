"""Tracking: people and piles keep one identity across a camera's frames.

ultralytics' ByteTrack (motion and overlap only: no re-identification weights to download)
runs once per tracked class, so a person never inherits a pile's track; each (class, track)
pair gets one id unique within the camera's tracker. Boxes ByteTrack does not keep (too weak
to start a track) stay in the record with track id -1, so tracking never hides a detection.

Example:
    >>> import numpy as np
    >>> from ambon_cv.detections import CLASSES, Detections
    >>> tracker = Tracker(frame_rate=5)
    >>> person = CLASSES.index("person")
    >>> ids = []
    >>> for x in (10, 14, 18):
    ...     d = Detections(xyxy=np.array([[x, 20, x + 30, 100]]), class_id=np.array([person]),
    ...                    confidence=np.array([0.9]))
    ...     ids.append(int(tracker.update(d).track_id[0]))
    >>> ids[1] == ids[2] != -1
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from types import SimpleNamespace

import numpy as np

from ambon_cv.detections import CLASSES, Detections

TRACKED = ("person", "garbage", "garbage_bin", "overflow")


class Tracker:
    """One camera's tracks. Feed it every analysed frame of that camera, in order.

    Args:
        frame_rate: analysed frames a second (how long a lost track is kept scales with it).
        classes: the classes tracked; others pass through untracked.
        lost_s: seconds a track survives unseen before its id is retired.
        min_confidence: the least confidence that starts a track (ByteTrack's second stage
            still matches boxes down to 0.1 to existing tracks).
    """

    def __init__(
        self,
        frame_rate: float,
        classes: Iterable[str] = TRACKED,
        lost_s: float = 2.0,
        min_confidence: float = 0.25,
    ):
        from ultralytics.trackers.byte_tracker import BYTETracker

        rate = max(1, round(frame_rate))
        args = SimpleNamespace(
            track_high_thresh=min_confidence,
            track_low_thresh=0.1,
            new_track_thresh=min_confidence,
            track_buffer=max(1, round(lost_s * rate)),
            match_thresh=0.8,
            fuse_score=True,
        )
        self._trackers = {CLASSES.index(c): BYTETracker(args) for c in classes}
        self._ids: dict[tuple[int, int], int] = {}

    def update(self, detections: Detections, shape: tuple[int, int] = (1080, 1920)) -> Detections:
        """`detections` with their track ids (-1 for a box no track took); `shape` (height,
        width) is the frame's (ByteTrack works in pixels; the shape only sizes its record)."""
        from ultralytics.engine.results import Boxes

        track_id = np.full(len(detections), -1, np.int64)
        for cls, tracker in self._trackers.items():
            where = np.flatnonzero(detections.class_id == cls)
            rows = np.column_stack(
                [detections.xyxy[where], detections.confidence[where], np.full(len(where), cls)]
            ).astype(np.float32)
            # every frame, also without boxes of the class: lost tracks age by frames
            for row in tracker.update(Boxes(rows.reshape(-1, 6), shape)):
                tid, idx = int(row[4]), int(row[7])
                track_id[where[idx]] = self._ids.setdefault((cls, tid), len(self._ids))
        return detections.with_tracks(track_id)


def identity(frames: Iterable[tuple[Detections, Detections]], cls: str, iou: float = 0.5) -> dict:
    """How well tracks keep a ground-truth object's identity, over one clip's frames given as
    (truth with object ids, tracked detections) pairs, for class `cls`.

    - `objects`: ground-truth objects matched at least once;
    - `id_switches`: times a matched object's track id changed from one match to the next;
    - `purity`: the share of matched frames in which an object carries its most frequent
      track id (1.0: one track per object from first sight to last).

    Example (one person tracked as 0, 0, then 1: one switch, purity 2/3):
        >>> import numpy as np
        >>> p = CLASSES.index("person")
        >>> gt = Detections(np.array([[0, 0, 10, 30]]), np.array([p]), object_id=np.array([7]))
        >>> seen = [gt.with_tracks(np.array([t])) for t in (0, 0, 1)]
        >>> r = identity(zip([gt] * 3, seen), "person")
        >>> r["objects"], r["id_switches"], round(r["purity"], 3)
        (1, 1, 0.667)
    """
    c = CLASSES.index(cls)
    history: dict[int, list[int]] = {}
    for truth, tracked in frames:
        gt = truth.filter(truth.class_id == c)
        found = tracked.filter((tracked.class_id == c) & (tracked.track_id >= 0))
        for g, f in _matches(gt.xyxy, found.xyxy, iou):
            history.setdefault(int(gt.object_id[g]), []).append(int(found.track_id[f]))
    switches = sum(sum(1 for a, b in pairwise(h) if a != b) for h in history.values())
    matched = sum(len(h) for h in history.values())
    majority = sum(max(h.count(t) for t in set(h)) for h in history.values())
    return {
        "objects": len(history),
        "matched_frames": matched,
        "id_switches": switches,
        "purity": majority / matched if matched else None,
    }


def _matches(gt: np.ndarray, found: np.ndarray, iou: float) -> list[tuple[int, int]]:
    """Greedy one-to-one matches of ground-truth and found boxes, best overlap first."""
    if not len(gt) or not len(found):
        return []
    import supervision as sv

    overlap = sv.box_iou_batch(gt.astype(np.float64), found.astype(np.float64))
    out, used_g, used_f = [], set(), set()
    for g, f in zip(*np.unravel_index(np.argsort(-overlap, axis=None), overlap.shape), strict=True):
        if overlap[g, f] < iou:
            break
        if g not in used_g and f not in used_f:
            out.append((int(g), int(f)))
            used_g.add(g)
            used_f.add(f)
    return out
