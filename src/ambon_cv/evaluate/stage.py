"""The `evaluate` stage: one report for the trained detector.

1. frame level on the val split (ultralytics' validator + FiftyOne breakdowns, stored on the
   dataset as `eval`, with `predictions` and `mistakenness` for the `hard` view);
2. event level on held-out clips: the detector and the streaming fight analytic run as live
   streams into one alert engine (alerts against incidents);
3. real footage: street-garbage mAP50; fight clips through the fight analytic (clip accuracy,
   and false alerts with the clips played as a stream), and through the detector's fight
   boxes to compare.

Writes `reports/evaluate.json` (DVC metrics), `reports/evaluate.md` and plots in
`reports/evaluate/`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from ambon_cv.alerts import TOLERANCE_S
from ambon_cv.config import CameraRegistry, Params
from ambon_cv.contract import StageIO, StageParams, StageResult, stage_result
from ambon_cv.evaluate.detector import Detector, DetectorError
from ambon_cv.evaluate.events import evaluate_events, held_out_city
from ambon_cv.evaluate.fight_hours import fight_hours
from ambon_cv.evaluate.frame import breakdown, headline, val_images
from ambon_cv.evaluate.people import person_figures, real_sets
from ambon_cv.evaluate.real import (
    fight_clips,
    fight_clips_classified,
    fight_stream_alerts,
    garbage_map,
    gated_share,
)
from ambon_cv.fights.analytic import incident_rules
from ambon_cv.fights.classifier import FightModel
from ambon_cv.fights.stage import MODEL_DIR as FIGHT_MODEL
from ambon_cv.intervals import fmt_interval
from ambon_cv.metrics import write_report, write_table
from ambon_cv.paths import write_json
from ambon_cv.real_data import how_to_add, real_folder
from ambon_cv.train.base import sha256
from ambon_cv.train.trainer import torch_device

FIGHT_HOURS_CURVE = ["open", "false_alerts_per_camera_hour", "incident_recall_with_open_alerts"]


def _given(path: str | None) -> Path | None:
    """A folder named on the command line (relative to where you are)."""
    if not path:
        return None
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise DetectorError(f"evaluate: real-data folder {folder} does not exist")
    return folder


def _real(params: Params, root: Path, name: str, what: str, skipped: list[str]) -> Path | None:
    """The pipeline's real folder `name` under real.root; None (and a note) when absent."""
    folder = real_folder(params.real, root, name)
    if folder is not None and not folder.is_dir():
        skipped.append(how_to_add(what, folder))
        return None
    return folder


