"""Real fights from clip labels: 5-fold cross-validation GROUPED BY SOURCE RECORDING on a folder
of fight/ and noFight/ clips (default: the 200 shared clips), for the motion-feature baseline.
A plain stratified split (which leaks scenes between train and test) is printed beside it.

Run: .venv/bin/python benchmarks/fight_cv.py [--folder ../shared/datasets/surveillance-fights]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ambon_cv.evaluate.fight_clips import clip_features, grouped_cv, labelled_clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, default=Path("../shared/datasets/surveillance-fights")
    )
    parser.add_argument("--fps", type=float, default=10.0)
    args = parser.parse_args()
    paths, y, groups = labelled_clips(args.folder)
    start = time.perf_counter()
    x = np.stack([clip_features(p, args.fps) for p in tqdm(paths, desc="motion features")])
    took = time.perf_counter() - start
    grouped = grouped_cv(x, y, groups)
    leaky = grouped_cv(x, y, np.arange(len(y)))  # every clip its own group: scenes leak
    print(f"\n{len(y)} clips from {grouped.recordings} recordings, features in {took:.0f} s")
    print("| split | accuracy | ROC-AUC | fold accuracies |\n|---|---|---|---|")
    for name, cv in (("grouped by recording", grouped), ("plain stratified (leaks)", leaky)):
        folds = ", ".join(f"{a:.2f}" for a in cv.fold_accuracy)
        print(f"| {name} | {cv.accuracy:.3f} | {cv.roc_auc:.3f} | {folds} |")


if __name__ == "__main__":
    main()
