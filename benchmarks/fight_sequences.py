"""Real fights over time: does a model of the interval rows in order (a small temporal
convolutional network) see what the pooled window misses? Do the busiest window's path, the
burstiness of every row figure, or a second window size add to the shipped features?

The shipped window pools each of its ~0.16 s motion rows' 16 figures over the clip (mean,
spread, max, 90th percentile) and keeps the order of two of them only (burstiness of intensity
and overall motion). The options here keep more of the order:

- a temporal network: two 1-D convolutions (3 rows wide) over the clip's rows, resampled to
  12 steps, pooled by mean and max: alone, and averaged with the shipped `vote`;
- the busiest window's path: how far its centre wanders, how straight (a passer-by crosses
  the view; a fight stays where it is);
- the burstiness (`motion._temporal_shape`) of all 16 row figures, and the change between
  consecutive rows pooled;
- a second busiest window half the width, described beside the quarter-width one;
- shorter crops of each clip in time, trained on beside it (an ensemble over crops).

Judged as `benchmarks/fight_classifiers.py` judges (the `fights` stage's grouped 5-fold
cross-validation, threshold and calibration inside the folds, two sets of fold draws).

Run: .venv/bin/python benchmarks/fight_sequences.py
     [--folder ../shared/datasets/surveillance-fights] [--repeats 5]
     [--out reports/experiments/2026-12-07-fights-motion-order.md]
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from fight_classifiers import TABLE_HEAD, benchmark_clips, both_sets, judged_twice, table_row
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import VotingClassifier

from ambon_cv.fights.classifier import make_classifier
from ambon_cv.fights.motion import (
    PER_INTERVAL,
    MotionIntervals,
    _temporal_shape,
    window_features,
)
from ambon_cv.frames.sample import sample_clip
from ambon_cv.machine import cpu_line

STEPS = 12  # a 2 s clip closes 10-19 rows of 0.16 s; the network sees them resampled to 12
SECOND_FRACTION = 0.5  # the second busiest window, as a share of the width


def clip_rows(path: Path, settings: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One clip's interval rows in order, the busiest window's centre after each, and the rows
    of a second analytic describing a window `SECOND_FRACTION` of the width (one decode)."""
    width, interval_s = settings["width"], settings["interval_s"]
    runs = [
        MotionIntervals(width, interval_s, settings["window_fraction"], 0.0, 1e9),
        MotionIntervals(width, interval_s, SECOND_FRACTION, 0.0, 1e9),
    ]
    rows: list[list] = [[], []]
    centres = []
    for f in sample_clip(path, "fixed_rate", rate_fps=1000.0, colour="luma"):
        for run, kept in zip(runs, rows, strict=True):
            if (out := run.push(f.time_s, f.image)) is not None:
                kept.append(out[1])
                if run is runs[0]:
                    centres.append(run.busiest)
    return np.array(rows[0], np.float32), np.array(centres), np.array(rows[1], np.float32)


def resampled(rows: np.ndarray, steps: int = STEPS) -> np.ndarray:
    """`rows` (n, 16) at `steps` evenly spaced rows (nearest), flattened."""
    if len(rows) == 0:
        return np.zeros(steps * PER_INTERVAL, np.float32)
    return rows[np.linspace(0, len(rows) - 1, steps).round().astype(int)].ravel()


def path_figures(centres: np.ndarray) -> np.ndarray:
    """How the busiest window's centre (shares of the view) moves over a clip: its spread
    across and down, mean and median step, straightness (net displacement over path length)
    and the share of steps under a tenth of the view."""
    if len(centres) < 3:
        return np.zeros(6)
    step = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    straight = np.linalg.norm(centres[-1] - centres[0]) / (step.sum() + 1e-6)
    return np.array([*centres.std(0), step.mean(), np.median(step), straight, (step < 0.1).mean()])