def evaluate(
    params: Params,
    registry: CameraRegistry,
    root: Path,
    progress: bool = True,
) -> dict:
    """Run all three evaluations; returns the metrics written to reports/evaluate.json."""
    p = params.evaluate
    weights = root / "models" / "best.pt"
    device = torch_device(p.device)
    detector = Detector(weights, None, p.conf, device)  # at the size it was trained at
    reports = root / "reports"
    plots = reports / "evaluate"
    seconds: dict[str, float] = {}
    metrics: dict = {"model": str(weights.relative_to(root)), "model_sha256": sha256(weights)}

    t = time.perf_counter()
    data = root / "data" / "curated" / "yolo" / "dataset.yaml"
    # the synthetic city and the real photos apart: one can hide the other in the mixed figure
    sources = val_images(data, {c.id for c in registry.cameras})
    # and each real set apart: the real-person check reports people per source
    sets = real_sets(sources["real"], params, root)
    groups = {name: images for name, images in (sources | sets).items() if images}
    metrics["frame"] = headline(weights, data, detector.imgsz, device, plots, groups=groups)
    found = metrics["frame"].pop("groups", {})  # none: no val images
    metrics["frame"].update({k: v for k, v in found.items() if k in sources})
    metrics["people"] = person_figures(found, sets)
    from ambon_cv.curate.db import connect

    fo = connect(root)
    if fo.dataset_exists(params.curate.dataset):
        ds = fo.load_dataset(params.curate.dataset)
        metrics["frame"]["fiftyone"] = breakdown(fo, ds, detector, detector.version)
        from ambon_cv.curate.dataset import save_views

        save_views(fo, ds)
    seconds["frame"] = time.perf_counter() - t

    t = time.perf_counter()
    ev = p.events
    cameras, city = held_out_city(params, registry)
    fights = FightModel.load(root / FIGHT_MODEL) if FightModel.exists(root / FIGHT_MODEL) else None
    rules = incident_rules(p.alerts, fights)
    events, timeline, gating, tracking = evaluate_events(
        detector, cameras, city, rules, ev.analysis_fps, progress, fights, p.gate
    )
    metrics["fight_rule"] = {
        "open": rules.fight_open,
        "keep": rules.fight_keep,
        "min_s": rules.fight_min_s,
    }
    metrics["event"] = {kind: m.as_dict() for kind, m in events.items()}
    metrics["gating"] = gating  # change-gated inference on the same clips
    metrics["tracking"] = tracking  # track ids against the clips' ground-truth identities
    _timeline_plot(timeline, plots / "alert_timeline.png")
    seconds["event"] = time.perf_counter() - t

    t = time.perf_counter()
    if fights is not None:
        hot_spots = [c for c in registry.cameras if c.analytic("fight") is not None]
        hours = fight_hours(
            root / FIGHT_MODEL, p.alerts, hot_spots, params.footage.synthetic, p.fight_hours,
            progress,
        )  # fmt: skip
        if hours is not None:
            metrics["fight_hours"] = {k: v for k, v in hours.items() if k != "curve"}
            write_table(plots / "fight_hours.tsv", hours["curve"], FIGHT_HOURS_CURVE)
    seconds["fight_hours"] = time.perf_counter() - t

    t = time.perf_counter()
    skipped: list[str] = []
    garbage_dir = _real(params, root, p.real_garbage, "evaluate.real_garbage", skipped)
    fights_dir = _real(params, root, p.real_fights, "evaluate.real_fights", skipped)
    metrics["real"] = real_checks(params, root, detector, garbage_dir, fights_dir, progress)
    if skipped:
        metrics["real_skipped"] = skipped
    seconds["real"] = time.perf_counter() - t
    metrics["seconds"] = {k: round(v, 1) for k, v in seconds.items()}

    reports.mkdir(exist_ok=True)
    # the time each part took goes to the markdown only: export depends on the JSON, and a
    # re-run on the same inputs must leave it byte for byte as it was
    write_report(root, "evaluate", {k: v for k, v in metrics.items() if k != "seconds"})
    (reports / "evaluate.md").write_text(_markdown(metrics))
    return metrics


def real_checks(
    params: Params,
    root: Path,
    detector: Detector,
    garbage_dir: Path | None,
    fights_dir: Path | None,
    progress: bool = True,
) -> dict:
    """The real-footage checks on a street-garbage folder and a fight-clip folder (None skips
    one): the detector's mAP50, the fight analytic per clip and as a stream, the detector's
    fight boxes to compare, and the share of frames the change gate skips."""
    p = params.evaluate
    out: dict = {}
    if garbage_dir:
        out["garbage"] = garbage_map(detector.path, garbage_dir, detector.imgsz, detector.device)
    if fights_dir:
        detector_rules = incident_rules(
            p.alerts.model_copy(update={"fight_source": "detector"}), None
        )
        out["fights"] = fight_clips(
            detector, fights_dir, detector_rules, p.events.analysis_fps, p.real_fights_limit,
            progress,
        )  # fmt: skip
        if FightModel.exists(root / FIGHT_MODEL):
            out["fights_classifier"] = fight_clips_classified(
                root / FIGHT_MODEL, fights_dir, root, p.real_fights_limit, progress
            )
            out["fights_stream"] = fight_stream_alerts(
                root / FIGHT_MODEL, fights_dir, root, p.alerts, progress
            )
        out["gated_share"] = gated_share(fights_dir, p.gate, p.events.analysis_fps, progress)
    return out


def evaluate_folders(
    params: Params,
    root: Path,
    real_garbage: str | None = None,
    real_fights: str | None = None,
    progress: bool = True,
) -> tuple[dict, Path]:
    """The real-footage checks on folders of your own, written to reports/real/<name>.{json,md}
    (named after the folders): the pipeline's reports/evaluate.json is left as it is."""
    garbage_dir, fights_dir = _given(real_garbage), _given(real_fights)
    if not (garbage_dir or fights_dir):
        raise DetectorError("evaluate: give --real-garbage DIR, --real-fights DIR or both")
    p = params.evaluate
    weights = root / "models" / "best.pt"
    detector = Detector(weights, None, p.conf, torch_device(p.device))
    out = {
        "model": str(weights.relative_to(root)),
        "model_sha256": sha256(weights),
        "folders": {
            "garbage": str(garbage_dir or "") or None,
            "fights": str(fights_dir or "") or None,
        },
        "real": real_checks(params, root, detector, garbage_dir, fights_dir, progress),
    }
    name = "+".join(f.name for f in (garbage_dir, fights_dir) if f)
    target = root / "reports" / "real" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json(target.with_suffix(".json"), out)
    lines = [f"# Real-footage checks of {out['model']} on {name}", "", *_real_lines(out["real"])]
    target.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return out, target.with_suffix(".json")


