"""Cheaper optical flow for the fight analytic, and what each costs in accuracy: Farneback as
shipped against OpenCV's DIS flow (presets), a narrower grey copy and fewer flows a second,
each by the same 5-fold cross-validation GROUPED BY SOURCE RECORDING on the shared clips
(mean ± spread over fold draws) as `fight_cv.py`, with its flow's CPU time on this machine.

The flow is the streaming analytic's largest cost (about 60% of it at 128 px). The fights
issue's budget is 0.04 core a hot spot with decoding; decoding a 10 fps 360p stream takes
about 0.023 of it, which leaves the whole analytic about 17 ms a second. This measures whether
a cheaper flow keeps the accuracy. The `fights` stage keeps the flow in `fights.motion.FLOW`.

Run: .venv/bin/python benchmarks/fight_flow.py [--folder ../shared/datasets/surveillance-fights]
     [--out reports/experiments/2026-12-03-fights-cheaper-flow.md]
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from ambon_cv.config import load_params
from ambon_cv.fights import motion
from ambon_cv.fights.classifier import grouped_cv, labelled_clips
from ambon_cv.fights.stage import clip_feature_matrix, feature_settings
from ambon_cv.frames.sample import sample_clip
from ambon_cv.machine import cpu_line


def _dis(preset: int, **settings):
    flow = cv2.DISOpticalFlow_create(preset)
    for name, value in settings.items():
        getattr(flow, f"set{name}")(value)
    return lambda a, b: flow.calc(a, b, None)


def _farneback(levels: int, iterations: int, poly_n: int, sigma: float):
    return lambda a, b: cv2.calcOpticalFlowFarneback(
        a, b, None, 0.5, levels, 5, iterations, poly_n, sigma, 0
    )


# (name, flow between two grey frames or None for the shipped one, overrides of fights params)
OPTIONS = [
    ("Farneback as shipped, 128 px, every frame", None, {}),
    ("Farneback, one pyramid level", _farneback(1, 2, 7, 1.5), {}),
    ("Farneback, one iteration", _farneback(2, 1, 7, 1.5), {}),
    ("Farneback, 5 px polynomial", _farneback(2, 2, 5, 1.1), {}),
    ("Farneback, 112 px", None, {"width": 112}),
    ("Farneback, 96 px", None, {"width": 96}),
    ("Farneback, at least 10 flows/s", None, {"flow_fps": 10.0}),
    ("Farneback, at least 6.25 flows/s", None, {"flow_fps": 6.25}),
    ("DIS ultrafast", _dis(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST), {}),
    ("DIS ultrafast, 4 px patches every 2 px", _dis(
        cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, PatchSize=4, PatchStride=2), {}),
    ("DIS fast", _dis(cv2.DISOPTICAL_FLOW_PRESET_FAST), {}),
    ("DIS medium", _dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM), {}),
]  # fmt: skip


def _flows_at_25(overrides: dict) -> float:
    """Flows a second an option takes from a 25 fps camera."""
    return motion.flows_a_second(25, overrides.get("flow_fps", 0))


def flow_ms(flows, widths: list[int], frames: list[np.ndarray], rounds: int = 7) -> list[float]:
    """Milliseconds of CPU for one flow between consecutive frames, per flow (on the grey copy
    `widths[k]` wide): every flow timed in turn, round after round, and the least of its rounds
    kept (a shared machine's noise only ever adds, and it hits every flow alike)."""
    greys = [[motion._small_grey(f, w) for f in frames] for w in widths]
    best = [float("inf")] * len(flows)
    for _ in range(rounds):
        for k, (flow, grey) in enumerate(zip(flows, greys, strict=True)):
            t = time.process_time()
            for a, b in itertools.pairwise(grey):
                flow(a, b)
            best[k] = min(best[k], (time.process_time() - t) / (len(grey) - 1) * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, default=Path("../shared/datasets/surveillance-fights")
    )
    parser.add_argument("--repeats", type=int, default=5, help="fold draws per option")
    parser.add_argument(
        "--out", type=Path, default=Path("reports/experiments/2026-12-03-fights-cheaper-flow.md")
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    cv2.setNumThreads(1)  # as the live analytic runs it: one thread per worker
    p = load_params(Path("params.yaml")).fights
    paths, y, groups = labelled_clips(args.folder)
    frames = [f.image for f in sample_clip(paths[0], "fixed_rate", rate_fps=1000.0, colour="luma")]
    shipped = motion._flow
    flows = [flow or shipped for _, flow, _ in OPTIONS]
    settings_of = [{**feature_settings(p), **overrides} for _, _, overrides in OPTIONS]
    costs = flow_ms(flows, [int(s["width"]) for s in settings_of], frames[:30])
    rows = []
    for (name, _, _), flow, settings, cost in zip(OPTIONS, flows, settings_of, costs, strict=True):
        motion._flow = flow  # the clip workers are forked: they see it too
        try:
            x, kept, _, _ = clip_feature_matrix(paths, settings, workers=p.workers)
        finally:
            motion._flow = shipped
        cv = grouped_cv(
            x, y[kept], groups[kept], p.folds, p.seed, p.classifier, p.trees, 0.5,
            args.repeats, p.inner_folds,
        )  # fmt: skip
        rows.append((name, cost, cv))
        print(f"{name}: {cost:.2f} ms a flow, {cv.accuracy_mean:.3f} / {cv.roc_auc_mean:.3f}")
    lines = [
        "# The fight analytic's optical flow: cheaper options and what they cost in accuracy",
        "",
        f"{len(y)} clips from {len(set(groups.tolist()))} recordings in `{args.folder}`, "
        f"{p.folds}-fold cross-validation grouped by recording, {args.repeats} fold draws each "
        f"(mean ± sd over draws), threshold and calibration inside the folds. Flow times: one "
        f"thread, on the grey copy of `{paths[0].name}`, every option in turn over 7 rounds, "
        f"the least kept. Measured on {cpu_line()}.",
        "",
        "| flow | ms a flow | flow ms per second of a 25 fps camera | accuracy | ROC-AUC |",
        "|---|---|---|---|---|",
        *[
            f"| {name} | {cost:.2f} | {cost * _flows_at_25(overrides):.0f} | "
            f"{cv.accuracy_mean:.3f} ± {cv.accuracy_std:.3f} | "
            f"{cv.roc_auc_mean:.3f} ± {cv.roc_auc_std:.3f} |"
            for (name, cost, cv), (_, _, overrides) in zip(rows, OPTIONS, strict=True)
        ],
        "",
        "Flows a second is what the camera sends (every frame) unless a rate is given; the "
        "training clips are 25-30 fps, the synthetic city's cameras 10 fps.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
