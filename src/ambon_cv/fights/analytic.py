"""The streaming fight analytic: the clip classifier over a sliding window of a live stream.

One camera's frames go in as they are decoded (any rate, any size; it takes at least
`fights.stream.flow_fps` of them a second, in whole steps: a 25 fps camera every 2nd, exactly
the slower-camera view training saw); every `hop_s` seconds the
last `window_s` seconds of interval motion rows are pooled exactly as a training clip is
(`motion.window_features`) and scored by the classifier. Each score comes out as `Detections`
(one `fight` box where the motion is busiest, confidence = the calibrated fight probability),
so the alert engine's fight rule (k of n windows, cooldown, merge) turns scores into alerts in
the same place for evaluation, export and the live-load benchmark.

Example:
    >>> import numpy as np
    >>> from ambon_cv.fights.classifier import FightModel
    >>> class Always:  # a stand-in classifier for the example
    ...     def predict_proba(self, x): return np.tile([0.1, 0.9], (len(x), 1))
    >>> model = FightModel(Always(), {"width": 64, "interval_s": 0.2}, threshold=0.5)
    >>> stream = FightStream(model, window_s=1.0, hop_s=0.5)
    >>> rng = np.random.default_rng(0)
    >>> out = [stream.push(i / 10, rng.integers(0, 255, (36, 64), np.uint8)) for i in range(20)]
    >>> [round(float(d.confidence[0]), 1) for d in out if d is not None][:2]
    [0.9, 0.9]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from ambon_cv.alerts import AlertEngine
from ambon_cv.config import AlertRules
from ambon_cv.detections import CLASSES, Detections
from ambon_cv.fights.classifier import FightModel
from ambon_cv.fights.motion import SlidingWindows

FIGHT = CLASSES.index("fight")
DETECTOR_OPEN = 0.7  # the detector's fight boxes, kept only to compare: no budget chose it


def alert_engine(
    rules: AlertRules, model: FightModel | None, cameras: Mapping[str, str] | None = None
) -> AlertEngine:
    """The alert engine of the deployed fight analytic: `incident_rules`, and each calibrated
    hot spot's own opening threshold. `cameras` maps the keys the engine will be fed (a clip
    id, a stream name) to camera ids; None: the keys are camera ids."""
    rules = incident_rules(rules, model)
    own = model.camera_open if model is not None and rules.fight_source == "analytic" else {}
    keys = cameras if cameras is not None else {c: c for c in own}
    return AlertEngine(rules, camera_open={k: own[c] for k, c in keys.items() if c in own})


def incident_rules(rules: AlertRules, model: FightModel | None) -> AlertRules:
    """`rules` with the fight incidents' opening threshold resolved: where it is `budget`,
    the one the fights stage chose for `fights.budget` (saved with `model`); where fights come
    from the detector, or no model exists, the detector's comparison threshold."""
    if rules.fight_open != "budget":
        return rules
    use_model = model is not None and rules.fight_source == "analytic"
    opens = model.alert_engine_open() if use_model else DETECTOR_OPEN
    return rules.model_copy(update={"fight_open": float(opens)})


class FightStream:
    """One camera's sliding-window fight scores. Feed frames in time order with `push`."""

    def __init__(
        self, model: FightModel, window_s: float | None = None, hop_s: float | None = None
    ) -> None:
        self.model = model
        self.windows = SlidingWindows(model.features, window_s, hop_s)  # as trained, by default
        self.window_s = self.windows.window_s

    def reset(self) -> None:
        """Forget the view (the stream dropped, or a different scene follows)."""
        self.windows.reset()

    def wants(self, t: float) -> bool:
        """Whether the frame at `t` is used at all (a caller may skip converting the others)."""
        return self.windows.wants(t)

    def push(self, t: float, image: np.ndarray) -> Detections | None:
        """One decoded frame; returns the window's score as `Detections` when a hop ends."""
        out = self.windows.push(t, image)
        if out is None:
            return None
        score = float(self.model.score(out[1])[0])
        return self._as_detections(image.shape[:2], score)

    def _as_detections(self, shape: tuple[int, int], score: float) -> Detections:
        """The score as one `fight` box over the busiest motion window of the last interval."""
        h, w = shape
        intervals = self.windows.intervals
        size = intervals.window_fraction * w * 2  # the window, with some margin
        cx, cy = intervals.busiest
        x, y = cx * w, cy * h
        box = [
            max(0, x - size / 2),
            max(0, y - size / 2),
            min(w, x + size / 2),
            min(h, y + size / 2),
        ]
        return Detections(
            np.array([box], np.float32),
            np.array([FIGHT]),
            np.array([score], np.float32),
            meta={"analytic": "fight", "window_s": self.window_s},
        )


def clip_window_scores(
    model: FightModel, path: Path, window_s: float | None = None, hop_s: float | None = None
) -> Iterator[tuple[float, Detections]]:
    """(time, window detections) for every hop of one clip file, decoded as a stream."""
    from ambon_cv.frames.sample import sample_clip

    stream = FightStream(model, window_s, hop_s)
    for f in sample_clip(path, "fixed_rate", rate_fps=1000.0, colour="luma"):
        if (d := stream.push(f.time_s, f.image)) is not None:
            yield f.time_s, d


def _clip_scores(args: tuple[str, str]) -> tuple[list[tuple[float, float]], float] | str:
    """(time, window score) of every hop of one clip and its seconds, in a worker process;
    the error line when it cannot be decoded."""
    from ambon_cv.frames.sample import ClipDecodeError

    model_dir, path = args
    model = FightModel.load(Path(model_dir))
    try:
        rows = [(t, float(d.confidence[0])) for t, d in clip_window_scores(model, Path(path))]
    except ClipDecodeError as err:
        return str(err)
    seconds = rows[-1][0] if rows else 0.0
    return rows, seconds


def score_clips(
    model_dir: Path, paths: list[Path], workers: int = 2, progress: bool = True
) -> list[tuple[list[tuple[float, float]], float] | str]:
    """Every clip's window scores and seconds (or its error line), in `workers` processes."""
    from ambon_cv.fights.workers import per_clip

    jobs = [(str(model_dir), str(p)) for p in paths]
    return per_clip(_clip_scores, jobs, workers, progress, "fight windows")