def run(
    params: StageParams,
    io: StageIO,
    real_garbage: str | None = None,
    real_fights: str | None = None,
) -> StageResult:
    """`ambon evaluate`: the pipeline's evaluation of models/best.pt; with `real_garbage` or
    `real_fights`, only the real-footage checks on those folders, in a report of their own."""
    if real_garbage or real_fights:
        out, path = evaluate_folders(params, io.root, real_garbage, real_fights, io.progress)
        line = (
            f"evaluate: real-footage checks in {path.with_suffix('.md')} (the pipeline's "
            "reports/evaluate.json is unchanged)"
        )
        return StageResult("evaluate", [*_real_lines(out["real"]), line], out)
    m = evaluate(params, io.cameras(), io.root, io.progress)
    ev = m["event"]
    lines = [
        f"evaluate: frame mAP50 {m['frame']['mAP50']:.3f}; fight incident recall "
        f"{ev['fight']['incident_recall']:.2f}, garbage {ev['garbage']['incident_recall']:.2f}"
        "; report in reports/evaluate.md"
    ]
    gating = m.get("gating")
    if gating:
        lost = "nothing lost" if gating["nothing_lost"] else "LOST " + "; ".join(gating["lost"])
        lines.append(
            f"evaluate: change-gated inference skipped {gating['skipped_share']:.0%} of the "
            f"detector's frames; {lost}"
        )
    real = m.get("real", {})
    if classified := real.get("fights_classifier"):
        lines.append(
            f"evaluate: real fight clips through the fight analytic: accuracy "
            f"{classified['accuracy']:.3f}, ROC-AUC {classified['roc_auc']:.3f} "
            f"({classified['source']})"
        )
    if streamed := real.get("fights_stream"):
        lines.append(
            f"evaluate: real noFight clips as a stream: {streamed['false_alerts']} false fight "
            f"alerts in {streamed['no_fight_seconds']} s"
        )
    return stage_result("evaluate", {k: v for k, v in m.items() if k != "seconds"}, *lines)


