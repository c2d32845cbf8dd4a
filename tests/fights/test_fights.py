"""Real fights from clip labels: motion features from real clips, folds grouped by recording,
the `fights` stage end to end (model, out-of-fold scores, report, plot), scoring a folder it
never saw, and the errors a person can act on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ambon_cv.config import FightsParams
from ambon_cv.fights.classifier import FightModel, FightModelError, grouped_cv, labelled_clips
from ambon_cv.fights.motion import (
    REGION_FEATURES,
    STATISTICS_FEATURES,
    clip_features,
    window_gradient,
)
from ambon_cv.fights.stage import MODEL_DIR, OUT_OF_FOLD, clip_settings, train_fight_model
from ambon_cv.frames.sample import ClipDecodeError


def test_features_and_groups_from_a_real_clip_folder(project):
    folder = Path(project[2][1].path)  # 3 fight + 3 noFight clips from 3 recordings
    paths, y, groups = labelled_clips(folder)
    assert len(paths) == 6 and y.sum() == 3
    assert len(set(groups)) == 3 and groups[0] == groups[3]  # fi001 and nofi001: one recording
    for features, size in (("region", REGION_FEATURES), ("statistics", STATISTICS_FEATURES)):
        feats = [clip_features(p, features) for p in paths[:2]]
        assert all(f.shape == (size,) and np.isfinite(f).all() and f.any() for f in feats)
        assert not np.allclose(feats[0], feats[1])


@pytest.mark.parametrize("shape", [(72, 128), (36, 64), (9, 16)])
def test_the_window_gradient_is_the_whole_views_cropped(shape):
    """The busiest window's gradient, computed on the window and a margin, gives exactly the
    figures of the whole view's gradient cut to the window, wherever the window lies: inside,
    against every edge and corner, and cut off by the bottom and right edges."""
    h, w = shape
    a = np.random.default_rng(h).normal(0, 3, shape).astype(np.float32)
    full_y, full_x = np.gradient(a)
    k = max(4, w // 4)
    for y0 in sorted({0, 1, h // 2, h - k, h - 2}):
        for x0 in sorted({0, 1, w // 2, w - k, w - 3}):
            gy, gx = window_gradient(a, y0, x0, k)
            win = (slice(y0, y0 + k), slice(x0, x0 + k))
            assert np.array_equal(gy, full_y[win]), (y0, x0)
            assert np.array_equal(gx, full_x[win]), (y0, x0)


def test_a_corrupt_clip_is_named(tmp_path):
    broken = tmp_path / "fi999.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    with pytest.raises(ClipDecodeError, match=r"fi999\.mp4"):
        clip_features(broken)


def test_grouped_folds_never_split_a_recording_and_learn_a_signal():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 6)
    y = np.tile([0, 1, 0, 1, 0, 1], 20)
    x = rng.normal(size=(len(y), REGION_FEATURES)) + y[:, None] * 1.5
    for classifier in ("vote", "extra_trees", "logistic"):
        cv = grouped_cv(x, y, groups, classifier=classifier, trees=50, repeats=2)
        assert cv.recordings == 20 and len(cv.fold_accuracy) == 5 and cv.repeats == 2
        assert cv.accuracy > 0.8 and cv.roc_auc > 0.9 and len(cv.scores) == len(y)
    # threshold and calibration chosen inside each fold, on its own training clips
    inner = grouped_cv(x, y, groups, trees=50, inner_folds=3)
    assert len(inner.thresholds) == 5 and all(0.05 <= t <= 0.95 for t in inner.thresholds)
    assert inner.accuracy > 0.8 and 0 <= inner.brier < 0.2
    noise = grouped_cv(rng.normal(size=x.shape), y, groups)
    assert noise.roc_auc < 0.75
    with pytest.raises(FightModelError, match="3 recordings cannot fill 5 grouped folds"):
        grouped_cv(x[:18], y[:18], groups[:18])


def test_a_clips_other_views_go_where_it_goes_and_are_never_judged():
    """Views of a clip (as a slower camera sends it) that are exact copies of its features:
    a fold that trained on the views of the clips it is judged on would recognise them, and
    noise would look learnable. Kept on the clip's side, noise stays noise."""
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(20), 6)
    y = np.tile([0, 1, 0, 1, 0, 1], 20)
    x = rng.normal(size=(len(y), 8))
    copies = (np.concatenate([x, x]), np.concatenate([np.arange(len(y))] * 2))
    for inner in (0, 3):
        cv = grouped_cv(x, y, groups, trees=50, inner_folds=inner, augmented=copies)
        assert cv.roc_auc < 0.75 and cv.clips == len(y) and len(cv.scores) == len(y)
        # the views of each held-out clip are judged apart, by the fold that held it out
        assert cv.slower_views == 2 * len(y) and cv.slower_roc_auc_mean < 0.75
    # judged without being trained on: the views of every held-out clip, nothing else
    alone = grouped_cv(x, y, groups, trees=50, augmented=copies, train_on_views=False)
    assert alone.slower_views == 2 * len(y) and np.isfinite(alone.slower_accuracy_mean)
    # the same copies handed to every fold, as `extra` rows are, make noise look learnable
    leaked = grouped_cv(x, y, groups, trees=50, extra=(x, y))
    assert leaked.roc_auc > 0.9


