"""Real-footage checks, on any folder laid out like `../shared/datasets/`:

- garbage: mAP50 per class on a YOLO-format folder (its `data.yaml` names are mapped to ours by
  name, its val split is used);
- fights: clip-level accuracy, precision, recall and ROC-AUC on `fight/` and `noFight/` clips,
  twice: through the detector (a clip counts as positive when the alert logic fires on it; its
  score for ROC-AUC is the highest fight confidence seen), and through the clip classifier of
  the `fights` stage (its fight probability). On the very folder the classifier learned from,
  its figures are the out-of-fold scores of the grouped cross-validation, never in-sample ones.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import yaml

from ambon_cv.alerts import AlertEngine, AlertRules
from ambon_cv.detections import CLASSES
from ambon_cv.errors import AmbonError
from ambon_cv.evaluate.detector import Detector
from ambon_cv.frames.sample import ClipDecodeError, sample_clip
from ambon_cv.intervals import rate_interval, share_interval

FIGHT = CLASSES.index("fight")


class RealDataError(AmbonError, ValueError):
    """A real-data folder is not laid out as expected; the message names it."""


def garbage_map(weights: Path, folder: Path, imgsz: int, device: str) -> dict[str, float]:
    """mAP50 (all classes and per class) of `weights` on the val split of a YOLO folder."""
    from ultralytics import YOLO

    spec = folder / "data.yaml"
    if not spec.is_file():
        raise RealDataError(f"{folder}: no data.yaml (expected a YOLO-format folder)")
    names = yaml.safe_load(spec.read_text()).get("names", {})
    names = dict(enumerate(names)) if isinstance(names, list) else names
    unknown = [n for n in names.values() if n not in CLASSES]
    if unknown:
        raise RealDataError(f"{spec}: classes {unknown} are not ours ({', '.join(CLASSES)})")
    if any(CLASSES.index(n) != int(i) for i, n in names.items()):
        raise RealDataError(f"{spec}: class order differs from ours; relabel it first")
    split = next((s for s in ("val", "valid", "test") if (folder / "images" / s).is_dir()), None)
    if split is None:
        raise RealDataError(f"{folder}: no images/val (or valid/test) split")
    with tempfile.TemporaryDirectory() as tmp:
        mirror = _mirror(folder, split, Path(tmp) / "mirror")
        data = Path(tmp) / "data.yaml"
        data.write_text(
            yaml.safe_dump(
                {
                    "path": str(mirror),
                    "train": f"images/{split}",
                    "val": f"images/{split}",
                    "names": dict(enumerate(CLASSES)),
                }
            )
        )
        result = YOLO(str(weights)).val(
            data=str(data),
            imgsz=imgsz,
            device=device,
            plots=False,
            verbose=False,
            project=tmp,
            name="val",
        )
    images = sum(1 for _ in (folder / "images" / split).iterdir())
    out = {"mAP50": float(result.box.map50), "images": images}
    present = set(names.values())
    for i, cls_map in zip(result.box.ap_class_index, result.box.ap50, strict=True):
        if CLASSES[int(i)] in present:
            out[f"mAP50/{CLASSES[int(i)]}"] = float(cls_map)
    out["mAP50"] = float(np.mean([v for k, v in out.items() if k.startswith("mAP50/")] or [0]))
    return out


def _mirror(folder: Path, split: str, out: Path) -> Path:
    """File-by-file symlinks of one split: ultralytics writes its label cache beside the labels
    it reads, and a real-data folder must never be written to."""
    for kind in ("images", "labels"):
        target = out / kind / split
        target.mkdir(parents=True)
        source = folder / kind / split
        if source.is_dir():
            for f in source.iterdir():
                if f.suffix != ".cache":
                    (target / f.name).symlink_to(f.resolve())
    return out


def fight_clips(
    detector: Detector,
    folder: Path,
    rules: AlertRules,
    analysis_fps: float,
    limit: int = 0,
    progress: bool = True,
) -> dict[str, float]:
    """Clip-level fight metrics on a folder of `fight/` and `noFight/` clips."""
    from sklearn.metrics import roc_auc_score
    from tqdm.auto import tqdm

    labelled = [(p, 1) for p in sorted((folder / "fight").glob("*.mp4"))]
    labelled += [(p, 0) for p in sorted((folder / "noFight").glob("*.mp4"))]
    if not labelled:
        raise RealDataError(f"{folder}: no fight/*.mp4 or noFight/*.mp4 clips")
    if limit:
        step = max(1, len(labelled) // limit)
        labelled = labelled[::step][:limit]
    truth, fired, scores, broken = [], [], [], []
    for path, label in tqdm(labelled, desc="real fight clips", unit="clip", disable=not progress):
        engine = AlertEngine(rules)  # fight_source: detector (the caller's)
        best = 0.0
        try:
            frames = list(sample_clip(path, "fixed_rate", rate_fps=analysis_fps))
        except ClipDecodeError as err:
            broken.append(str(err))
            continue
        for f, dets in zip(frames, detector(f.image for f in frames), strict=True):
            engine.update(path.stem, f.time_s, dets)
            conf = dets.confidence[dets.class_id == FIGHT]
            best = max(best, float(conf.max()) if len(conf) else 0.0)
        truth.append(label)
        fired.append(int(any(a.kind == "fight" for a in engine.alerts)))
        scores.append(best)
    t, p = np.array(truth), np.array(fired)
    tp, fp = int(((p == 1) & (t == 1)).sum()), int(((p == 1) & (t == 0)).sum())
    fn = int(((p == 0) & (t == 1)).sum())
    return {
        "clips": len(t),
        "accuracy": float((p == t).mean()),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "roc_auc": float(roc_auc_score(t, scores)) if len(set(truth)) == 2 else float("nan"),
        "unreadable": len(broken),
    }


def fight_clips_classified(
    model_dir: Path, folder: Path, root: Path, limit: int = 0, progress: bool = True
) -> dict[str, float | str]:
    """Clip-level fight metrics of the `fights` stage's classifier on a clip folder."""
    from ambon_cv.fights.classifier import FightModel, clip_metrics, labelled_clips
    from ambon_cv.fights.stage import OUT_OF_FOLD, clip_feature_matrix
    from ambon_cv.paths import under_root

    model = FightModel.load(model_dir)
    paths, labels, _ = labelled_clips(folder)
    trained_on = json.loads((model_dir / OUT_OF_FOLD).read_text())
    if under_root(trained_on["folder"], root).resolve() == folder.resolve():
        rows = trained_on["clips"]
        y = np.array([r["fight"] for r in rows])
        scores = np.array([r["score"] for r in rows])
        source, unreadable = (
            "out-of-fold scores of the grouped cross-validation on its training folder",
            0,
        )
    else:
        if limit:
            step = max(1, len(paths) // limit)
            paths, labels = paths[::step][:limit], labels[::step][:limit]
        x, kept, errors, _ = clip_feature_matrix(paths, model.features, 2, progress)
        y, scores = labels[kept], model.score(x)
        source, unreadable = "held-out folder", len(errors)
    out: dict[str, float | str] = {"clips": len(y), **clip_metrics(y, scores, model.threshold)}
    out.update({"unreadable": unreadable, "source": source})
    return out


def fight_stream_alerts(
    model_dir: Path, folder: Path, root: Path, rules: AlertRules, progress: bool = True
) -> dict[str, float | str]:
    """Real footage played as streams through the fight analytic and the alert engine: the
    noFight clips back to back as one camera (false alerts per camera-hour of real non-fight
    footage), and each fight clip as its own camera (the share that raises an alert). On the
    folder the classifier learned from, every window's score is out-of-fold (a model that never
    saw the clip's recording); on any other folder the shipped analytic scores every window."""
    from tqdm.auto import tqdm

    from ambon_cv.fights.analytic import incident_rules
    from ambon_cv.fights.budget import StreamedClip, play
    from ambon_cv.fights.classifier import FightModel, labelled_clips
    from ambon_cv.fights.footage import clip_windows
    from ambon_cv.fights.stage import OUT_OF_FOLD
    from ambon_cv.paths import under_root

    model = FightModel.load(model_dir)
    window_s = float(model.features.get("window_s", 2.0))
    hop_s = float(model.features.get("hop_s", 0.5))
    trained_on = json.loads((model_dir / OUT_OF_FOLD).read_text())
    clips: list[tuple[str, int, list[float], float]] = []
    if under_root(trained_on["folder"], root).resolve() == folder.resolve():
        clips = [
            (c["clip"], c["fight"], c.get("windows", []), float(c.get("seconds", window_s)))
            for c in trained_on["clips"]
        ]
        source = (
            "out-of-fold window scores on its training folder; the opening threshold was "
            "chosen on these clips (reports/fights.md: chosen on other recordings)"
        )
    else:
        paths, labels, _ = labelled_clips(folder)
        for path, label in tqdm(
            list(zip(paths, labels, strict=True)), desc="real streams", disable=not progress
        ):
            try:
                _, x, _, seconds = clip_windows(path, model.features, window_s, hop_s)
            except ClipDecodeError:
                continue
            scores = model.score(x).tolist() if len(x) else []
            clips.append((path.name, int(label), scores, seconds))
        source = "held-out folder"

    streams = [
        StreamedClip(name, bool(label), scores, seconds) for name, label, scores, seconds in clips
    ]
    point = play(streams, incident_rules(rules, model), model.alert_engine_open(), hop_s)
    hours = point.no_fight_seconds / 3600
    return {
        "no_fight_seconds": round(point.no_fight_seconds, 1),
        "no_fight_clips": len(clips) - point.fight_clips,
        "false_alerts": point.false_alerts,
        "false_alerts_per_camera_hour": point.false_alerts_per_camera_hour,
        "false_alerts_per_camera_hour_95": rate_interval(point.false_alerts, hours),
        "fight_clips": point.fight_clips,
        "fight_clips_alerted_count": point.fight_clips_alerted,
        "fight_clips_alerted": point.fight_share_alerted,
        "fight_clips_alerted_95": share_interval(point.fight_clips_alerted, point.fight_clips),
        "open_threshold": point.open,
        "source": source,
    }


def gated_share(folder: Path, gate, analysis_fps: float, progress: bool = True) -> dict:
    """The share of the detector's frames change-gated inference skips on real CCTV clips:
    each clip's frames at `analysis_fps`, a clip its own camera (its first frame is always
    inferred), per class of the folder (fight/, noFight/). A clip that cannot be decoded is
    left out and named."""
    from tqdm.auto import tqdm

    from ambon_cv.fights.classifier import labelled_clips
    from ambon_cv.inference.gate import ChangeGate

    paths, labels, _ = labelled_clips(folder)
    gates = {0: ChangeGate(gate), 1: ChangeGate(gate)}
    skipped_clips: list[str] = []
    for path, label in tqdm(
        list(zip(paths, labels, strict=True)), desc="real clips gated", disable=not progress
    ):
        try:
            for f in sample_clip(path, "fixed_rate", rate_fps=analysis_fps):
                gates[int(label)].needs_inference(path.name, f.time_s, f.image)
        except ClipDecodeError:
            skipped_clips.append(path.name)
    return {
        "analysis_fps": analysis_fps,
        "fight_clips": gates[1].skipped_share,
        "no_fight_clips": gates[0].skipped_share,
        "frames": gates[0].checked + gates[1].checked,
        "undecodable": skipped_clips,
    }
