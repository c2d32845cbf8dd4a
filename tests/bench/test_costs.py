"""The what-fits arithmetic on given costs: the most cameras, the cores 55 need, and the share
of the analysis rates at which 55 fit."""

from __future__ import annotations

import pytest

from ambon_cv.bench.costs import HEADROOM, what_fits


def linear(decode: float, analysis: float):
    """Each stream costs `decode` CPU-s per s plus `analysis` at the default rates."""
    return lambda n, scale: n * (decode + analysis * scale)


def test_the_most_cameras_and_the_cores_fifty_five_need():
    fits = what_fits(linear(0.01, 0.1), cores=2, streams=55)
    assert fits["most_streams"] == int(2 * HEADROOM / 0.11)  # 15
    assert fits["cores_needed"] == pytest.approx(55 * 0.11 / HEADROOM, abs=0.01)
    # 55 x (0.01 + 0.1 r) <= 1.7  ->  r <= 0.209: a fifth of the default rates fits
    assert fits["rate_scale_for_all"] == 0.2


def test_a_box_that_holds_everything_and_one_that_holds_nothing():
    roomy = what_fits(linear(0.001, 0.01), cores=16, streams=55)
    assert roomy["rate_scale_for_all"] == 1.0
    assert roomy["most_streams"] == int(16 * HEADROOM / 0.011)  # 1236
    decode_bound = what_fits(linear(0.5, 0.01), cores=2, streams=55)
    assert decode_bound["most_streams"] == 3 and decode_bound["rate_scale_for_all"] is None


def test_the_bound_past_the_cores_sheds_as_the_scheduler_does():
    from ambon_cv.bench.costs import bound
    from ambon_cv.bench.profiles import StreamProfile

    hot = StreamProfile("h", "h", "sub", "all", 0.5, ("garbage", "fight"), fight=True)
    quiet = StreamProfile("q", "q", "sub", "keyframes", 0.5, ("garbage",))
    profiles = [hot] * 40 + [quiet] * 60
    decode = [0.01] * 40 + [0.002] * 60
    # needs 40 x 0.05 + 0.12 + 50 x 0.01 = 2.62 cores of 2: fights keep 60% (1.2 cores),
    # the keyframes 0.12, the detector the remaining 0.68: 68 frames/s, all 50 asked
    b = bound(profiles, decode, 0.01, n=2, fight_s=0.04, fight_share=0.6)
    assert b["cpu_needed"] == 2.62 and b["analysed_fps"] == 50
    # at 0.02 a frame the fights keep 1.2 cores and the detector sheds: each slot of a
    # keyframes-only stream pays its keyframe (0.004), not every keyframe of the stream
    b = bound(profiles, decode, 0.02, n=2, fight_s=0.04, fight_share=0.6)
    assert b["analysed_fps"] == 35.71  # (2 - 1.2) / ((50 x 0.02 + 60 x 0.002) / 50)
