"""Recorded clips replayed live by one thread (`ClipReplay`): real-time pace, seamless loops,
keyframes only, and a broken clip that is reopened with backoff while the others go on."""

from __future__ import annotations

import os
import time

import av
import numpy as np
import pytest

from ambon_cv.bench.profiles import StreamProfile
from ambon_cv.bench.streams import ClipReplay, StreamSource


@pytest.fixture(scope="module")
def one_second_clip(tmp_path_factory):
    """A 1-s, 10 fps H.264 clip with a keyframe every 5 frames."""
    path = tmp_path_factory.mktemp("replay") / "one_second.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "5", "keyint_min": "5", "sc_threshold": "0", "bf": "0"}
        for k in range(10):
            image = np.full((48, 64, 3), k * 20, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _profile(name: str, decode: str = "all") -> StreamProfile:
    return StreamProfile(name, "pemkot-02", "sub", decode, 5.0, ("fight",))


def _play(replay: ClipReplay, seconds: float) -> list[list]:
    """Drive the replay as a worker does; every frame taken, with when it was taken."""
    taken: list[list] = [[] for _ in replay.clips]
    end = time.monotonic() + seconds
    while (now := time.monotonic()) < end:
        nxt = replay.advance(now)
        for k, clip in enumerate(replay.clips):
            frame = clip.take()
            if frame is not None:
                taken[k].append((time.monotonic(), frame))
        time.sleep(min(max(nxt - time.monotonic(), 0.0005), 0.01))
    return taken


def test_clips_play_at_real_time_pace_and_loop_without_a_gap(one_second_clip):
    replay = ClipReplay([(_profile("a"), StreamSource("clip", str(one_second_clip)))])
    (taken,) = _play(replay, 2.6)
    replay.close()
    stats = replay.clips[0].stats
    assert stats.loops == 2 and stats.errors == 0 and stats.overwritten == 0
    assert 25 <= len(taken) <= 27  # 10 frames a second, looped
    captured = np.array([f.captured for _, f in taken])
    assert np.allclose(np.diff(captured), 0.1, atol=1e-6)  # no gap where the clip starts over
    lateness = np.array([at - f.captured for at, f in taken])
    assert lateness.min() >= 0 and np.median(lateness) < 0.02  # handed out when it arrives


def test_keyframes_only_decodes_nothing_else(one_second_clip):
    replay = ClipReplay([(_profile("k", "keyframes"), StreamSource("clip", str(one_second_clip)))])
    (taken,) = _play(replay, 1.55)
    replay.close()
    assert [f.index for _, f in taken] == [0, 1, 2, 3]  # frames 0 and 5 of each second
    assert replay.clips[0].stats.decoded == 4  # the next keyframe waits, undecoded, to arrive


def test_a_keyframe_is_decided_on_when_it_arrives_by_the_schedule_then(one_second_clip):
    """The worker's scheduler moves a stream's slots while its next keyframe is on its way:
    the keyframe is decoded by where the slots are when it arrives, not were."""
    replay = ClipReplay([(_profile("k", "keyframes"), StreamSource("clip", str(one_second_clip)))])
    clip = replay.clips[0]
    _play(replay, 0.05)  # the first keyframe (every keyframe is wanted before any schedule)
    # a slot every 10 s, the next 5 s away: no keyframe of the coming seconds is needed
    clip.slot_period, clip.fresh_s, clip.next_slot = 10.0, 0.1, time.monotonic() + 5.0
    (early,) = _play(replay, 0.6)  # the keyframe at 0.5 s passes by undecoded
    clip.next_slot = time.monotonic() + 0.3  # the slot moved near: the 1.0 s keyframe it is
    (late,) = _play(replay, 0.5)
    replay.close()
    assert not early and clip.stats.skipped_keyframes >= 1
    assert [f.index for _, f in late] == [1]  # decoded the moment it arrived, for the slot


def test_a_broken_clip_is_named_retried_with_backoff_and_spares_the_others(
    one_second_clip, tmp_path
):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    replay = ClipReplay(
        [
            (_profile("broken"), StreamSource("clip", str(broken))),
            (_profile("good"), StreamSource("clip", str(one_second_clip))),
        ]
    )
    bad, good = _play(replay, 2.2)
    replay.close()
    b = replay.clips[0].stats
    assert not bad and "broken.mp4" in b.last_error
    assert b.errors == b.reconnects == 3  # at 0, 0.5 and 1.5 s: the backoff doubles
    # the second of two clips starts half a keyframe interval (1 s) later: phases are spread
    assert len(good) >= 11 and replay.clips[1].stats.errors == 0


def test_one_keyframe_is_decoded_for_each_slot():
    """A slot every 5 s with keyframes every 2 s: the first keyframe of the slot's window is
    decoded and the next one is not (the slot takes the first); once the slot is served and
    the next one set, that slot's first keyframe is."""
    from ambon_cv.bench.streams import Decoding

    d = Decoding()
    now = time.monotonic()
    d.slot_period, d.fresh_s, d.next_slot = 5.0, 0.5, now + 1.0
    assert not d._wanted(now + 0.2)  # stale for the slot at 1.0 s (it takes from 0.5 s on)
    assert d._wanted(now + 0.6) and not d._wanted(now + 2.6)  # the first, not the second
    d.next_slot = now + 6.0  # the slot at 1.0 s was served
    assert not d._wanted(now + 4.6) and d._wanted(now + 6.6)
