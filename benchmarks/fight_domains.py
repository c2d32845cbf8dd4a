"""Real clips and the synthetic city: can one fight classifier serve both worlds?

The `fights` stage learns from the real clips only. On the synthetic city's footage (what the
held-out events of `evaluate` and the live-load bench play) the same classifier scores many
ordinary windows as fights. This script measures why and what mixing the two worlds buys:

1. how well the motion features tell the two worlds apart (a classifier real vs synthetic,
   grouped by recording / camera: near 1.0 means a tree can learn each world's own rule);
2. for each way of training (real clips only; real clips plus the synthetic windows, the
   synthetic share of the weight balanced by class), on the project's classifier and on the
   same with boosted trees added to the vote:
   - real clips: 5-fold CV grouped by recording (accuracy at 0.5 and ROC-AUC, mean over draws;
     raw scores, where the stage calibrates inside the folds);
   - synthetic windows: out-of-camera scores (5 folds grouped by camera, the real clips always
     in training): window ROC-AUC, and through the project's alert rules (`evaluate.alerts`,
     one `AlertEngine`, `match_alerts`) fight incident recall and false alerts per
     camera-hour on the recorded footage, at several window confidences.

It reads the `footage` stage's recordings (`data/footage`), never the held-out event clips.

Run: .venv/bin/python benchmarks/fight_domains.py [--folder ../shared/datasets/surveillance-fights]
     [--footage data/footage] [--out reports/experiments/2026-12-03-fights-real-and-rendered.md]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

from ambon_cv.alerts import AlertEngine, match_alerts
from ambon_cv.config import load_params
from ambon_cv.detections import CLASSES, Detections
from ambon_cv.fights.classifier import labelled_clips, make_classifier
from ambon_cv.fights.footage import recorded_windows
from ambon_cv.fights.stage import clip_feature_matrix, feature_settings
from ambon_cv.machine import cpu_line

FIGHT = CLASSES.index("fight")
SHARES = (0.3, 1.0)  # the synthetic windows' total weight, as a share of the real clips'
CONFIDENCES = (0.6, 0.7, 0.8)


class Averaged:
    """The members' probabilities averaged (soft vote), each fitted with sample weights."""

    def __init__(self, members: list[str], trees: int, seed: int) -> None:
        self.members = [_member(name, trees, seed) for name in members]

    def fit(self, x, y, weight):
        for name, model in self.members:
            key = "logisticregression__sample_weight" if name == "logistic" else "sample_weight"
            model.fit(x, y, **{key: weight})
        return self

    def predict_proba(self, x):
        return np.mean([m.predict_proba(x) for _, m in self.members], axis=0)


def _member(name: str, trees: int, seed: int):
    if name == "boosted":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return name, HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0,
            random_state=seed,
        )  # fmt: skip
    return name, make_classifier(name, trees, seed)


MODELS = {
    "vote (extra trees + logistic)": ["extra_trees", "logistic"],
    "vote + boosted trees": ["boosted", "extra_trees", "logistic"],
}


def balanced(y_real: np.ndarray, y_synth: np.ndarray, share: float) -> np.ndarray:
    """Weights: 1 per real clip; the synthetic windows `share` of the real total, half fights."""
    per_class = np.where(y_synth == 1, (y_synth == 1).sum(), (y_synth == 0).sum())
    return 0.5 * share * len(y_real) / np.maximum(per_class, 1)


def real_cv(members, xr, yr, gr, synth, share, trees, seed, draws):
    accs, aucs = [], []
    for d in range(draws):
        scores = np.zeros(len(yr))
        for train, test in StratifiedGroupKFold(5, shuffle=True, random_state=seed + d).split(
            xr, yr, gr
        ):
            x, y, w = xr[train], yr[train], np.ones(len(train))
            if synth is not None:
                x, y = np.concatenate([x, synth[0]]), np.concatenate([y, synth[1]])
                w = np.concatenate([w, balanced(yr[train], synth[1], share)])
            model = Averaged(members, trees, seed).fit(x, y, w)
            scores[test] = model.predict_proba(xr[test])[:, 1]
        accs.append(float(((scores >= 0.5) == yr).mean()))
        aucs.append(float(roc_auc_score(yr, scores)))
    return np.mean(accs), np.std(accs), np.mean(aucs)


def synthetic_scores(members, xr, yr, xs, ys, cams, share, trees, seed):
    """Out-of-camera window scores: folds grouped by camera, real clips always in training."""
    scores = np.zeros(len(ys))
    for train, test in GroupKFold(5).split(xs, ys, cams):
        train = train[ys[train] >= 0]
        x, y = xr, yr
        w = np.ones(len(yr))
        if share > 0:
            x, y = np.concatenate([xr, xs[train]]), np.concatenate([yr, ys[train]])
            w = np.concatenate([w, balanced(yr, ys[train], share)])
        scores[test] = Averaged(members, trees, seed).fit(x, y, w).predict_proba(xs[test])[:, 1]
    return scores