def temporal_crops(
    clips: list[np.ndarray], share: float, per_clip: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each clip's rows cut to `per_clip` shorter windows (`share` of its rows, at least 4,
    evenly placed from its start to its end), pooled as a window: (features, clip index), for
    `grouped_cv(augmented=...)`, which trains on a crop only where its clip trains."""
    features, index = [], []
    for i, rows in enumerate(clips):
        k = max(4, round(len(rows) * share))
        if k >= len(rows):
            continue
        for start in np.linspace(0, len(rows) - k, per_clip).round().astype(int):
            features.append(window_features(rows[start : start + k]))
            index.append(i)
    return np.stack(features), np.array(index)


def burstiness(rows: np.ndarray) -> np.ndarray:
    """`motion._temporal_shape` of every row figure (the shipped window keeps two)."""
    return np.concatenate([_temporal_shape(rows[:, c]) for c in range(rows.shape[1])])


def row_changes(rows: np.ndarray) -> np.ndarray:
    """The change of each row figure from one interval to the next: its mean and max."""
    if len(rows) < 2:
        return np.zeros(2 * PER_INTERVAL)
    d = np.abs(np.diff(rows, axis=0))
    return np.concatenate([d.mean(0), d.max(0)])


class TemporalNet(ClassifierMixin, BaseEstimator):
    """Two 1-D convolutions over a clip's resampled interval rows (the last `STEPS` x 16
    columns of X; any columns before them are ignored), pooled by mean and max over time, then
    a logistic output. Full-batch AdamW with weight decay and dropout: 160 clips a fold."""

    def __init__(self, seed: int = 0, epochs: int = 300, channels: int = 24, decay: float = 0.01):
        self.seed, self.epochs, self.channels, self.decay = seed, epochs, channels, decay

    def _sequences(self, x: np.ndarray):
        import torch

        s = x[:, -STEPS * PER_INTERVAL :].reshape(len(x), STEPS, PER_INTERVAL)
        s = np.sign(s) * np.log1p(np.abs(s))  # flow figures span orders of magnitude
        return torch.tensor(s.transpose(0, 2, 1).copy(), dtype=torch.float32)

    def _logit(self, s):
        import torch

        h = self.net_((s - self.mean_) / self.scale_)
        return self.head_(torch.cat([h.mean(2), h.amax(2)], 1)).squeeze(1)

    def fit(self, x: np.ndarray, y: np.ndarray) -> TemporalNet:
        import torch
        from torch import nn

        torch.manual_seed(self.seed)
        s = self._sequences(x)
        self.mean_ = s.mean((0, 2), keepdim=True)
        self.scale_ = s.std((0, 2), keepdim=True) + 1e-6
        c = self.channels
        self.net_ = nn.Sequential(
            nn.Conv1d(PER_INTERVAL, c, 3, padding=1), nn.ReLU(), nn.Dropout(0.3),
            nn.Conv1d(c, c, 3, padding=1), nn.ReLU(),
        )  # fmt: skip
        self.head_ = nn.Linear(2 * c, 1)
        weights = [*self.net_.parameters(), *self.head_.parameters()]
        optimiser = torch.optim.AdamW(weights, 3e-3, weight_decay=self.decay)
        target = torch.tensor(y, dtype=torch.float32)
        self.net_.train()
        for _ in range(self.epochs):
            optimiser.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(self._logit(s), target)
            loss.backward()
            optimiser.step()
        self.net_.eval()
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            p = torch.sigmoid(self._logit(self._sequences(x))).numpy()
        return np.stack([1 - p, p], 1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.predict_proba(x)[:, 1] >= 0.5).astype(int)


class FirstColumns(ClassifierMixin, BaseEstimator):
    """`classifier` on the first `n` columns of X only (the shipped window features, when the
    rows the temporal network reads follow them)."""

    def __init__(self, classifier=None, n: int = 0):
        self.classifier, self.n = classifier, n

    def fit(self, x: np.ndarray, y: np.ndarray) -> FirstColumns:
        self.classifier.fit(x[:, : self.n], y)
        self.classes_ = self.classifier.classes_
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.classifier.predict_proba(x[:, : self.n])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classifier.predict(x[:, : self.n])


def main() -> None:
    args, p, settings, paths, y, groups = benchmark_clips(
        __doc__.splitlines()[0], "reports/experiments/2026-12-07-fights-motion-order.md"
    )
    import torch

    torch.set_num_threads(1)  # 160 clips a fold: threads cost more than they save
    start = time.perf_counter()
    with ProcessPoolExecutor(p.workers) as pool:
        clips = list(pool.map(clip_rows, paths, [settings] * len(paths), chunksize=2))
    shipped = np.stack([window_features(rows) for rows, _, _ in clips])
    n = shipped.shape[1]
    sequences = np.hstack([shipped, np.stack([resampled(rows) for rows, _, _ in clips])])

    def vote_and_net(trees: int, seed: int):
        return VotingClassifier(
            [("vote", FirstColumns(make_classifier("vote", trees, seed), n)),
             ("net", TemporalNet(seed))],
            voting="soft",
        )  # fmt: skip

    def beside(figures) -> np.ndarray:
        return np.hstack([shipped, np.stack([figures(*clip) for clip in clips])])

    ordered = [rows for rows, _, _ in clips]
    options = [
        ("shipped window features, vote", shipped, p.classifier),
        (
            "+ training on half-length crops of each clip (2 a clip, start and end)",
            shipped,
            p.classifier,
            temporal_crops(ordered, 0.5, 2),
        ),
        (
            "+ training on crops of 0.75 of each clip (3 a clip)",
            shipped,
            p.classifier,
            temporal_crops(ordered, 0.75, 3),
        ),
        (
            f"temporal network over the rows ({STEPS} steps) alone",
            sequences,
            lambda trees, seed: TemporalNet(seed),
        ),
        ("vote + temporal network (averaged)", sequences, vote_and_net),
        ("+ the busiest window's path (6)", beside(lambda r, c, _: path_figures(c)), p.classifier),
        (
            "+ burstiness of all 16 row figures (was 2)",
            beside(lambda r, c, _: burstiness(r)),
            p.classifier,
        ),
        (
            "+ the change between rows, pooled (32)",
            beside(lambda r, c, _: row_changes(r)),
            p.classifier,
        ),
        (
            f"+ a second window, {SECOND_FRACTION:g} of the width (was 0.25 alone)",
            beside(lambda r, c, half: window_features(half)),
            p.classifier,
        ),
    ]
    rows = [
        judged_twice(name, x, y, groups, p, args.repeats, classifier, *crops)
        for name, x, classifier, *crops in options
    ]
    took = time.perf_counter() - start
    reference = rows[0][1]
    lines = [
        "# Real fights over time: a temporal model of the motion rows, and more of their order",
        "",
        f"{len(y)} clips from {len(set(groups.tolist()))} recordings in `{args.folder}`, "
        f"the `fights` stage's region features ({p.width} px, rows of {p.interval_s:g} s), "
        f"{p.folds}-fold cross-validation grouped by recording, threshold and calibration "
        f"inside the folds, two sets of {args.repeats} fold draws as in "
        "`reports/experiments/2026-12-07-fights-classifiers.md`. Rows starting with + are the "
        "shipped features with "
        "those figures beside them (or those crops trained on with their clip), judged by "
        f"`vote`. Measured on {cpu_line()}, "
        f"{took:.0f} s.",
        "",
        *TABLE_HEAD,
        *[table_row(name, a, b) for name, (a, b) in rows],
        "",
        "The shipped features score "
        f"{both_sets(reference):.3f} over both "
        "sets. Keep an option only where both sets hold its lead over that.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
