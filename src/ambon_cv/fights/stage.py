"""The `fights` stage (`ambon fights`): learn real fights from a folder of clips labelled only
per clip, prove it by cross-validation grouped by source recording, and keep the classifier.

Writes `classifiers/fight-clips/` (the fitted classifier, its feature settings and the
out-of-fold score of every clip), `reports/fights.json` (DVC metrics), `reports/fights.md` and
`reports/fights/clips.png`. A clip that cannot be decoded is named, skipped and listed in the
report; the rest of the run goes on.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ambon_cv import plots
from ambon_cv.config import AlertRules, FightsParams, RealParams
from ambon_cv.contract import StageIO, StageParams, StageResult, stage_result
from ambon_cv.fights.budget import (
    StreamedClip,
    choose_open,
    operating_curve,
    out_of_fold_operating_point,
)
from ambon_cv.fights.calibration import (
    CameraCalibration,
    calibrate_cameras,
    hot_spot_clips,
    known_fights,
)
from ambon_cv.fights.classifier import (
    NONE_FILE,
    Augmented,
    Calibration,
    FightModel,
    FightModelError,
    augmented_subset,
    fit_classifier,
    grouped_cv,
    labelled_clips,
)
from ambon_cv.fights.footage import clip_windows
from ambon_cv.fights.motion import clip_features, flows_a_second, slower_camera_features
from ambon_cv.fights.workers import per_clip
from ambon_cv.frames.sample import ClipDecodeError
from ambon_cv.intervals import rate_interval, share_interval
from ambon_cv.metrics import write_report, write_table
from ambon_cv.paths import write_json
from ambon_cv.real_data import how_to_add, real_folder

MODEL_DIR = Path("classifiers") / "fight-clips"
FOOTAGE = Path("data") / "footage"
STREAM_SETTINGS = ("window_s", "hop_s", "stream_flow_fps")  # the live analytic's, not a clip's
OUT_OF_FOLD = "out_of_fold.json"


def feature_settings(p: FightsParams) -> dict:
    """The keyword arguments of `motion.clip_features` for these params (saved with the model,
    so scoring computes exactly the features it was trained on), and the streaming window."""
    return {
        "features": p.features,
        "width": p.width,
        "interval_s": p.interval_s,
        "window_fraction": p.window_fraction,
        "flow_fps": p.flow_fps,
        "statistics_fps": p.statistics_fps,
        "window_s": p.stream.window_s,
        "hop_s": p.stream.hop_s,
        "stream_flow_fps": p.stream.flow_fps,
    }


def clip_settings(settings: dict) -> dict:
    """`settings` without the streaming ones (what `motion.clip_features` takes)."""
    return {k: v for k, v in settings.items() if k not in STREAM_SETTINGS}


def _features_or_error(args: tuple[Path, dict]) -> tuple[np.ndarray, np.ndarray, float] | str:
    """A clip's features as one window, its sliding windows as the stream scores them, and
    the seconds of motion they cover."""
    path, settings = args
    try:
        if settings["features"] != "region":
            return clip_features(path, **clip_settings(settings)), np.zeros((0, 0)), 0.0
        _, windows, whole, seconds = clip_windows(
            path, settings, settings["window_s"], settings["hop_s"]
        )
        return whole, windows, seconds
    except ClipDecodeError as err:
        return str(err)


def clip_feature_matrix(
    paths: list[Path], settings: dict, workers: int = 2, progress: bool = True
) -> tuple[np.ndarray, list[int], list[str], list[np.ndarray]]:
    """Features of every readable clip: (rows, indices of the clips they belong to, one error
    line per unreadable clip, each kept clip's (sliding-window rows, seconds of motion))."""
    jobs = [(p, settings) for p in paths]
    results = per_clip(_features_or_error, jobs, workers, progress, "clip motion")
    rows, kept, errors, windows = [], [], [], []
    for i, r in enumerate(results):
        if isinstance(r, str):
            errors.append(r)
        else:
            rows.append(r[0])
            windows.append((r[1], r[2]))
            kept.append(i)
    if not rows:
        raise FightModelError(f"no clip could be decoded: {errors[:3]}")
    return np.stack(rows), kept, errors, windows


def _slower_or_error(args: tuple[Path, dict, list[int], float]) -> list[np.ndarray] | str:
    path, settings, steps, slowest_fps = args
    try:
        return slower_camera_features(
            path, steps, slowest_fps, settings["width"], settings["interval_s"],
            settings["window_fraction"],
        )  # fmt: skip
    except ClipDecodeError as err:
        return str(err)


def slower_camera_matrix(
    paths: list[Path], p: FightsParams, workers: int = 2, progress: bool = True
) -> tuple[np.ndarray, np.ndarray] | None:
    """Every clip as the slower cameras of `fights.slower_cameras` would send it: (feature
    rows, index in `paths` of the clip each comes from), to train on and to judge apart in
    the cross-validation (the live analytic sees only what its camera sends); None when there
    are none (no steps, or `statistics` features)."""
    if not p.slower_cameras or p.features != "region":
        return None
    jobs = [(path, feature_settings(p), p.slower_cameras, p.slowest_fps) for path in paths]
    results = per_clip(_slower_or_error, jobs, workers, progress, "slower cameras")
    rows, owners = [], []
    for i, r in enumerate(results):
        if isinstance(r, str):  # read once already: the clip's own features would say so
            print(f"fights: WARNING no slower-camera views of {r}")
            continue
        rows += r
        owners += [i] * len(r)
    if not rows:
        return None
    return np.stack(rows), np.array(owners, np.int64)


def train_fight_model(
    p: FightsParams,
    root: Path,
    progress: bool = True,
    real: RealParams | None = None,
    rules: AlertRules | None = None,
    hot_spots: set[str] | None = None,
) -> dict:
    """Run the stage; returns the report written to reports/fights.json. With no clip folder
    under real.root there is no classifier: its folder holds a note saying how to add the
    clips, and every later stage runs without the fight analytic. `rules`: the alert engine's
    (evaluate.alerts), whose fight incidents the budget's threshold opens; `hot_spots`: the
    cameras calibrated on their recorded footage (data/footage)."""
    rules = rules or AlertRules()
    folder = real_folder(real or RealParams(), root, p.folder)
    if not folder.is_dir():
        return _no_clips(p, root, how_to_add("fights.folder", folder))
    # where it learned, relative to the project (as every path in params is): evaluate compares
    # it with the folder it is given, and scores only out of fold on the classifier's own clips
    trained_on = os.path.relpath(folder, root) if not Path(p.folder).is_absolute() else p.folder
    paths, labels, groups = labelled_clips(folder)
    settings = feature_settings(p)
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    x, kept, unreadable, windows = clip_feature_matrix(paths, settings, p.workers, progress)
    for line in unreadable:
        print(f"fights: WARNING skipped {line}")
    y, g = labels[kept], groups[kept]
    seconds["features"] = time.perf_counter() - t

    t = time.perf_counter()
    slower = slower_camera_matrix([paths[i] for i in kept], p, p.workers, progress)
    seconds["slower_cameras"] = time.perf_counter() - t

    t = time.perf_counter()
    cv = grouped_cv(
        x, y, g, p.folds, p.seed, p.classifier, p.trees, p.threshold, p.repeats, p.inner_folds,
        augmented=slower,
    )  # fmt: skip
    seconds["cross_validation"] = time.perf_counter() - t

    t = time.perf_counter()
    classifier = fit_classifier(x, y, p.classifier, p.trees, p.seed, augmented=slower)
    # calibrated and thresholded on the out-of-fold scores: what unseen scenes look like
    calibration = (
        Calibration.fit(np.array(cv.raw_scores), y)
        if p.inner_folds
        else Calibration(threshold=p.threshold)
    )
    seconds["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    streamed = (
        streamed_out_of_fold(x, y, g, windows, p, calibration, slower)
        if windows[0][0].size
        else [[] for _ in y]
    )
    seconds["streamed"] = time.perf_counter() - t

    t = time.perf_counter()
    streams = [
        StreamedClip(str(paths[i].name), bool(labels[i]), w, sec, str(groups[i]))
        for i, w, (_, sec) in zip(kept, streamed, windows, strict=True)
    ]
    budget = alert_budget(streams, y, g, p, rules) if windows[0][0].size else None
    seconds["budget"] = time.perf_counter() - t

    out_of_fold = [
        {
            "clip": str(paths[i].relative_to(folder)),
            "recording": str(groups[i]),
            "fight": int(labels[i]),
            "score": round(s, 4),
            "windows": w,  # out-of-fold score of each sliding window, every hop_s
            "seconds": round(sec, 2),  # of motion measured (the clip's length, near enough)
        }
        for i, s, w, (_, sec) in zip(kept, cv.scores, streamed, windows, strict=True)
    ]
    cross_validation = {k: v for k, v in cv.as_dict().items() if k not in ("scores", "raw_scores")}
    report = {
        "folder": trained_on,
        "features": p.features,
        "classifier": p.classifier,
        "threshold": calibration.threshold,
        "calibration": asdict(calibration),
        "cross_validation": cross_validation,
        "window": {
            "window_s": p.stream.window_s,
            "hop_s": p.stream.hop_s,
            "flow_fps": p.stream.flow_fps,
        },
        "clips_per_class": {"fight": int(y.sum()), "no_fight": int(len(y) - y.sum())},
        "slower_camera_views": {
            "steps": p.slower_cameras,
            "slowest_fps": p.slowest_fps,
            "rows": 0 if slower is None else len(slower[1]),
        },
        "budget": budget and {k: v for k, v in budget.items() if k != "curve"},
        "unreadable": unreadable,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }
    model_dir = root / MODEL_DIR
    (model_dir / NONE_FILE).unlink(missing_ok=True)  # from a run that had no clips
    opens = budget["chosen"]["open"] if budget else None
    model = FightModel(classifier, settings, calibration.threshold, calibration, opens)
    card = {"trained_on": trained_on, "clips": len(y), "cross_validation": cross_validation}
    model.save(model_dir, card)
    if opens is not None and hot_spots:
        t = time.perf_counter()
        cameras = calibrate_hot_spots(root, model_dir, hot_spots, rules, p, opens, progress)
        model.camera_open = {c: k.open for c, k in cameras.items() if k.open != opens}
        model.save(model_dir, card)
        report["hot_spots"] = {c: k.as_dict() for c, k in cameras.items()}
        seconds["calibration"] = time.perf_counter() - t
        report["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    write_json(
        model_dir / OUT_OF_FOLD,
        {"folder": trained_on, "hop_s": p.stream.hop_s, "clips": out_of_fold},
    )

    reports = root / "reports"
    plots.save(
        plots.fight_clips(cross_validation, out_of_fold, calibration.threshold),
        reports / "fights" / "clips.png",
    )
    write_table(reports / "fights" / "roc.tsv", roc_table(out_of_fold))
    write_table(reports / "fights" / "operating.tsv", budget["curve"] if budget else [], OPERATING)
    if budget:
        plots.save(plots.fight_operating(budget), reports / "fights" / "operating.png")
    write_report(root, "fights", report)
    (reports / "fights.md").write_text(_markdown(report))
    return report


def calibrate_hot_spots(
    root: Path,
    model_dir: Path,
    hot_spots: set[str],
    rules: AlertRules,
    p: FightsParams,
    global_open: float,
    progress: bool = True,
) -> dict[str, CameraCalibration]:
    """Each hot spot's opening threshold on its footage in data/footage (the footage stage's
    manifest; the rendered city's known fights left out)."""
    footage = root / FOOTAGE
    clips = hot_spot_clips(root, footage, hot_spots)
    clips.update({c: [] for c in hot_spots if c not in clips})  # named: no footage at all
    return calibrate_cameras(
        model_dir, clips, known_fights(footage), rules, p.budget, global_open,
        p.calibration_min_minutes, p.workers, progress,
    )  # fmt: skip


OPERATING = ["open", "false_alerts_per_camera_hour", "fight_share_alerted", "false_alerts"]


def alert_budget(
    streams: list[StreamedClip], y: np.ndarray, groups: np.ndarray, p: FightsParams,
    rules: AlertRules,
) -> dict:  # fmt: skip
    """The fight incidents' opening threshold for `fights.budget`, chosen on every clip's
    out-of-fold window scores; the operating curve; and the budget judged honestly (each
    fold's threshold chosen on the other recordings, played on its own)."""
    from sklearn.model_selection import StratifiedGroupKFold

    hop = p.stream.hop_s
    chosen = choose_open(streams, rules, hop, p.budget)
    splitter = StratifiedGroupKFold(p.folds, shuffle=True, random_state=p.seed)
    folds = [test for _, test in splitter.split(np.zeros(len(y)), y, groups)]
    honest = out_of_fold_operating_point(streams, rules, hop, p.budget, folds)
    return {
        "per_camera_hour": p.budget,
        "chosen": chosen.as_dict(),
        "out_of_fold": honest,
        "false_alerts_per_camera_hour_95": rate_interval(
            honest["false_alerts"], honest["no_fight_seconds"] / 3600
        ),
        "fight_share_alerted_95": share_interval(
            honest["fight_clips_alerted"], honest["fight_clips"]
        ),
        "rules": {"keep": rules.fight_keep, "min_s": rules.fight_min_s, "merge_s": rules.merge_s},
        "curve": [
            {k: v for k, v in pt.as_dict().items() if k in OPERATING}
            for pt in operating_curve(streams, rules, hop)
        ],
    }


def _no_clips(p: FightsParams, root: Path, note: str) -> dict:
    model_dir = root / MODEL_DIR
    shutil.rmtree(model_dir, ignore_errors=True)
    model_dir.mkdir(parents=True)
    (model_dir / NONE_FILE).write_text(f"No fight classifier. {note}\n")
    reports = root / "reports"
    write_table(reports / "fights" / "roc.tsv", [], ROC_COLUMNS)
    write_table(reports / "fights" / "operating.tsv", [], OPERATING)
    report = {"folder": p.folder, "skipped": note}
    write_report(root, "fights", report)
    (reports / "fights.md").write_text(f"# Fights: skipped\n\n{note}\n")
    return report


ROC_COLUMNS = ["false_positive_rate", "true_positive_rate", "threshold"]


def roc_table(out_of_fold: list[dict]) -> list[dict]:
    """The ROC curve of the out-of-fold clip scores (each clip scored by the fold that did not
    see its recording), one row per threshold, for `dvc plots`.

    Example:
        >>> roc_table([{"fight": 1, "score": 0.9}, {"fight": 0, "score": 0.2}])[1]
        {'false_positive_rate': 0.0, 'true_positive_rate': 1.0, 'threshold': 0.9}
    """
    from sklearn.metrics import roc_curve

    y = [c["fight"] for c in out_of_fold]
    if len(set(y)) < 2:  # one class only: no curve to draw
        return []
    fpr, tpr, thresholds = roc_curve(y, [c["score"] for c in out_of_fold])
    return [
        {
            "false_positive_rate": round(float(f), 4),
            "true_positive_rate": round(float(t), 4),
            "threshold": round(float(min(th, 1.0)), 4),  # sklearn's first threshold is inf
        }
        for f, t, th in zip(fpr, tpr, thresholds, strict=True)
    ]


def streamed_out_of_fold(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    windows: list[np.ndarray],
    p: FightsParams,
    calibration: Calibration,
    slower: Augmented | None = None,
) -> list[list[float]]:
    """Every sliding window of every clip, scored as the live analytic scores it, by a model
    that never saw the clip's recording (grouped folds of the first draw). The `evaluate`
    stage plays these through the alert engine (false alerts on real non-fight footage)."""
    from sklearn.model_selection import StratifiedGroupKFold

    scores: list[list[float]] = [[] for _ in y]
    splitter = StratifiedGroupKFold(p.folds, shuffle=True, random_state=p.seed)
    for train_idx, test_idx in splitter.split(x, y, groups):
        model = fit_classifier(
            x[train_idx], y[train_idx], p.classifier, p.trees, p.seed,
            augmented=augmented_subset(slower, train_idx),
        )  # fmt: skip
        for i in test_idx:
            if len(windows[i][0]):
                s = calibration(model.predict_proba(np.nan_to_num(windows[i][0]))[:, 1])
                scores[i] = [round(float(v), 4) for v in s]
    return scores


def _slower_line(views: dict | None, cv: dict) -> list[str]:
    if not views or not views["rows"]:
        return []
    steps = " and ".join(str(k) for k in views["steps"])
    return [
        f"Training also saw each clip as a camera sending 1 of every {steps} of its frames "
        f"would send it (not under {views['slowest_fps']:g} fps; {views['rows']} views), each "
        "in its clip's fold: the cameras send 10-25 fps. Those views of the held-out clips, "
        "judged by their fold's model and threshold (the clips as slower cameras see them): "
        f"accuracy {cv['slower_accuracy_mean']:.3f}, ROC-AUC {cv['slower_roc_auc_mean']:.3f} "
        "(mean over the draws).",
        "",
    ]


def _live_rate(window: dict) -> str:
    """How the live analytic takes a camera's frames, in words."""
    least = window.get("flow_fps") or 0
    if not least:
        return ", on every frame"
    return (
        f", taking at least {least:g} of the camera's frames a second, in whole steps (a 25 fps "
        f"camera {flows_a_second(25, least):g}, a 30 fps one {flows_a_second(30, least):g})"
    )


def _interval(pair) -> str:
    return f"{pair[0]:.2g}-{pair[1]:.2g}" if pair else "n/a"


def _budget_lines(b: dict | None) -> list[str]:
    if not b:
        return []
    c, h = b["chosen"], b["out_of_fold"]
    hours = h["no_fight_seconds"] / 3600
    return [
        "",
        "## The alert budget",
        "",
        f"The command center accepts {b['per_camera_hour']:g} false fight alerts per "
        f"camera-hour (`fights.budget`). A fight incident opens on a window scoring at least "
        f"**{c['open']:.2f}**, the lowest threshold that meets it on the non-fight clips played "
        f"as one camera, stays open while windows score {b['rules']['keep']:g} and alerts once "
        f"it has lasted {b['rules']['min_s']:g} s (`evaluate.alerts`; most clips are shorter, "
        "so an incident open when its clip ends counts as alerted). On every clip, at that "
        f"threshold: {c['false_alerts']} false alerts in {c['no_fight_seconds']:.0f} s, "
        f"{c['fight_clips_alerted']} of {c['fight_clips']} fight clips alerted.",
        "",
        "Chosen on the other recordings and played on each fold's own (what a new camera "
        f"sees; thresholds {', '.join(f'{t:.2f}' for t in h['open_per_fold'])}):",
        "",
        "| false alerts | non-fight hours | per camera-hour (95%) | fight clips alerted (95%) |",
        "|---|---|---|---|",
        f"| {h['false_alerts']} | {hours:.3f} | {h['false_alerts_per_camera_hour']:.1f} "
        f"({_interval(b['false_alerts_per_camera_hour_95'])}) | {h['fight_clips_alerted']} of "
        f"{h['fight_clips']}, {h['fight_share_alerted']:.2f} "
        f"({_interval(b['fight_share_alerted_95'])}) |",
        "",
        f"{hours * 60:.1f} minutes of non-fight footage cannot resolve {b['per_camera_hour']:g} "
        "an hour: one false alert in them is "
        f"{1 / hours if hours else float('nan'):.0f} an hour. The operating curve: "
        "`reports/fights/operating.png` (`dvc plots show`: fight-operating).",
    ]


def _calibration_lines(cameras: dict | None, budget: dict | None) -> list[str]:
    if not cameras or not budget:
        return []
    opens = budget["chosen"]["open"]
    raised = sorted(c for c, k in cameras.items() if k["open"] > opens)
    short = sorted(c for c, k in cameras.items() if k["how"] != "own footage")
    lines = [
        "",
        "## Calibration per hot spot",
        "",
        f"Each hot spot's footage in `data/footage` (a normal day; the rendered city's known "
        f"fights left out) played through the analytic: a camera with at least "
        f"`fights.calibration_min_minutes` of it gets the lowest threshold at or above the "
        f"global {opens:.2f} that keeps its false alerts within the budget there. "
        f"{len(raised)} of {len(cameras)} raised; {len(short)} keep the global one for want of "
        "footage (or over budget even at the top, said per camera).",
        "",
        "| camera | minutes | opens at | false alerts there | how |",
        "|---|---|---|---|---|",
    ]
    for camera, k in sorted(cameras.items()):
        broken = f" ({len(k['unreadable'])} clips unreadable)" if k["unreadable"] else ""
        lines.append(
            f"| {camera} | {k['minutes']:.1f} | {k['open']:.2f} | {k['false_alerts']} | "
            f"{k['how']}{broken} |"
        )
    return lines


def _markdown(r: dict) -> str:
    cv = r["cross_validation"]
    folds = ", ".join(f"{a:.2f}" for a in cv["fold_accuracy"])
    lines = [
        "# Real fights: the clip classifier",
        "",
        f"{cv['clips']} clips ({r['clips_per_class']['fight']} fight, "
        f"{r['clips_per_class']['no_fight']} no fight) from {cv['recordings']} source recordings "
        f"in `{r['folder']}`; `{r['features']}` motion features, `{r['classifier']}`, a clip "
        f"is a fight at probability >= {r['threshold']}.",
        "",
        f"{len(cv['fold_accuracy'])}-fold cross-validation GROUPED BY SOURCE RECORDING (no "
        "recording on both sides of a fold, so the classifier is judged on scenes it never saw):",
        "",
        "| accuracy | precision | recall | ROC-AUC | fold accuracies |",
        "|---|---|---|---|---|",
        f"| {cv['accuracy']:.3f} | {cv['precision']:.3f} | {cv['recall']:.3f} | "
        f"{cv['roc_auc']:.3f} | {folds} |",
        "",
        f"Over {cv['repeats']} different fold assignments: accuracy {cv['accuracy_mean']:.3f} "
        f"± {cv['accuracy_std']:.3f}, ROC-AUC {cv['roc_auc_mean']:.3f} "
        f"± {cv['roc_auc_std']:.3f}. The threshold and the calibration are chosen inside each "
        f"fold on its own training clips (chosen: {cv['thresholds']}); calibrated probability "
        f"Brier score {cv['brier']:.3f} (0.25: a coin).",
        "",
        *_slower_line(r.get("slower_camera_views"), cv),
        f"Live: the same classifier scores a sliding window of {r['window']['window_s']} s "
        f"every {r['window']['hop_s']} s (`ambon_cv.fights.analytic`){_live_rate(r['window'])}; "
        "out-of-fold window scores of every clip, taken so, are kept for the `evaluate` "
        "stage's real-footage alerts.",
        "",
        "Plot: `reports/fights/clips.png`. Model: `classifiers/fight-clips/` (also exported "
        "with the detector).",
    ]
    lines += _budget_lines(r.get("budget"))
    lines += _calibration_lines(r.get("hot_spots"), r.get("budget"))
    if r["unreadable"]:
        lines += ["", "Skipped (could not be decoded):", *[f"- {e}" for e in r["unreadable"]]]
    lines += ["", f"Seconds: {r['seconds']}"]
    return "\n".join(lines) + "\n"


def run(params: StageParams, io: StageIO) -> StageResult:
    """`ambon fights`: learn the fight analytic from the clips of fights.folder."""
    hot_spots = {c.id for c in io.cameras().cameras if c.analytic("fight") is not None}
    r = train_fight_model(
        params.fights, io.root, progress=io.progress, real=params.real,
        rules=params.evaluate.alerts, hot_spots=hot_spots,
    )  # fmt: skip
    if "skipped" in r:  # the later stages run without the fight analytic
        return stage_result("fights", r, f"fights: WARNING skipped, {r['skipped']}")
    cv = r["cross_validation"]
    return stage_result(
        "fights",
        r,
        f"fights: {cv['clips']} clips from {cv['recordings']} recordings; grouped "
        f"{len(cv['fold_accuracy'])}-fold accuracy {cv['accuracy']:.3f} (mean of "
        f"{cv['repeats']} draws {cv['accuracy_mean']:.3f}), ROC-AUC {cv['roc_auc']:.3f}; "
        f"classifier in {MODEL_DIR}/, report in reports/fights.md",
    )
