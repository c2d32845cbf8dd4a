"""The streaming fight analytic: a sliding window over a live stream, its scores turned into
alerts by the alert engine, and motion features that mean the same at any frame rate and size."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ambon_cv.alerts import AlertEngine
from ambon_cv.config import AlertRules
from ambon_cv.fights.analytic import FIGHT, FightStream
from ambon_cv.fights.classifier import FightModel
from ambon_cv.fights.footage import clip_windows, window_labels
from ambon_cv.fights.motion import (
    MotionIntervals,
    flows_a_second,
    region_features,
    slower_camera_features,
    window_features,
)
from ambon_cv.frames.sample import ClipDecodeError


class Scripted:
    """A classifier that answers a hand-made score sequence, one score per window."""

    def __init__(self, scores):
        self.scores, self.asked = list(scores), 0

    def predict_proba(self, x):
        s = self.scores[min(self.asked, len(self.scores) - 1)]
        self.asked += 1
        return np.array([[1 - s, s]] * len(x))


def frames(seconds: float, fps: float, size=(180, 320), seed=0):
    rng = np.random.default_rng(seed)
    for i in range(int(seconds * fps)):
        yield i / fps, rng.integers(0, 255, (*size, 3), np.uint8)


def alerts_for(scores, rules, fps=10.0, camera="pemkot-02"):
    model = FightModel(Scripted(scores), {"width": 64, "interval_s": 0.2}, threshold=0.5)
    stream = FightStream(model, window_s=1.0, hop_s=0.5)
    engine = AlertEngine(rules)
    windows = 0
    for t, image in frames(len(scores) * 0.5 + 1.5, fps):
        if (d := stream.push(t, image)) is not None:
            windows += 1
            assert d.class_id.tolist() == [FIGHT] and d.meta["analytic"] == "fight"
            x1, y1, x2, y2 = d.xyxy[0]
            assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
            engine.update(camera, t, d)
    return engine.alerts, windows


RULES = AlertRules(fight_open=0.8, fight_keep=0.5, fight_min_s=0.5, merge_s=1)


def test_a_window_every_hop_once_the_first_window_is_full():
    alerts, windows = alerts_for([0.1] * 10, RULES)
    # the first once 1 s of motion is in (less one interval of slack: 0.8 s), then one per
    # 0.5 s on average (rows end every 0.2 s: 1.4, 1.8, 2.4, 2.8 ...), through 6.4 s
    assert alerts == [] and windows == 12


def test_an_incident_of_windows_raises_one_alert():
    alerts, _ = alerts_for([0.1, 0.1, 0.9, 0.6, 0.7, 0.6, 0.1], RULES)
    assert len(alerts) == 1 and alerts[0].kind == "fight"
    assert alerts[0].first_seen_s == pytest.approx(1.8, abs=0.01)  # the window that opened it
    assert alerts[0].raised_s == pytest.approx(2.4, abs=0.01)  # once it lasted 0.5 s
    assert alerts[0].last_seen_s == pytest.approx(3.4, abs=0.01)  # open until the 0.1


def test_no_alert_under_the_opening_threshold_or_from_one_window():
    flicker = [0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1]  # never two in a row
    assert alerts_for(flicker, RULES)[0] == []
    assert alerts_for([0.75] * 8, RULES)[0] == []


def moving_square(path: Path, fps: float, width: int, seconds: float = 2.0) -> Path:
    """A square crossing the view at the same share of the width per second, whatever the
    frame rate and size."""
    import av

    height = width * 9 // 16
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(100))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(int(seconds * fps)):
            image = np.full((height, width, 3), 40, np.uint8)
            side = width // 8
            x = int((0.1 + 0.35 * i / fps) * width)  # 0.35 of the view's width per second
            y = height // 2 - side // 2 + int(0.05 * height * np.sin(i / fps * 12))
            image[y : y + side, x : x + side] = 220
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_features_mean_the_same_at_two_frame_rates_and_sizes(tmp_path):
    settings = {"width": 128, "interval_s": 0.16}
    slow = clip_windows(moving_square(tmp_path / "a.mp4", 10, 320), settings, 1.0, 0.5)
    fast = clip_windows(moving_square(tmp_path / "b.mp4", 25, 1280), settings, 1.0, 0.5)
    (_, xs, whole_slow, s1), (_, xf, whole_fast, s2) = slow, fast
    assert whole_slow.shape == whole_fast.shape and abs(len(xs) - len(xf)) <= 1
    assert s1 == pytest.approx(2.0, abs=0.3) and s2 == pytest.approx(2.0, abs=0.3)
    # intensity of the busiest place, mean over the clip: in shares of the view per interval,
    # so a 10 fps 320 px camera and a 25 fps 1280 px one measure the same motion
    assert whole_slow[0] == pytest.approx(whole_fast[0], rel=0.25)
    assert whole_slow[0] > 0.5  # and it is real motion, not zero against zero


def test_a_slower_cameras_view_measures_what_that_camera_measures(tmp_path):
    """A 25 fps clip seen at 1 of every 2 frames measures the motion a 12.5 fps camera
    measures of the same scene; a view slower than `slowest_fps` is left out."""
    settings = {"width": 128, "interval_s": 0.16}
    fast = moving_square(tmp_path / "fast.mp4", 25, 640)
    half, third = slower_camera_features(fast, [2, 3], 8.0, **settings)
    native = region_features(moving_square(tmp_path / "slow.mp4", 12.5, 640), **settings)
    assert half.shape == third.shape == native.shape
    assert half[0] == pytest.approx(native[0], rel=0.15)  # the busiest place's intensity
    assert half[0] > 0.5 and third[0] == pytest.approx(native[0], rel=0.3)
    ten = moving_square(tmp_path / "ten.mp4", 10, 320)
    assert slower_camera_features(ten, [2, 3], 8.0, **settings) == []  # 5 fps: too slow
    broken = tmp_path / "polda-04_broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    with pytest.raises(ClipDecodeError, match=r"polda-04_broken\.mp4"):
        slower_camera_features(broken, [2], 8.0)


def test_the_live_analytic_takes_each_camera_in_whole_steps_of_its_least_flows(tmp_path):
    """At least 10 flows a second: a 25 fps camera every 2nd frame (12.5), 20 and 30 fps every
    2nd and 3rd (10), 10 and 15 fps every frame; so a 25 fps camera's flow is exactly the
    slower-camera view training sees, while the clip itself trains at every frame."""
    for fps, flows in ((10, 10), (15, 15), (20, 10), (25, 12.5), (30, 10)):
        m = MotionIntervals(width=64, flow_fps=10)
        used = [t for t, image in frames(2.0, fps) if m.wants(t) and (m.push(t, image) or True)]
        assert len(used) / 2.0 == pytest.approx(flows) == flows_a_second(fps, 10)
    fast = moving_square(tmp_path / "fast.mp4", 25, 640)
    settings = {"width": 128, "interval_s": 0.16}
    live = region_features(fast, **settings, flow_fps=10)
    assert np.array_equal(live, slower_camera_features(fast, [2], 8.0, **settings)[0])
    capped = clip_windows(fast, {**settings, "stream_flow_fps": 10}, 1.0, 0.5)
    every = clip_windows(fast, settings, 1.0, 0.5)
    assert np.array_equal(capped[2], every[2])  # the whole clip: as training sees it
    assert np.array_equal(capped[2], region_features(fast, **settings))
    assert len(capped[1]) == len(every[1]) and not np.array_equal(capped[1], every[1])


@pytest.mark.parametrize(("fps", "step"), [(20, 2), (25, 2), (29.97, 3), (30, 3), (15, 1)])
def test_timestamps_rounded_to_the_millisecond_keep_the_same_step(fps, step):
    """A recorder that stamps frames to the millisecond (33, 34, 33 ms at 30 fps) must not
    tip a camera whose rate is a whole multiple of the least from one step to the next."""
    m = MotionIntervals(width=64, flow_fps=10)
    used = [
        k
        for k, (t, image) in enumerate(frames(3.0, fps))
        if m.wants(round(t, 3)) and (m.push(round(t, 3), image) or True)
    ]
    assert np.diff(used).tolist() == [step] * (len(used) - 1)


def test_motion_intervals_start_afresh_after_a_gap():
    m = MotionIntervals(width=64, interval_s=0.2, max_gap_s=1.0)
    rows = [m.push(t, img) for t, img in frames(1.0, 10)]
    assert sum(r is not None for r in rows) == 4
    assert m.push(5.0, np.zeros((180, 320, 3), np.uint8)) is None  # a dropped stream
    assert len(window_features([])) == len(window_features([[0.0] * 16] * 3))


def test_window_labels_leave_half_windows_out():
    ends = np.array([2.0, 4.0, 6.0, 8.0])
    assert window_labels(ends, 2.0, [(3.5, 6.0)]).tolist() == [0, -1, 1, 0]


def test_a_clip_that_cannot_be_decoded_is_named(tmp_path):
    broken = tmp_path / "polda-03_broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    with pytest.raises(ClipDecodeError, match=r"polda-03_broken\.mp4"):
        clip_windows(broken, {}, 2.0, 0.5)