def footage_events(scores, clips, ends, spans, rules, confidence, seconds_per_clip):
    """Fight alerts from window scores through the project's alert engine, per clip clock."""
    engine = AlertEngine(rules.model_copy(update={"fight_min_confidence": confidence}))
    box = np.array([[0, 0, 10, 10]], np.float32)
    for i in np.lexsort((ends, clips)):
        d = Detections(box, np.array([FIGHT]), np.array([scores[i]], np.float32),
                       meta={"analytic": "fight"})  # fmt: skip
        engine.update(clips[i], float(ends[i]), d)
    hours = len(set(clips.tolist())) * seconds_per_clip / 3600
    return match_alerts(engine.alerts, spans, hours, "fight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, default=Path("../shared/datasets/surveillance-fights")
    )
    parser.add_argument("--footage", type=Path, default=Path("data/footage"))
    parser.add_argument("--draws", type=int, default=3, help="fold draws of the real-clip CV")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports/experiments/2026-12-03-fights-real-and-rendered.md"),
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    params = load_params(Path("params.yaml"))
    p, rules = params.fights, params.evaluate.alerts
    settings = feature_settings(p)
    paths, labels, groups = labelled_clips(args.folder)
    xr, kept, _, _ = clip_feature_matrix(paths, settings, p.workers)
    yr, gr = labels[kept], groups[kept]
    city = recorded_windows(args.footage, settings, p.stream.window_s, p.stream.hop_s)
    xs, ys, cams, clips, ends, spans = (
        city.x,
        city.labels,
        city.cameras,
        city.clips,
        city.ends,
        city.fights,
    )
    seconds = params.footage.synthetic.clip_seconds
    labelled = ys >= 0

    world = np.r_[np.zeros(len(yr)), np.ones(labelled.sum())]
    xw = np.concatenate([xr, xs[labelled]])
    gw = np.concatenate([gr.astype(str), cams[labelled]])
    told = np.zeros(len(world))
    for train, test in GroupKFold(5).split(xw, world, gw):
        model = make_classifier("extra_trees", p.trees, p.seed).fit(xw[train], world[train])
        told[test] = model.predict_proba(xw[test])[:, 1]
    separable = roc_auc_score(world, told)

    lines = [
        "# Real clips and the synthetic city: one fight classifier for both?",
        "",
        f"{len(yr)} real clips ({len(set(gr.tolist()))} recordings, `{args.folder}`); "
        f"{int(labelled.sum())} labelled windows of the synthetic city's recordings "
        f"(`{args.footage}`, {len(set(cams.tolist()))} cameras, "
        f"{int((ys == 1).sum())} inside a fight), {p.stream.window_s:g} s every "
        f"{p.stream.hop_s:g} s. Measured on {cpu_line()}.",
        "",
        f"The motion features tell the two worlds apart with ROC-AUC {separable:.3f} "
        "(extra trees, real vs synthetic, grouped by recording and camera).",
        "",
        "Real: grouped 5-fold CV on the real clips (raw scores at 0.5; mean ± sd over "
        f"{args.draws} draws). Synthetic: out-of-camera windows; events through "
        "`evaluate.alerts` (fight k of n, cooldown, merge) on the recordings, per confidence.",
        "",
        "| classifier | synthetic weight | real accuracy | real ROC-AUC | synthetic window ROC-AUC "
        "| " + " | ".join(f"recall / false alerts per h at {c:g}" for c in CONFIDENCES) + " |",
        "|---|---|---|---|---|" + "---|" * len(CONFIDENCES),
    ]
    for name, members in MODELS.items():
        for share in (0.0, *SHARES):
            synth = (xs[labelled], ys[labelled]) if share else None
            acc, acc_sd, auc = real_cv(members, xr, yr, gr, synth, share, p.trees, p.seed,
                                       args.draws)  # fmt: skip
            scores = synthetic_scores(members, xr, yr, xs, ys, cams, share, p.trees, p.seed)
            window_auc = roc_auc_score(ys[labelled], scores[labelled])
            events = [footage_events(scores, clips, ends, spans, rules, c, seconds)
                      for c in CONFIDENCES]  # fmt: skip
            cells = " | ".join(
                f"{e.incident_recall:.2f} / {e.false_alerts_per_camera_hour:.1f}" for e in events
            )
            weight = f"{share:g} of the real clips'" if share else "none (real only)"
            lines.append(
                f"| {name} | {weight} | {acc:.3f} ± {acc_sd:.3f} | {auc:.3f} | "
                f"{window_auc:.3f} | {cells} |"
            )
            print(lines[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"{separable=:.3f}; the table in {args.out}")


if __name__ == "__main__":
    main()
