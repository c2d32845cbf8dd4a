"""The model card that ships inside `exports/`: what the model is, what it was trained on (the
DVC hashes of the data and weights), how well it does (frame, event and real-footage metrics
from the evaluate stage; per-format parity and speed from this stage), what it is for and
where it falls short."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import yaml

from ambon_cv.machine import cpu_line

INTENDED_USE = (
    "Flagging garbage piles, overflowing bins and fights in the Ambon city CCTV command "
    "center's camera streams, as alerts that a person on duty confirms before acting. Not for "
    "identifying people, not for enforcement without human review."
)


def data_version(root: Path) -> dict:
    """DVC hashes of the curated data and the weights, and the git commit, from dvc.lock."""
    lock_file = root / "dvc.lock"
    lock = yaml.safe_load(lock_file.read_text()) if lock_file.exists() else {}
    out: dict = {}
    for stage, path in (("curate", "data/curated"), ("train", "models/best.pt")):
        for o in (lock or {}).get("stages", {}).get(stage, {}).get("outs", []):
            if o.get("path") == path:
                out[path] = o.get("md5") or o.get("hash")
    try:
        out["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out["git_commit"] = None
    return out


def known_limits(evaluation: dict, formats: dict) -> list[str]:
    limits = [
        "Trained mostly on the rendered synthetic city plus the shared street-garbage photos and "
        "fight clips; camera angles, lighting and crowds unlike those are untested.",
        "Fights come from the streaming fight analytic (fight-clips/: motion over a sliding "
        "window, scored by the clip classifier); an alert needs k of its last n windows, so a "
        "scuffle shorter than a few seconds can pass unflagged. The detector's own `fight` "
        "class raises no alert (chance on real clips).",
    ]
    frame = evaluation.get("frame", {})
    for cls, m in frame.get("per_class", {}).items():
        if m.get("mAP50", 1) < 0.5:
            limits.append(f"Weak on `{cls}`: val mAP50 {m['mAP50']:.2f}.")
    fights = evaluation.get("real", {}).get("fights")
    if fights and fights.get("accuracy") is not None:
        limits.append(
            f"On real CCTV fight clips the detector's fight boxes reach accuracy "
            f"{fights['accuracy']:.2f} (ROC-AUC {fights.get('roc_auc') or float('nan'):.2f}): "
            "that is why no alert comes from them."
        )
    classified = evaluation.get("real", {}).get("fights_classifier")
    if classified and classified.get("accuracy") is not None:
        limits.append(
            f"The fight clip classifier reaches accuracy {classified['accuracy']:.2f} on real "
            f"clips ({classified.get('source')}): about one clip in "
            f"{max(1, round(1 / max(1e-9, 1 - classified['accuracy'])))} is misjudged; its "
            "box is only where the motion is busiest."
        )
    stream = evaluation.get("real", {}).get("fights_stream")
    if stream and stream.get("false_alerts_per_camera_hour") is not None:
        limits.append(
            f"On real non-fight footage played as a stream it raised "
            f"{stream['false_alerts']} false alerts in {stream['no_fight_seconds']:.0f} s "
            f"({stream['false_alerts_per_camera_hour']:.1f} per camera-hour)."
        )
    for name, f in formats.items():
        if f.get("status") == "failed":
            limits.append(f"{name} failed its parity bound: {f.get('reason')}.")
        if f.get("status") == "skipped":
            limits.append(f"{name} not built here: {f.get('reason')}.")
    return limits


def build_card(
    version: str,
    params: dict,
    evaluation: dict,
    report: dict,
    root: Path,
    classes: list[str],
    training: dict,
) -> dict:
    return {
        "name": params["export"]["triton"]["model_name"],
        "version": version,
        "imgsz": report["imgsz"],  # the size it was trained at, which every format takes
        "classes": classes,  # the model's own, in its output order
        "training": training,  # as the weights file records it (ultralytics' train args)
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_version": data_version(root),
        "params": params,
        "metrics": {
            "frame": {k: evaluation.get("frame", {}).get(k) for k in ("mAP50", "mAP50-95")},
            "per_class": evaluation.get("frame", {}).get("per_class", {}),
            "event": evaluation.get("event", {}),
            "real": evaluation.get("real", {}),
        },
        "quality": report.get("quality", {}),
        "formats": report["formats"],
        "speed": report["speed"],
        "machine": cpu_line(),
        "intended_use": INTENDED_USE,
        "known_limits": known_limits(evaluation, report["formats"]),
    }


def card_markdown(card: dict) -> str:
    m = card["metrics"]

    def f(v) -> str:
        return "n/a" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

    below = card.get("quality", {}).get("below")
    lines = [
        *(
            [
                f"**BELOW THE QUALITY FLOOR** (export.floor): {'; '.join(below)}. "
                "`ambon export publish` refuses this model; a version published with "
                "`--allow-weak` is not fit for the command center's wall.",
                "",
            ]
            if below
            else []
        ),
        f"# Model card: {card['name']} v{card['version']}",
        "",
        f"Created {card['created']}. Input {card['imgsz']} px, classes: "
        + ", ".join(card["classes"])
        + ".",
        "",
        "## Intended use",
        "",
        card["intended_use"],
        "",
        "## Data and training",
        "",
        *[f"- `{k}`: {v}" for k, v in card["data_version"].items()],
        f"- trained with: `{json.dumps(card.get('training', {}), default=str)}`",
        "",
        "## Metrics (evaluate stage)",
        "",
        f"Frame level (val split): mAP50 {f(m['frame'].get('mAP50'))}, "
        f"mAP50-95 {f(m['frame'].get('mAP50-95'))}.",
        "",
        "| class | precision | recall | mAP50 |",
        "|---|---|---|---|",
        *[
            f"| {c} | {f(v.get('precision'))} | {f(v.get('recall'))} | {f(v.get('mAP50'))} |"
            for c, v in m["per_class"].items()
        ],
        "",
    ]
    for kind, e in m["event"].items():
        lines.append(
            f"- {kind} alerts on held-out clips: incident recall {f(e.get('incident_recall'))}, "
            f"{f(e.get('false_alerts_per_camera_hour'))} false alerts per camera-hour"
        )
    gating = m.get("gating")
    if gating:
        lines.append(
            f"- change-gated inference (evaluate.gate): {f(gating.get('skipped_share'))} of the "
            "detector's frames skipped on the held-out clips, "
            + (
                "nothing lost"
                if gating.get("nothing_lost")
                else "LOST: " + "; ".join(gating["lost"])
            )
        )
    real = m["real"]
    if "garbage" in real:
        lines.append(f"- real street garbage: mAP50 {f(real['garbage'].get('mAP50'))}")
    if "fights" in real:
        r = real["fights"]
        lines.append(
            f"- real fight clips: accuracy {f(r.get('accuracy'))}, ROC-AUC {f(r.get('roc_auc'))}"
        )
    if "fights_classifier" in real:
        r = real["fights_classifier"]
        lines.append(
            f"- real fight clips, clip classifier (`fight-clips/`): accuracy "
            f"{f(r.get('accuracy'))}, ROC-AUC {f(r.get('roc_auc'))} ({r.get('source')})"
        )
    if card.get("quality"):
        lines.append(
            "- quality floor (export.floor): "
            + ("met" if not below else "BELOW: " + "; ".join(below))
        )
    lines += ["", "## Formats", "", f"Speed measured on {card.get('machine', 'n/a')}.", ""]
    lines += [*format_table(card["formats"], card["speed"]), ""]
    lines += ["## Known limits", "", *[f"- {x}" for x in card["known_limits"]], ""]
    return "\n".join(lines)


def format_table(formats: dict, speed: dict) -> list[str]:
    """Parity and speed per format as Markdown rows (shared with reports/export.md)."""
    batches = sorted({int(b) for cells in speed.values() for b in cells})
    head = "| format | status | mAP50 | drop | bound | " + " | ".join(
        f"b{b} ms | b{b} img/s (x PyTorch)" for b in batches
    )
    rows = [head + " |", "|" + "---|" * (5 + 2 * len(batches))]
    for name, fm in formats.items():
        cells = speed.get(name, {})
        timing = []
        for b in batches:
            c = cells.get(b) or cells.get(str(b))
            timing += (
                [
                    f"{c['latency_ms']:.1f}",
                    f"{c['images_per_s']:.0f} ({c.get('x_pytorch') or 1:.2f}x)",
                ]
                if c
                else ["-", "-"]
            )
        mp, drop = fm.get("mAP50"), fm.get("drop")
        rows.append(
            f"| {name} | {fm['status']} | {'-' if mp is None else format(mp, '.3f')} | "
            f"{'-' if drop is None else format(drop, '+.3f')} | "
            f"{_bound(fm)} | " + " | ".join(timing) + " |"
        )
    return rows


def _bound(fm: dict) -> str:
    """The bound a format was judged against: the one set, or one box's worth where the val
    split cannot resolve it (`export.stage.one_box`)."""
    bound, tolerance = fm.get("bound"), fm.get("tolerance")
    if bound is None:
        return "-"
    if tolerance is not None and tolerance > bound:
        return f"{tolerance} (one box; {bound} set)"
    return str(bound)
