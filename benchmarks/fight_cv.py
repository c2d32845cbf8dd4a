"""Real fights from clip labels: every option tried, side by side, by 5-fold cross-validation
GROUPED BY SOURCE RECORDING on a folder of fight/ and noFight/ clips (default: the 200 shared
clips). Each option's accuracy is also shown as the mean ± spread over several fold draws, and
a plain stratified split (which leaks scenes between train and test) is printed beside the
default to show how much leaking flatters it.

Options: the feature sets of `ambon_cv.fights.motion` (region, statistics) times the
classifiers of `ambon_cv.fights.classifier` (extra_trees, logistic). The `fights` stage keeps
the one set in params.yaml.

Run: .venv/bin/python benchmarks/fight_cv.py [--folder ../shared/datasets/surveillance-fights]
"""

from __future__ import annotations

import argparse
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from ambon_cv.config import load_params
from ambon_cv.fights.classifier import CLASSIFIERS, grouped_cv, labelled_clips
from ambon_cv.fights.motion import FEATURE_SETS
from ambon_cv.fights.stage import clip_feature_matrix, feature_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, default=Path("../shared/datasets/surveillance-fights")
    )
    parser.add_argument("--repeats", type=int, default=5, help="fold draws per option")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    p = load_params(Path("params.yaml")).fights
    paths, y, groups = labelled_clips(args.folder)
    rows = []
    for features in FEATURE_SETS:
        start = time.perf_counter()
        settings = {**feature_settings(p), "features": features}
        x, kept, _ = clip_feature_matrix(paths, settings, p.workers)
        took = time.perf_counter() - start
        for classifier in CLASSIFIERS:
            cv = partial(
                grouped_cv, x, y[kept], folds=p.folds, seed=p.seed, classifier=classifier,
                trees=p.trees, threshold=p.threshold, repeats=args.repeats,
            )  # fmt: skip
            rows.append((features, classifier, "grouped by recording", cv(groups[kept]), took))
            if (features, classifier) == (p.features, p.classifier):
                every_clip = np.arange(len(kept))  # every clip its own group: scenes leak
                rows.append(
                    (features, classifier, "plain stratified (leaks)", cv(every_clip), took)
                )
    cv0 = rows[0][3]
    print(f"\n{cv0.clips} clips from {cv0.recordings} recordings, {args.repeats} fold draws each")
    print(
        "| features | classifier | split | accuracy | mean ± sd over draws | ROC-AUC "
        "| fold accuracies | feature s |\n|---|---|---|---|---|---|---|---|"
    )
    for features, classifier, split, cv, took in rows:
        folds = ", ".join(f"{a:.2f}" for a in cv.fold_accuracy)
        print(
            f"| {features} | {classifier} | {split} | {cv.accuracy:.3f} | "
            f"{cv.accuracy_mean:.3f} ± {cv.accuracy_std:.3f} | {cv.roc_auc:.3f} | {folds} | "
            f"{took:.0f} |"
        )


if __name__ == "__main__":
    main()
