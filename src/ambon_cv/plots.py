"""The pictures the notebooks show: cameras on a map, frames with their boxes, incident
timelines, learning curves, the worst mistakes, capacity and latency. Each takes plain data
(the registry, a frames table, a report) and returns a matplotlib Figure, so a notebook cell
is one call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ambon_cv.config import CameraRegistry
from ambon_cv.detections import CLASSES, Detections


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline",):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def camera_map(registry: CameraRegistry):
    """The cameras at their coordinates: colour by owner, a ring on the fight hot spots."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 6))
    for owner, colour in (("pemkot", "tab:blue"), ("polda", "tab:orange")):
        cams = [c for c in registry.cameras if c.owner == owner]
        ax.scatter([c.location.lon for c in cams], [c.location.lat for c in cams], s=30,
                   color=colour, label=cams[0].owner_name if cams else owner)  # fmt: skip
    hot = [c for c in registry.cameras if c.analytic("fight")]
    ax.scatter([c.location.lon for c in hot], [c.location.lat for c in hot], s=160,
               facecolors="none", edgecolors="tab:red", label="fight hot spot")  # fmt: skip
    for c in registry.cameras:
        ax.annotate(c.id.split("-")[1], (c.location.lon, c.location.lat), fontsize=6,
                    xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect("equal")
    ax.legend(fontsize=8)
    ax.set_title(f"{len(registry.cameras)} cameras of the Ambon command center")
    fig.tight_layout()
    return fig


def draw_detections(image: np.ndarray, detections: Detections) -> np.ndarray:
    """`image` (BGR) with boxes and class names drawn by supervision's annotators."""
    import supervision as sv

    sv_det = detections.to_supervision()
    labels = [
        f"{CLASSES[c]} {s:.2f}" if s < 1 else CLASSES[c]
        for c, s in zip(detections.class_id, detections.confidence, strict=True)
    ]
    out = sv.BoxAnnotator(thickness=2).annotate(image.copy(), sv_det)
    return sv.LabelAnnotator(text_scale=0.4, text_padding=2).annotate(out, sv_det, labels=labels)


def frames_with_truth(frames: pd.DataFrame, root: Path, per_camera: int = 1, cameras: int = 6):
    """A grid of sampled frames, ground-truth boxes drawn, a row per camera."""
    import cv2

    plt = _plt()
    chosen = [c for c in frames["camera"].drop_duplicates()][:cameras]
    fig, axes = plt.subplots(
        len(chosen), per_camera, figsize=(4 * per_camera, 2.4 * len(chosen)), squeeze=False
    )
    for row, camera in enumerate(chosen):
        sub = frames[frames["camera"] == camera]
        with_boxes = sub[sub["classes"].map(len) > 0]
        pick = (with_boxes if len(with_boxes) else sub).head(per_camera)
        for col in range(per_camera):
            ax = axes[row][col]
            ax.axis("off")
            if col >= len(pick):
                continue
            f = pick.iloc[col]
            image = cv2.imread(str(root / f["path"]))
            truth = Detections.from_columns(f["boxes"], f["classes"])
            ax.imshow(cv2.cvtColor(draw_detections(image, truth), cv2.COLOR_BGR2RGB))
            ax.set_title(f"{camera} {f['timestamp']} ({f['time_of_day']})", fontsize=7)
    fig.tight_layout()
    return fig


def incident_timeline(incidents: pd.DataFrame, clips: int = 20):
    """Incidents per clip as bars over the clip's seconds."""
    plt = _plt()
    names = list(incidents["clip"].drop_duplicates())[:clips]
    colours = {"fight": "tab:red", "garbage_dump": "tab:olive", "overflow": "tab:purple"}
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(names) + 1.5))
    for _, r in incidents[incidents["clip"].isin(names)].iterrows():
        start = max(float(r["start_s"]), 0.0)
        ax.barh(names.index(r["clip"]), float(r["end_s"]) - start, left=start, height=0.6,
                color=colours.get(r["kind"], "grey"), alpha=0.6)  # fmt: skip
    ax.set_yticks(range(len(names)), names, fontsize=6)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=c, alpha=0.6, label=k) for k, c in colours.items()], fontsize=7)
    ax.set_xlabel("seconds into the clip")
    ax.set_title("Incidents in the footage (ground truth)")
    fig.tight_layout()
    return fig


