"""Fitted frames in memory the decode processes and the inference process share.

Sending a fitted 256 px frame through a `multiprocessing.Queue` pickles it and pushes 192 KiB
through a pipe in 64 KiB pieces, waking the reader each time: 0.29 ms of CPU per frame, a
tenth of what inferring it costs. Instead a decode process writes the frame into a free slot
of a block both sides map and queues only the slot's number; the inference process copies the
slot into its batch and frees it.

Each decode process claims slots only from its own part of the block, so a slot has one
writer, and the inference process only ever frees slots.

Example:
    >>> import multiprocessing as mp
    >>> slots = FrameSlots(mp.get_context("spawn"), count=4, imgsz=8).attach(part=1, parts=2)
    >>> slots.claim(), slots.claim(), slots.claim()
    (2, 3, None)
    >>> slots.free([2]); slots.claim()
    2
"""

from __future__ import annotations

import numpy as np


class FrameSlots:
    def __init__(self, ctx, count: int, imgsz: int) -> None:
        self.count, self.imgsz = count, imgsz
        # raw shared memory, inherited by the processes it is handed to when they start
        self._pixels = ctx.RawArray("B", count * 3 * imgsz * imgsz)
        self._busy = ctx.RawArray("B", count)
        self._range = (0, count)

    def attach(self, part: int = 0, parts: int = 1) -> FrameSlots:
        """Map the block in this process; a writer claims only from slots `part` of `parts`."""
        self.frames = np.frombuffer(self._pixels, np.uint8).reshape(
            self.count, 3, self.imgsz, self.imgsz
        )
        self.busy = np.frombuffer(self._busy, np.uint8)
        size = self.count // parts
        lo = part * size
        self._range = (lo, self.count if part == parts - 1 else lo + size)
        return self

    def claim(self) -> int | None:
        """A free slot of this writer's part, marked busy; None when every one is in use."""
        lo, hi = self._range
        free = np.flatnonzero(self.busy[lo:hi] == 0)
        if not free.size:
            return None
        slot = lo + int(free[0])
        self.busy[slot] = 1
        return slot

    def free(self, slots: list[int]) -> None:
        self.busy[slots] = 0

    def __getstate__(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in ("frames", "busy")}
