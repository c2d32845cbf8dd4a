"""Per-camera calibration: a restless camera's threshold raised to the budget on its own
footage, a camera with too little footage keeping the global one, known fights not counted,
and a clip that cannot be decoded named while the camera's other clips go on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ambon_cv.alerts import AlertEngine
from ambon_cv.config import AlertRules
from ambon_cv.detections import CLASSES, Detections
from ambon_cv.fights.budget import StreamedClip
from ambon_cv.fights.calibration import (
    calibrate_camera,
    calibrate_cameras,
    hot_spot_clips,
    known_fights,
    quiet_scores,
)
from ambon_cv.fights.classifier import FightModel

RULES = AlertRules(fight_keep=0.5, fight_min_s=1.0)
HOP = 0.5


def restless(minutes: float, bursts: list[float]) -> list[StreamedClip]:
    """A camera's footage: low scores with bursts of 4 windows (long enough to alert)."""
    scores = [0.1] * int(minutes * 60 / HOP)
    for n, peak in enumerate(bursts):
        scores[50 + 40 * n : 54 + 40 * n] = [peak] * 4
    return [StreamedClip("day", False, scores, minutes * 60)]


def test_a_restless_camera_is_raised_above_its_own_bursts():
    # 60 minutes with bursts up to 0.935: at the global 0.8 it raises 3 false alerts an hour
    k = calibrate_camera("pemkot-02", restless(60, [0.815, 0.875, 0.935]), RULES, HOP,
                         budget=0.5, global_open=0.8, min_minutes=5)  # fmt: skip
    assert k.how == "own footage" and k.open == pytest.approx(0.94) and k.false_alerts == 0
    # a budget of 1 an hour allows one of them: just above the second
    k = calibrate_camera("pemkot-02", restless(60, [0.815, 0.875, 0.935]), RULES, HOP,
                         budget=1.0, global_open=0.8, min_minutes=5)  # fmt: skip
    assert k.open == pytest.approx(0.88) and k.false_alerts == 1


def test_calibration_never_lowers_a_camera_under_the_global_threshold():
    k = calibrate_camera("quiet", restless(60, []), RULES, HOP, 0.5, 0.8, 5)
    assert k.open == pytest.approx(0.8) and k.how == "own footage"


def test_a_camera_with_too_little_footage_keeps_the_global_threshold():
    k = calibrate_camera("pemkot-04", restless(2, [0.95]), RULES, HOP, 0.5, 0.8, min_minutes=5)
    assert (k.open, k.how) == (0.8, "too little footage") and k.minutes == pytest.approx(2)
    none = calibrate_camera("pemkot-05", [], RULES, HOP, 0.5, 0.8, 5, ("x.mp4: corrupt",))
    assert none.how == "no footage decoded" and none.unreadable == ("x.mp4: corrupt",)


def test_known_fights_are_not_false_alerts():
    windows = [(t * HOP, 0.95 if 20 <= t * HOP <= 26 else 0.1) for t in range(4, 200)]
    assert max(quiet_scores(windows, [(19.0, 25.0)], window_s=2.0)) == pytest.approx(0.1)
    assert max(quiet_scores(windows, [], window_s=2.0)) == pytest.approx(0.95)


class Constant:
    """A classifier that finds a fight in every window: the worst case for a camera."""

    def predict_proba(self, x):
        return np.tile([0.001, 0.999], (len(x), 1))


def moving_clip(path: Path, seconds: float = 12.0, fps: int = 10) -> Path:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for i in range(int(seconds * fps)):
            image = np.zeros((96, 160, 3), np.uint8)
            image[30:60, (i * 3) % 130 : (i * 3) % 130 + 30] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


@pytest.mark.slow
def test_footage_of_the_manifest_calibrates_and_a_broken_clip_is_named(tmp_path):
    root = tmp_path
    clips = root / "data" / "footage" / "clips"
    (clips / "cam-a").mkdir(parents=True)
    (clips / "cam-b").mkdir(parents=True)
    good = moving_clip(clips / "cam-a" / "cam-a_1.mp4")
    other = moving_clip(clips / "cam-b" / "cam-b_1.mp4")
    broken = clips / "cam-a" / "cam-a_2.mp4"
    broken.write_bytes(b"not a video")
    rows = [
        {"camera": "cam-a", "path": str(good.relative_to(root)), "status": "ok"},
        {"camera": "cam-a", "path": str(broken.relative_to(root)), "status": "ok"},
        {"camera": "cam-b", "path": str(other.relative_to(root)), "status": "ok"},
        {"camera": "not-a-hot-spot", "path": "elsewhere.mp4", "status": "ok"},
    ]
    pd.DataFrame(rows).to_parquet(root / "data" / "footage" / "manifest.parquet")
    by_camera = hot_spot_clips(root, root / "data" / "footage", {"cam-a", "cam-b"})
    assert sorted(by_camera) == ["cam-a", "cam-b"] and len(by_camera["cam-a"]) == 2
    assert known_fights(root / "data" / "footage") == {}  # a recorder's export: none known

    model_dir = root / "model"
    features = {"width": 64, "interval_s": 0.2, "window_s": 2.0, "hop_s": 0.5}
    FightModel(Constant(), features, threshold=0.5, open_threshold=0.8).save(model_dir, {})
    out = calibrate_cameras(model_dir, by_camera, {}, RULES, budget=0.5, global_open=0.8,
                            min_minutes=0.1, workers=1, progress=False)  # fmt: skip
    assert out["cam-a"].unreadable and "cam-a_2.mp4" in out["cam-a"].unreadable[0]
    assert out["cam-a"].minutes > 0.1  # the good clip went on
    # a fight in every window: over budget even at the top, said so
    assert out["cam-b"].how == "over budget at the top" and out["cam-b"].open == 0.99
    engine = AlertEngine(RULES, fight_open=0.8, camera_open={"cam-b": out["cam-b"].open})
    window = Detections(np.array([[0, 0, 1, 1]]), np.array([CLASSES.index("fight")]),
                        np.array([0.9]), meta={"analytic": "fight"})  # fmt: skip
    for t in range(4):
        engine.update("cam-a", t * 0.5, window)
        engine.update("cam-b", t * 0.5, window)
    assert [a.camera for a in engine.alerts] == ["cam-a"]  # cam-b's own threshold holds it
