"""What DVC shows of a stage: its headline metrics, and the tables its plots are drawn from.

Every stage writes two JSON files. `reports/<stage>.json` holds the details (per camera, per
class, per format, the sweep's points) that the notebooks, the summary and later stages read;
`dvc.yaml` declares it as an output. `reports/metrics/<stage>.json` holds the few numbers a
person compares between experiments (at most about 15, chosen in `HEADLINES` below); it is the
stage's declared metric, so `dvc metrics diff` and `dvc exp show` stay readable.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from ambon_cv.paths import write_json

# the headline of each stage: its name in DVC's tables <- where it sits in the details
HEADLINES: dict[str, dict[str, str]] = {
    "curate": {
        "frames": "samples",
        "train": "per_split.train",
        "val": "per_split.val",
        "buffer": "per_split.buffer",
        "exported_train": "exported.train",
        "exported_val": "exported.val",
        "human_labels": "human_labels",
        "near_duplicates": "near_duplicates",
        "leaks": "leaks",
        "closest_val_train_gap_s": "closest_val_train_gap_s",
        "clipped_boxes": "clipped_boxes",
        "dropped_labels": "dropped_labels",
    },
    "train": {
        "mAP50": "metrics/mAP50",
        "mAP50-95": "metrics/mAP50-95",
        "precision": "metrics/precision",
        "recall": "metrics/recall",
        "epochs": "epochs",
    },
    "fights": {
        "accuracy": "cross_validation.accuracy",
        "roc_auc": "cross_validation.roc_auc",
        "precision": "cross_validation.precision",
        "recall": "cross_validation.recall",
        "brier": "cross_validation.brier",
        "accuracy_mean": "cross_validation.accuracy_mean",
        "roc_auc_mean": "cross_validation.roc_auc_mean",
        "slower_accuracy_mean": "cross_validation.slower_accuracy_mean",
        "slower_roc_auc_mean": "cross_validation.slower_roc_auc_mean",
        "open_threshold": "budget.chosen.open",
        "budget_fight_clips_alerted": "budget.out_of_fold.fight_share_alerted",
        "budget_false_alerts_per_hour": "budget.out_of_fold.false_alerts_per_camera_hour",
        "clips": "cross_validation.clips",
        "recordings": "cross_validation.recordings",
    },
    "evaluate": {
        "mAP50": "frame.mAP50",
        "synthetic_mAP50": "frame.synthetic.mAP50",
        "real_mAP50": "frame.real.mAP50",
        "real_person_mAP50": "people.surveillance-fights.mAP50",
        "real_person_recall": "people.surveillance-fights.recall",
        "garbage_incident_recall": "event.garbage.incident_recall",
        "garbage_alert_precision": "event.garbage.alert_precision",
        "garbage_false_alerts_per_hour": "event.garbage.false_alerts_per_camera_hour",
        "fight_incident_recall": "fight_hours.incident_recall_with_open_alerts",
        "fight_false_alerts_per_hour": "fight_hours.false_alerts_per_camera_hour",
        "real_garbage_mAP50": "real.garbage.mAP50",
        "real_fight_clip_accuracy": "real.fights_classifier.accuracy",
        "real_fight_clip_roc_auc": "real.fights_classifier.roc_auc",
        "real_fight_false_alerts_per_hour": "real.fights_stream.false_alerts_per_camera_hour",
        "real_fight_clips_alerted": "real.fights_stream.fight_clips_alerted",
    },
    "export": {
        "pytorch_mAP50": "pytorch.mAP50",
        "onnx_drop": "formats.onnx.drop",
        "openvino_fp16_drop": "formats.openvino_fp16.drop",
        "openvino_int8_drop": "formats.openvino_int8.drop",
        "torchscript_drop": "formats.torchscript.drop",
        "tensorrt_fp16_drop": "formats.tensorrt_fp16.drop",
        "tensorrt_int8_drop": "formats.tensorrt_int8.drop",
        "openvino_int8_x_pytorch": "openvino_int8_x_pytorch",
        "openvino_int8_latency_ms": "speed.openvino_int8.1.latency_ms",
        "meets_quality_floor": "quality.meets_floor",
    },
    "bench": {
        "streams": "verdict.streams",
        "pass": "verdict.pass",
        "max_streams": "max_streams.pipeline",
        "max_streams_naive": "max_streams.naive",
        "x_naive": "x_naive",
        "x_naive_export": "x_naive_export",
        "efficiency": "efficiency",
        "overload_ratio_to_max": "overload.ratio_to_max",
        "overload_fight_coverage": "overload.fight_coverage",
        "overload_pass": "overload.pass",
        "what_fits_streams": "what_fits.most_streams",
        "cores_needed": "what_fits.cores_needed",
        "gated_share": "gated_share",
        "infer_ms_per_frame": "costs_alone.per_frame_ms.infer",
    },
}


def _get(details: dict, dotted: str) -> Any:
    """The value at `dotted` (keys joined by '.'; a key may itself hold a '/'), or None."""
    value: Any = details
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def headline(stage: str, details: dict) -> dict:
    """The stage's headline metrics from its details; a figure the run did not produce (no
    real data, a format skipped) is left out rather than shown as an empty column.

    Example:
        >>> headline("train", {"metrics/mAP50": 0.84, "epochs": 1, "start": "models/base"})
        {'mAP50': 0.84, 'epochs': 1}
        >>> headline("train", {"metrics/mAP50": float("nan"), "epochs": 1})
        {'epochs': 1}
    """
    out = {}
    for name, dotted in HEADLINES[stage].items():
        value = _get(details, dotted)
        if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
            out[name] = value
    return out


def metrics_path(root: Path, stage: str) -> Path:
    return root / "reports" / "metrics" / f"{stage}.json"


def write_report(root: Path, stage: str, details: dict) -> dict:
    """Write the stage's details (reports/<stage>.json) and its headline metrics
    (reports/metrics/<stage>.json), both strict JSON; returns the headline."""
    (root / "reports" / "metrics").mkdir(parents=True, exist_ok=True)
    write_json(root / "reports" / f"{stage}.json", details)
    top = headline(stage, details)
    write_json(metrics_path(root, stage), top)
    return top


def write_table(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    """A plot's data as TSV, for `dvc plots`: `columns` (default: those of the first row)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    columns = columns or (list(rows[0]) if rows else [])
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path
