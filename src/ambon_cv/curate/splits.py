"""Leakage-free splits.

Neighbouring frames of one camera look alike, so a random split puts near-copies on both
sides and flatters every metric. Camera footage is split by camera and time block: each block
of `block_s` seconds of one camera goes whole to train or val (seeded), and a val frame within
`gap_s` of a train frame of the same camera moves to `buffer` (used by neither). Sources that
carry their own grouping (a real photo set's own train/val, clips grouped by recording) keep it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np

from ambon_cv.config import SplitParams
from ambon_cv.curate.records import CurationRecord

SPLITS = ("train", "val", "buffer")


def _unit(seed: int, key: str) -> float:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def seconds(record: CurationRecord) -> float | None:
    """The frame's time on its camera's clock (absolute when the timestamp is known)."""
    if record.timestamp is not None:
        return record.timestamp.timestamp()
    return record.time_s


def assign_splits(records: list[CurationRecord], params: SplitParams) -> dict[str, int]:
    """Set `record.split` on every record; returns the count per split."""
    by_camera: dict[str, list[CurationRecord]] = defaultdict(list)
    for r in records:
        if r.split is None:
            by_camera[r.camera].append(r)
    for camera, frames in by_camera.items():
        times = np.array([seconds(r) if seconds(r) is not None else np.nan for r in frames])
        for r, t in zip(frames, times, strict=True):
            key = f"{camera}:{r.clip}" if np.isnan(t) else f"{camera}:{int(t // params.block_s)}"
            r.split = "val" if _unit(params.seed, key) < params.val_fraction else "train"
        train_t = np.sort(times[[r.split == "train" for r in frames]])
        for r, t in zip(frames, times, strict=True):
            if r.split != "val" or np.isnan(t) or not len(train_t):
                continue
            i = np.searchsorted(train_t, t)
            near = [abs(train_t[j] - t) for j in (i - 1, i) if 0 <= j < len(train_t)]
            if near and min(near) <= params.gap_s:
                r.split = "buffer"
    counts = dict.fromkeys(SPLITS, 0)
    for r in records:
        counts[r.split] = counts.get(r.split, 0) + 1
    return counts


def closest_cross_split_gap(records: list[CurationRecord]) -> float:
    """The smallest time between a val frame and a train frame of the same camera (inf if
    none share a camera): the leakage check the tests and the report use."""
    best = float("inf")
    by_camera: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        t = seconds(r)
        if t is not None and r.split in ("train", "val"):
            by_camera[r.camera][r.split].append(t)
    for splits in by_camera.values():
        train = np.sort(splits["train"])
        for t in splits["val"]:
            if len(train):
                i = np.searchsorted(train, t)
                for j in (i - 1, i):
                    if 0 <= j < len(train):
                        best = min(best, abs(train[j] - t))
    return best