def _timeline_plot(timeline: list[dict], path: Path) -> None:
    """Incidents (bars) and alerts (markers) per held-out clip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clips = sorted({r["clip"] for r in timeline})
    if not clips:
        return
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(clips) + 2.0))
    colors = {"fight": "tab:red", "garbage": "tab:olive", "overflow": "tab:purple"}
    for row in timeline:
        y = clips.index(row["clip"])
        kind = row["what"].split(":")[1]
        if row["what"].startswith("incident"):
            start = max(row["start_s"], 0)
            ax.barh(
                y,
                row["end_s"] - start,
                left=start,
                height=0.5,
                alpha=0.35,
                color=colors.get(kind, "grey"),
            )
        elif _is_true(row, timeline):
            ax.plot(row["start_s"], y, marker="v", color=colors.get(kind, "black"), ms=8)
        else:  # a false alert: no incident of its kind near it
            ax.plot(row["start_s"], y, marker="X", color=colors.get(kind, "black"), ms=10,
                    markeredgecolor="black")  # fmt: skip
    ax.set_yticks(range(len(clips)), [c.split("_")[0] for c in clips], fontsize=7)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=c, alpha=0.35, label=f"{k} incident") for k, c in colors.items()]
    handles += [
        Line2D([], [], marker="v", ls="", color=colors[k], label=f"{k} alert")
        for k in ("fight", "garbage")
    ]
    handles += [
        Line2D([], [], marker="X", ls="", color=colors[k], markeredgecolor="black",
               label=f"false {k} alert")
        for k in ("fight", "garbage")
    ]  # fmt: skip
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    ax.set_xlabel("seconds into the clip (bars: incidents, markers: alerts, X: false alerts)")
    ax.set_title("Alerts against incidents on held-out clips")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _is_true(alert: dict, timeline: list[dict]) -> bool:
    """Whether an alert row of the timeline has an incident of its kind in its clip within
    the tolerance `match_alerts` scores by (a garbage alert is true for an overflow too)."""
    kind = alert["what"].split(":")[1]
    kinds = {"garbage", "overflow"} if kind == "garbage" else {kind}
    return any(
        r["clip"] == alert["clip"]
        and r["what"].startswith("incident")
        and r["what"].split(":")[1] in kinds
        and r["start_s"] - TOLERANCE_S <= alert["start_s"] <= r["end_s"] + TOLERANCE_S
        for r in timeline
    )


def _fmt(v) -> str:
    return (
        "n/a"
        if v is None or (isinstance(v, float) and math.isnan(v))
        else (f"{v:.3f}" if isinstance(v, float) else str(v))
    )


def _unseen(e: dict) -> str:
    """The incidents over before their clip began, beside the scored ones (none: nothing)."""
    n = e.get("incidents_unseen", 0)
    return f" (+{n} over before the clip began, not scored)" if n else ""


def _markdown(m: dict) -> str:
    f = m["frame"]
    lines = [
        f"# Evaluation of `{m['model']}`",
        "",
        "## Frames (val split)",
        "",
        f"mAP50 {_fmt(f['mAP50'])}, mAP50-95 {_fmt(f['mAP50-95'])} on {f['images']} images.",
        "",
        "| class | precision | recall | mAP50 | mAP50-95 |",
        "|---|---|---|---|---|",
        *[
            f"| {c} | {_fmt(v['precision'])} | {_fmt(v['recall'])} | {_fmt(v['mAP50'])} | "
            f"{_fmt(v['mAP50-95'])} |"
            for c, v in f["per_class"].items()
        ],
        "",
        "Plots: confusion matrix and PR curves in `reports/evaluate/`.",
    ]
    sources = [s for s in ("synthetic", "real") if s in f]
    if sources:
        classes = list(f["per_class"])
        lines += [
            "",
            "mAP50 by source (the synthetic city and the real photos apart):",
            "",
            "| source | images | all | " + " | ".join(classes) + " |",
            "|" + "---|" * (3 + len(classes)),
            *[
                f"| {s} | {f[s]['images']} | {_fmt(f[s]['mAP50'])} | "
                + " | ".join(_fmt(f[s]["per_class"].get(c, {}).get("mAP50")) for c in classes)
                + " |"
                for s in sources
            ],
        ]
    if m.get("people"):
        lines += [
            "",
            "## Real people (val frames of recordings and photos never trained on)",
            "",
            "Truth: the people teacher's boxes at curate.people.check_conf (the base's card says "
            "how often they are right and what they miss).",
            "",
            "| source | images | people | mAP50 | recall | precision |",
            "|---|---|---|---|---|---|",
            *[
                f"| {name} | {v['images']} | {v['instances']} | {_fmt(v['mAP50'])} | "
                f"{_fmt(v['recall'])} | {_fmt(v['precision'])} |"
                for name, v in m["people"].items()
            ],
        ]
    if m.get("tracking"):
        lines += [
            "",
            "## Tracking (held-out clips: ground-truth identities against track ids)",
            "",
            "| class | objects | matched frames | id switches | purity |",
            "|---|---|---|---|---|",
            *[
                f"| {c} | {v['objects']} | {v['matched_frames']} | {v['id_switches']} | "
                f"{_fmt(v['purity'])} |"
                for c, v in m["tracking"].items()
            ],
        ]
    by = f.get("fiftyone", {}).get("by", {})
    for field, groups in by.items():
        lines += [
            "",
            f"mAP50 by {field}: "
            + ", ".join(
                f"{k} {_fmt(v['mAP50'])} ({v['frames']})" for k, v in sorted(groups.items())
            ),
        ]
    lines += [
        "",
        "## Events (held-out clips)",
        "",
        "| kind | incidents | alerts | incident recall (with open alerts) | alert precision | "
        "false alerts / camera-hour | time to alert median / p95 (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, e in m["event"].items():
        lines.append(
            f"| {kind} | {e['incidents']}{_unseen(e)} | {e['alerts']} | "
            f"{_fmt(e['incident_recall'])} "
            f"({_fmt(e.get('incident_recall_with_open_alerts'))}) | "
            f"{_fmt(e['alert_precision'])} | {_fmt(e['false_alerts_per_camera_hour'])} | "
            f"{_fmt(e['time_to_alert_median_s'])} / {_fmt(e['time_to_alert_p95_s'])} |"
        )
    g = m.get("gating")
    if g:
        lines += [
            "",
            f"Change-gated inference on the same clips: {_fmt(g['skipped_share'])} of the "
            f"detector's frames skipped (an unchanged view reuses its last detections); "
            + (
                "nothing lost: the same incidents found, each first alert within one analysis "
                f"period ({g['analysis_period_s']} s); garbage false alerts "
                f"{g['garbage']['false_alerts']} gated, {g['garbage']['false_alerts_ungated']} "
                "ungated."
                if g["nothing_lost"]
                else "LOST: " + "; ".join(g["lost"])
            ),
        ]
    lines += ["", "Timeline: `reports/evaluate/alert_timeline.png`."]
    lines += _fight_hours_lines(m.get("fight_hours"), m.get("fight_rule"))
    lines += ["", "## Real footage", ""]
    lines += _real_lines(m.get("real", {}))
    lines += [f"- skipped: {s}" for s in m.get("real_skipped", [])]
    lines += ["", f"Seconds per part: {m['seconds']}"]
    return "\n".join(lines) + "\n"


def _fight_hours_lines(h: dict | None, rule: dict | None) -> list[str]:
    if not h:
        return []
    opens = f" (opens at {rule['open']:.2f}, the budget's)" if rule else ""
    return [
        "",
        f"## Fight alerts over {h['hours']:.2f} camera-hours (held-out hot spots)",
        "",
        f"{h['clips']} clips of the fight hot spots, fights spread out "
        f"({h['fights_per_camera_hour']:g} a camera-hour), through the fight analytic alone and "
        f"the incident rule{opens}:",
        "",
        "| incidents | found (with open alerts) | recall with open alerts (95%) | false alerts | "
        "per camera-hour (95%) |",
        "|---|---|---|---|---|",
        f"| {h['incidents']} | {h['detected']} ({h['detected'] + h['covered']}) | "
        f"{_fmt(h['incident_recall_with_open_alerts'])} "
        f"({fmt_interval(h['incident_recall_with_open_alerts_95'])}) | {h['false_alerts']} | "
        f"{_fmt(h['false_alerts_per_camera_hour'])} "
        f"({fmt_interval(h['false_alerts_per_camera_hour_95'])}) |",
        "",
        "Every opening threshold on the same footage: `reports/evaluate/fight_hours.tsv`.",
    ]


def _real_lines(real: dict) -> list[str]:
    lines = []
    if "garbage" in real:
        g = real["garbage"]
        lines.append(
            "- street garbage (val): mAP50 "
            + _fmt(g["mAP50"])
            + " ("
            + ", ".join(
                f"{k.split('/')[1]} {_fmt(v)}" for k, v in g.items() if k.startswith("mAP50/")
            )
            + f") on {g['images']} images"
        )
    if "fights" in real:
        r = real["fights"]
        lines.append(
            f"- fight clips: accuracy {_fmt(r['accuracy'])}, precision "
            f"{_fmt(r['precision'])}, recall {_fmt(r['recall'])}, ROC-AUC "
            f"{_fmt(r['roc_auc'])} on {r['clips']} clips (alert logic on the detector)"
        )
    if "gated_share" in real:
        gs = real["gated_share"]
        lines.append(
            f"- change-gated inference on the real clips at {gs['analysis_fps']} fps: "
            f"{_fmt(gs['no_fight_clips'])} of the frames skipped on noFight clips, "
            f"{_fmt(gs['fight_clips'])} on fight clips ({gs['frames']} frames)"
        )
    if "fights_classifier" in real:
        r = real["fights_classifier"]
        lines.append(
            f"- fight clips, clip classifier (`fights` stage): accuracy {_fmt(r['accuracy'])}, "
            f"precision {_fmt(r['precision'])}, recall {_fmt(r['recall'])}, ROC-AUC "
            f"{_fmt(r['roc_auc'])} on {r['clips']} clips ({r['source']})"
        )
    if "fights_stream" in real:
        r = real["fights_stream"]
        alerted = r.get("fight_clips_alerted_count")
        lines.append(
            f"- real footage as streams through the fight analytic: {r['false_alerts']} false "
            f"alerts in {r['no_fight_seconds']} s ({r['no_fight_seconds'] / 3600:.3f} h) of "
            f"{r.get('no_fight_clips', '?')} noFight clips played back to back: "
            f"{_fmt(r['false_alerts_per_camera_hour'])} per camera-hour, 95% interval "
            f"{fmt_interval(r.get('false_alerts_per_camera_hour_95'))}; "
            + (f"{alerted} of " if alerted is not None else f"{_fmt(r['fight_clips_alerted'])} of ")
            + f"{r['fight_clips']} fight clips raise an alert, 95% interval "
            f"{fmt_interval(r.get('fight_clips_alerted_95'))} ({r['source']})"
        )
    return lines
