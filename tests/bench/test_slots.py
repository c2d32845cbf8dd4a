"""Fitted frames through shared memory: a decode process writes a slot, another process
reads exactly that frame, and each writer claims only from its own part."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np

from ambon_cv.bench.slots import FrameSlots


def _write(slots: FrameSlots, part: tuple[int, int], numbers) -> None:
    slots.attach(*part)
    slot = slots.claim()
    slots.frames[slot] = slot + 1
    numbers.put(slot)


def test_a_frame_written_in_one_process_is_read_in_another():
    ctx = mp.get_context("spawn")
    slots = FrameSlots(ctx, count=6, imgsz=16)
    numbers = ctx.Queue()
    writers = [ctx.Process(target=_write, args=(slots, (w, 2), numbers)) for w in range(2)]
    for p in writers:
        p.start()
    got = sorted(numbers.get(timeout=60) for _ in writers)
    for p in writers:
        p.join(10)
    slots.attach()
    assert got == [0, 3]  # each writer's first slot, in its own half
    for slot in got:
        assert slots.busy[slot] == 1 and np.all(slots.frames[slot] == slot + 1)
    slots.free(got)
    assert not slots.busy.any()


def test_a_writer_whose_part_is_full_gets_no_slot():
    slots = FrameSlots(mp.get_context("spawn"), count=5, imgsz=8).attach(part=0, parts=2)
    assert [slots.claim(), slots.claim(), slots.claim()] == [0, 1, None]
    slots.free([1])
    assert slots.claim() == 1