@pytest.fixture
def clip_folder(project, tmp_path):
    """The six real clips (three recordings) plus one corrupt clip, in a folder of our own."""
    folder = tmp_path / "fights"
    shutil.copytree(project[2][1].path, folder)
    (folder / "noFight" / "nofi999.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    return folder


def test_the_stage_learns_reports_and_keeps_the_classifier(clip_folder, tmp_path, capsys):
    root = tmp_path / "project"
    root.mkdir()
    p = FightsParams(folder=str(clip_folder), folds=3, repeats=2, trees=50, workers=2)
    report = train_fight_model(p, root, progress=False)
    cv = report["cross_validation"]
    assert cv["clips"] == 6 and cv["recordings"] == 3 and cv["repeats"] == 2
    assert len(cv["fold_accuracy"]) == 3 and 0 <= cv["accuracy"] <= 1
    assert 0 <= cv["roc_auc"] <= 1 and "scores" not in cv
    # the corrupt clip is named, skipped and listed; nothing else is lost
    assert len(report["unreadable"]) == 1 and "nofi999.mp4" in report["unreadable"][0]
    assert "nofi999.mp4" in capsys.readouterr().out
    assert report["clips_per_class"] == {"fight": 3, "no_fight": 3}
    # each 25 fps clip also trained on as a 12.5 and an 8.3 fps camera sends it
    assert report["slower_camera_views"] == {"steps": [2, 3], "slowest_fps": 8.0, "rows": 12}
    assert cv["slower_views"] == 12 and 0 <= cv["slower_accuracy_mean"] <= 1
    assert "as slower cameras see them" in (root / "reports" / "fights.md").read_text()

    saved = json.loads((root / "reports" / "fights.json").read_text())
    assert saved["cross_validation"]["accuracy"] == cv["accuracy"]
    assert "GROUPED BY SOURCE RECORDING" in (root / "reports" / "fights.md").read_text()
    assert (root / "reports" / "fights" / "clips.png").stat().st_size > 10_000
    oof = json.loads((root / MODEL_DIR / OUT_OF_FOLD).read_text())["clips"]
    assert {r["clip"] for r in oof} == {
        f"{k}/{s}.mp4"
        for k, n in (("fight", "fi"), ("noFight", "nofi"))
        for s in (f"{n}001", f"{n}002", f"{n}003")
    }
    assert all(0 <= r["score"] <= 1 for r in oof)

    # every clip's sliding windows, scored out of fold, for the real-footage alerts
    assert all(r["windows"] and all(0 <= w <= 1 for w in r["windows"]) for r in oof)

    # the alert budget: an opening threshold chosen on the clips, judged out of fold, kept with
    # the model; the operating curve as a table (DVC's plot) and a picture
    budget = report["budget"]
    assert budget["per_camera_hour"] == p.budget and 0.5 <= budget["chosen"]["open"] <= 0.99
    assert budget["out_of_fold"]["fight_clips"] == 3 and len(budget["out_of_fold"]["open_per_fold"])
    assert set(report["calibration"]) == {"slope", "intercept", "threshold"}  # Platt's
    assert (root / "reports" / "fights" / "operating.tsv").read_text().startswith("open\t")
    assert "The alert budget" in (root / "reports" / "fights.md").read_text()
    model = FightModel.load(root / MODEL_DIR)
    assert model.alert_engine_open() == budget["chosen"]["open"] and model.camera_open == {}
    assert model.features["features"] == "region" and 0.05 <= model.threshold <= 0.95
    assert model.features["window_s"] == 2.0 and model.features["hop_s"] == 0.5
    x = clip_features(clip_folder / "fight" / "fi001.mp4", **clip_settings(model.features))
    assert 0 <= float(model.score(x)[0]) <= 1


def test_evaluation_scores_a_folder_the_classifier_never_saw(clip_folder, tmp_path):
    from ambon_cv.evaluate.real import fight_clips_classified

    root = tmp_path / "project"
    root.mkdir()
    four = tmp_path / "datasets" / "four-clips"  # no videos.txt: each clip its own recording
    for sub in ("fight", "noFight"):
        (four / sub).mkdir(parents=True)
    for clip in (
        "fight/fi001.mp4",
        "fight/fi002.mp4",
        "noFight/nofi001.mp4",
        "noFight/nofi002.mp4",
    ):
        shutil.copy(clip_folder / clip, four / clip)
    from ambon_cv.config import RealParams

    # named as the pipeline names it: under a real.root relative to the project
    train_fight_model(
        FightsParams(folder=four.name, folds=2, repeats=1, trees=50, workers=1),
        root,
        False,
        RealParams(root="../datasets"),
    )
    m = fight_clips_classified(root / MODEL_DIR, clip_folder, root, progress=False)
    assert m["source"] == "held-out folder"
    assert m["clips"] == 6 and m["unreadable"] == 1
    assert set(m) >= {"accuracy", "precision", "recall", "roc_auc"}
    same = fight_clips_classified(root / MODEL_DIR, four, root, progress=False)
    assert same["source"].startswith("out-of-fold") and same["clips"] == 4

    from ambon_cv.config import AlertRules
    from ambon_cv.evaluate.real import fight_stream_alerts

    streamed = fight_stream_alerts(root / MODEL_DIR, clip_folder, root, AlertRules(), False)
    assert streamed["source"] == "held-out folder" and streamed["fight_clips"] == 3
    assert streamed["no_fight_seconds"] > 4 and streamed["false_alerts"] >= 0
    own = fight_stream_alerts(root / MODEL_DIR, four, root, AlertRules(), False)
    assert own["source"].startswith("out-of-fold") and own["fight_clips"] == 2


def test_no_clips_leave_a_note_in_place_of_the_model(tmp_path):
    """No real fight clips (a clone without ../shared): the stage succeeds without a
    classifier; its folder says why, and loading it or benching with it says so."""
    from ambon_cv.bench.stage import _fights
    from ambon_cv.config import Params, RealParams

    report = train_fight_model(
        FightsParams(folder="surveillance-fights"), tmp_path, False, RealParams(root="nowhere")
    )
    assert "no real data at" in report["skipped"] and "nowhere" in report["skipped"]
    assert not FightModel.exists(tmp_path / MODEL_DIR)
    assert "fights.folder" in FightModel.why_none(tmp_path / MODEL_DIR)
    with pytest.raises(FightModelError, match=r"no fight classifier in .*no real data at"):
        FightModel.load(tmp_path / MODEL_DIR)
    assert json.loads((tmp_path / "reports" / "metrics" / "fights.json").read_text()) == {}
    roc = (tmp_path / "reports" / "fights" / "roc.tsv").read_text()
    assert roc.split() == ["false_positive_rate", "true_positive_rate", "threshold"]
    params = Params().model_copy(
        update={"bench": Params().bench.model_copy(update={"fights": str(tmp_path / MODEL_DIR)})}
    )
    assert _fights(params, tmp_path) == ""  # the hot spots run the detector alone


def test_missing_folder_and_missing_model_say_what_to_do(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FightModelError, match="no fight/"):
        train_fight_model(FightsParams(folder=str(tmp_path / "empty")), tmp_path, False)
    with pytest.raises(FightModelError, match=r"model\.joblib is missing: run `ambon fights`"):
        FightModel.load(tmp_path / MODEL_DIR)
