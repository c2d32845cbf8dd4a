"""The fight hours: held-out hot-spot footage rendered with its own seed and fight rate,
played through the fight analytic alone, with counts and intervals beside every rate, at the
model's threshold and a camera's calibrated one."""

from __future__ import annotations

import numpy as np
import pytest

from ambon_cv.config import AlertRules, FightHours
from ambon_cv.evaluate.fight_hours import fight_city, fight_hours, replay
from ambon_cv.fights.classifier import FightModel


class Always:
    """A classifier that scores every window a fight (0.97, calibrated as it comes)."""

    def predict_proba(self, x):
        return np.tile([0.03, 0.97], (len(x), 1))


def test_the_fight_city_is_the_hot_spots_with_its_own_seed_and_rate(registry, tiny_cfg):
    hot = [c for c in registry.cameras if c.analytic("fight") is not None][:2]
    city = fight_city(hot, tiny_cfg, FightHours(seed=5, clip_seconds=60, fights_per_camera_hour=9))
    assert city.seed == 5 and city.cameras == [c.id for c in hot] and city.clip_seconds == 60
    assert city.incidents_per_camera_hour.fight == 9
    assert (
        city.incidents_per_camera_hour.garbage_dump
        == tiny_cfg.incidents_per_camera_hour.garbage_dump
    )


def test_replay_counts_alerts_against_incidents_with_intervals():
    windows = {"clip-a": [(t * 0.5, 0.95 if 10 <= t * 0.5 <= 14 else 0.1) for t in range(4, 80)]}
    incidents = [{"camera": "clip-a", "kind": "fight", "start_s": 9.0, "end_s": 15.0}]
    rules = AlertRules(fight_keep=0.5, fight_min_s=1.0)
    hit = replay(windows, incidents, rules, 0.9, hours=0.01)
    assert (hit["incidents"], hit["detected"], hit["false_alerts"]) == (1, 1, 0)
    assert hit["false_alerts_per_camera_hour_95"][0] == 0.0
    missed = replay(windows, incidents, rules, 0.96, hours=0.01)  # never opens
    assert missed["detected"] == 0 and missed["incident_recall_with_open_alerts"] == 0.0
    # the clip's camera calibrated above its bursts: nothing, even at a low global threshold
    held = replay(windows, incidents, rules, 0.6, hours=0.01, camera_open={"clip-a": 0.99})
    assert held["alerts"] == 0


@pytest.mark.slow
def test_an_analytic_that_always_fires_finds_every_fight_and_is_all_false_alarm(
    tmp_path, registry, tiny_cfg
):
    hot = [c for c in registry.cameras if c.analytic("fight") is not None][:2]
    model_dir = tmp_path / "model"
    features = {"width": 64, "interval_s": 0.2, "window_s": 2.0, "hop_s": 0.5}
    FightModel(Always(), features, threshold=0.5, open_threshold=0.9).save(model_dir, {})
    p = FightHours(seed=21, clip_seconds=40, fights_per_camera_hour=200, workers=1)
    h = fight_hours(model_dir, AlertRules(merge_s=1.0), hot, tiny_cfg, p, progress=False)
    assert h["clips"] == 2 and h["hours"] == pytest.approx(80 / 3600, abs=1e-3)
    assert h["open"] == 0.9  # the model's threshold (fight_open: budget)
    assert h["incidents"] >= 1 and h["incident_recall_with_open_alerts"] == 1.0
    # one incident per clip, open from the first window to the end: one alert each
    assert h["alerts"] == 2 and h["false_alerts_per_camera_hour_95"] is not None
    assert h["curve"][0]["open"] == 0.5
    assert (
        fight_hours(model_dir, AlertRules(), hot, tiny_cfg, FightHours(clips_per_camera=0)) is None
    )