def learning_curves(root: Path):
    """DVCLive's per-epoch curves of the last training run (dvclive/train)."""
    plt = _plt()
    folder = root / "dvclive" / "train" / "plots" / "metrics"
    files = sorted(folder.rglob("*.tsv"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for f in files:
        table = pd.read_csv(f, sep="\t")
        name = f"{f.parent.name}/{f.stem}"
        ax = axes[0] if "loss" in f.stem else axes[1]
        ax.plot(table["step"], table[f.stem], marker="o", label=name)
    axes[0].set_title("losses")
    axes[1].set_title("val metrics")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def start_curves(runs: dict[str, Path]):
    """Val mAP50 per epoch of training runs (ultralytics' results.csv), one line per start."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, csv in runs.items():
        table = pd.read_csv(csv)
        table.columns = [c.strip() for c in table.columns]
        ax.plot(table["epoch"], table["metrics/mAP50(B)"], marker="o", ms=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("val mAP50 (whole split)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def breakdown(evaluation: dict):
    """mAP50 per camera and per time of day, from reports/evaluate.json."""
    plt = _plt()
    by = evaluation.get("frame", {}).get("fiftyone", {}).get("by", {})
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.5), gridspec_kw={"width_ratios": [3, 1]})
    for ax, field in zip(axes, ("camera", "time_of_day"), strict=True):
        groups = by.get(field, {})
        keys = sorted(groups)
        ax.bar(range(len(keys)), [groups[k]["mAP50"] for k in keys], color="tab:blue")
        ax.set_xticks(range(len(keys)), keys, rotation=90, fontsize=6)
        ax.set_title(f"mAP50 by {field}")
        ax.set_ylim(0, 1)
    fig.tight_layout()
    return fig


def worst_mistakes(dataset, n: int = 6):
    """The val frames the model gets most wrong (FiftyOne's mistakenness), predictions drawn."""
    import cv2
    from fiftyone import ViewField as F

    plt = _plt()
    if not dataset.has_sample_field("mistakenness"):
        raise ValueError("no mistakenness on the dataset: run the evaluate stage first")
    view = dataset.match(F("mistakenness") > 0).sort_by("mistakenness", reverse=True).limit(n)
    rows = max(1, (len(view) + 2) // 3)
    fig, axes = plt.subplots(rows, 3, figsize=(12, 2.8 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, sample in zip(axes.ravel(), view, strict=False):
        image = cv2.imread(sample.filepath)
        h, w = image.shape[:2]
        d = Detections.from_fiftyone(sample["predictions"], w, h)
        ax.imshow(cv2.cvtColor(draw_detections(image, d), cv2.COLOR_BGR2RGB))
        ax.set_title(f"{sample['camera']} mistakenness {sample['mistakenness']:.2f}", fontsize=7)
    fig.tight_layout()
    return fig


def capacity(sweep: dict):
    """Analysed frames/s (dotted: the target) and p95 latency against streams, for the pipeline
    and the naive baseline; the red line is the command center's stream count."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for mode, points in sweep["points"].items():
        if not points:
            continue
        n = [p["streams"] for p in points]
        a1.plot(n, [p["analysed_fps"] for p in points], "o-", label=f"{mode} analysed")
        a1.plot(n, [p["target_fps"] for p in points], ":", color="grey")
        a2.plot(n, [p["latency_ms"]["p95"] or np.nan for p in points], "o-", label=f"{mode} p95")
    streams = sweep["verdict"]["streams"]
    slo = sweep.get("slo", {})
    if slo.get("p95_latency_ms"):
        a2.axhline(slo["p95_latency_ms"], color="black", ls="-.", lw=1, label="p95 SLO")
    for ax in (a1, a2):
        ax.axvline(streams, color="tab:red", ls="--", lw=1)
        ax.set_xlabel("streams")
        ax.legend()
    a1.set_ylabel("frames / s (dotted: target)")
    a2.set_ylabel("latency capture -> result (ms)")
    a2.set_yscale("log")
    fig.suptitle(f"Capacity sweep (red: the command center's {streams} streams)")
    fig.tight_layout()
    return fig


def fair_share(sweep: dict):
    """How evenly each pipeline run served its streams: every stream's analysed ratio (of its
    target), one box per stream count; past capacity the boxes sink together (a fair share)
    instead of some streams keeping all and others none."""
    plt = _plt()
    points = [p for p in sweep["points"].get("pipeline", []) if p.get("per_stream")]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    if points:
        ratios = [[s["ratio"] for s in p["per_stream"]] for p in points]
        ax.boxplot(ratios, tick_labels=[str(p["streams"]) for p in points], showfliers=True)
    ax.axhline(0.5, color="tab:red", ls=":", lw=1)
    ax.set_xlabel("streams")
    ax.set_ylabel("analysed / target, per stream")
    ax.set_title("Share of its analysis each stream got (red: half)")
    fig.tight_layout()
    return fig


def latency_cdf(curves: dict[str, list[float]]):
    """The distribution of capture -> result latency, one curve per load."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(1, len(curves))))  # one per load
    styles = ["-", "--", ":", "-."]
    for k, (label, latencies) in enumerate(curves.items()):
        lat = np.sort(np.asarray(latencies))
        if len(lat):
            ax.plot(lat, np.arange(1, len(lat) + 1) / len(lat), label=label, color=colours[k],
                    ls=styles[k % len(styles)])  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("latency capture -> result (ms)")
    ax.set_ylabel("share of analysed frames")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Latency CDF")
    fig.tight_layout()
    return fig


def formats(export_report: dict):
    """Throughput per exported format and batch (same machine, same run), from
    reports/export.json."""
    plt = _plt()
    speed = export_report["speed"]
    names = list(speed)
    batches = sorted({int(b) for cells in speed.values() for b in cells})
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(1, len(batches))
    for i, b in enumerate(batches):
        ax.bar(np.arange(len(names)) + i * width,
               [speed[n].get(str(b), {}).get("images_per_s", 0) for n in names], width,
               label=f"batch {b}")  # fmt: skip
    ax.set_xticks(np.arange(len(names)) + width * (len(batches) - 1) / 2, names, rotation=15)
    ax.set_ylabel("images / s")
    ax.set_title("Throughput per format (same machine, same run)")
    ax.legend()
    fig.tight_layout()
    return fig


def fight_clips(cv: dict, clips: list[dict], threshold: float):
    """The real-fight clip classifier: ROC curve of the out-of-fold scores, accuracy per
    grouped fold, and how the scores of fights and non-fights separate. `cv` is
    reports/fights.json's cross_validation, `clips` the rows of its out_of_fold.json."""
    from sklearn.metrics import roc_curve

    plt = _plt()
    y = np.array([c["fight"] for c in clips])
    scores = np.array([c["score"] for c in clips])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    fpr, tpr, _ = roc_curve(y, scores)
    axes[0].plot(fpr, tpr, color="tab:red", label=f"ROC-AUC {cv['roc_auc']:.3f}")
    axes[0].plot([0, 1], [0, 1], ls=":", color="grey")
    axes[0].set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC, out of fold")
    axes[0].legend(loc="lower right")
    folds = cv["fold_accuracy"]
    axes[1].bar(range(1, len(folds) + 1), folds, color="tab:blue")
    axes[1].axhline(cv["accuracy"], color="black", ls="--", label=f"all {cv['accuracy']:.3f}")
    axes[1].set(xlabel="fold (grouped by recording)", ylabel="accuracy", ylim=(0, 1))
    axes[1].set_title("Accuracy per fold")
    axes[1].legend(loc="lower right")
    bins = np.linspace(0, 1, 21)
    axes[2].hist(scores[y == 1], bins=bins, alpha=0.6, color="tab:red", label="fight")
    axes[2].hist(scores[y == 0], bins=bins, alpha=0.6, color="tab:green", label="no fight")
    axes[2].axvline(threshold, color="black", ls="--")
    axes[2].set(xlabel="fight probability (out of fold)", ylabel="clips", title="Scores")
    axes[2].legend()
    fig.tight_layout()
    return fig


def fight_operating(budget: dict):
    """The fight alerts' operating curve: false alerts per camera-hour on non-fight clips
    against the share of fight clips alerted, one point per opening threshold; the budget as
    a line, the chosen threshold and the honest (out-of-fold) point marked. `budget` is
    reports/fights.json's budget with its curve."""
    plt = _plt()
    curve = budget["curve"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    x = [c["false_alerts_per_camera_hour"] for c in curve]
    y = [c["fight_share_alerted"] for c in curve]
    ax.plot(x, y, marker=".", color="tab:red", label="opening thresholds (every clip)")
    ax.axvline(budget["per_camera_hour"], color="black", ls="--", label="the budget")
    chosen, honest = budget["chosen"], budget["out_of_fold"]
    ax.scatter(
        [chosen["false_alerts_per_camera_hour"]], [chosen["fight_share_alerted"]], s=80,
        color="black", zorder=3, label=f"chosen: opens at {chosen['open']:.2f}",
    )  # fmt: skip
    ax.scatter(
        [honest["false_alerts_per_camera_hour"]], [honest["fight_share_alerted"]], s=80,
        marker="x", color="tab:blue", zorder=3,
        label="chosen on other recordings (out of fold)",
    )  # fmt: skip
    ax.set(
        xlabel="false fight alerts per camera-hour (non-fight clips)",
        ylabel="share of fight clips alerted",
        ylim=(0, 1.02),
        title="Fight alerts: what each threshold costs and buys",
    )
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def fight_stream(clips: list[dict], hop_s: float, alert_at: float):
    """The real clips played as streams through the fight analytic: every window's
    out-of-fold score over time, the noFight clips back to back above and the fight clips
    below, with the confidence an alert needs. `clips` are out_of_fold.json's rows."""
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(12, 4.6), sharey=True)
    for ax, label, color, title in (
        (axes[0], 0, "tab:green", "noFight clips back to back (every alert here is false)"),
        (axes[1], 1, "tab:red", "fight clips back to back"),
    ):
        t0 = 0.0
        for c in (c for c in clips if c["fight"] == label and c.get("windows")):
            w = np.array(c["windows"])
            t = t0 + np.arange(len(w)) * hop_s
            ax.plot(t, w, color=color, lw=1)
            ax.axvline(t0, color="grey", lw=0.3)
            t0 = t[-1] + hop_s
        ax.axhline(alert_at, color="black", ls="--", lw=1, label=f"alert confidence {alert_at}")
        ax.set(ylabel="fight probability", ylim=(0, 1), title=title)
        ax.legend(loc="upper right", fontsize=8)
    axes[1].set_xlabel("seconds of stream (grey lines: a new clip)")
    fig.tight_layout()
    return fig


def label_curve(report):
    """Val mAP50 against human-labelled frames: the ranking's push against a random one."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for strategy, style in (("ranked", "o-"), ("random", "s--")):
        xs, ys = zip(*report.curve(strategy), strict=True)
        name = "pushed by the ranking (to_label)" if strategy == "ranked" else "pushed at random"
        ax.plot(xs, ys, style, label=name)
    ax.set_xlabel("human-labelled frames")
    ax.set_ylabel("val mAP50 (unseen city)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save(fig, path: Path) -> None:
    """Write a figure for a report and free it (stages draw many)."""
    plt = _plt()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def dataset_overview(dataset):
    """A FiftyOne dataset at a glance: frames per split and source, boxes per class."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.5))
    table = pd.DataFrame(
        {"split": dataset.values("split"), "source": dataset.values("dataset_tag")}
    )
    counts = table.groupby(["split", "source"]).size().unstack(fill_value=0)
    bottom = np.zeros(len(counts))
    for source in counts.columns:
        a1.bar(counts.index, counts[source], bottom=bottom, label=source)
        bottom += counts[source].to_numpy()
    a1.set_title("frames per split and source")
    a1.legend(fontsize=7)
    labels = pd.Series(dataset.count_values("ground_truth.detections.label")).sort_values()
    a2.barh(labels.index, labels.to_numpy(), color="tab:green")
    a2.set_title("boxes per class")
    fig.tight_layout()
    return fig
