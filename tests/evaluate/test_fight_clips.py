"""The real-fight baseline: motion features from real clips, folds grouped by recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ambon_cv.evaluate.fight_clips import FEATURES, clip_features, grouped_cv, labelled_clips


def test_features_and_groups_from_a_real_clip_folder(project):
    folder = Path(project[2][1].path)  # 3 fight + 3 noFight clips from 3 recordings
    paths, y, groups = labelled_clips(folder)
    assert len(paths) == 6 and y.sum() == 3
    assert len(set(groups)) == 3 and groups[0] == groups[3]  # fi001 and nofi001: one recording
    feats = [clip_features(p) for p in paths[:2]]
    assert all(f.shape == (FEATURES,) and np.isfinite(f).all() and f.any() for f in feats)
    assert not np.allclose(feats[0], feats[1])


def test_grouped_folds_never_split_a_recording_and_learn_a_signal():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 6)
    y = np.tile([0, 1, 0, 1, 0, 1], 20)
    x = rng.normal(size=(len(y), FEATURES)) + y[:, None] * 1.5
    cv = grouped_cv(x, y, groups)
    assert cv.recordings == 20 and len(cv.fold_accuracy) == 5
    assert cv.accuracy > 0.8 and cv.roc_auc > 0.9
    noise = grouped_cv(rng.normal(size=x.shape), y, groups)
    assert noise.roc_auc < 0.75
