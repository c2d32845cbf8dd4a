"""The end of `make run`: a one-screen summary of what the pipeline found, and
reports/index.md linking every report and plot."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ambon_cv.tables import report

TIMES = ".cache/stage-times.json"


def record_stage_time(root: Path, stage: str, seconds: float) -> None:
    """Remember how long the last run of `stage` took (shown by the summary)."""
    path = root / TIMES
    try:
        times = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        times = {}
    times[stage] = {"seconds": round(seconds, 1), "at": time.strftime("%Y-%m-%d %H:%M:%S")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(times, indent=1))


def _load(root: Path, name: str) -> dict:
    """A stage's report, or {} when that stage has not run (the summary shows what exists)."""
    try:
        return report(root, name)
    except FileNotFoundError:
        return {}


def _f(v, digits: int = 3) -> str:
    return "n/a" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def summary_lines(root: Path) -> list[str]:
    curate, train = _load(root, "curate"), _load(root, "train")
    ev, ex, bench = _load(root, "evaluate"), _load(root, "export"), _load(root, "bench")
    fights = _load(root, "fights")
    lines = ["ambon-cv: what this run found", ""]
    if curate:
        lines.append(
            f"data      {curate.get('samples', 'n/a')} curated frames; splits "
            f"{curate.get('per_split', {})}"
        )
    if train:
        m = {k.split("/")[-1]: v for k, v in train.items() if "mAP" in k}
        lines.append(
            f"train     {train.get('epochs', 'n/a')} epochs from {train.get('start', 'n/a')}; "
            + ", ".join(f"{k} {_f(v)}" for k, v in m.items())
        )
    if fights and "skipped" in fights:
        lines.append(f"fights    no fight analytic: {fights['skipped']}")
    elif fights:
        cv = fights["cross_validation"]
        lines.append(
            f"fights    real clip classifier: grouped {len(cv['fold_accuracy'])}-fold accuracy "
            f"{_f(cv['accuracy'])} (mean of {cv['repeats']} draws {_f(cv['accuracy_mean'])}), "
            f"ROC-AUC {_f(cv['roc_auc'])} on {cv['clips']} clips, {cv['recordings']} recordings"
        )
        if b := fights.get("budget"):
            h = b["out_of_fold"]
            lines.append(
                f"          alert budget {b['per_camera_hour']:g}/camera-hour: incidents open at "
                f"{b['chosen']['open']:.2f}; chosen on other recordings, {h['false_alerts']} "
                f"false alerts in {h['no_fight_seconds'] / 60:.1f} min of non-fight clips, "
                f"{h['fight_clips_alerted']} of {h['fight_clips']} fight clips alerted"
            )
    if ev:
        f = ev.get("frame", {})
        lines.append(
            f"frames    val mAP50 {_f(f.get('mAP50'))} ("
            + ", ".join(f"{c} {_f(v.get('mAP50'), 2)}" for c, v in f.get("per_class", {}).items())
            + ")"
        )
        for source in ("synthetic", "real"):
            if source in f:
                s = f[source]
                lines.append(
                    f"          {source} val mAP50 {_f(s.get('mAP50'))} ("
                    + ", ".join(
                        f"{c} {_f(v.get('mAP50'), 2)}" for c, v in s.get("per_class", {}).items()
                    )
                    + ")"
                )
        for kind, e in ev.get("event", {}).items():
            lines.append(
                f"alerts    {kind}: incident recall {_f(e.get('incident_recall'), 2)} "
                f"({_f(e.get('incident_recall_with_open_alerts'), 2)} with open alerts), "
                f"{_f(e.get('false_alerts_per_camera_hour'), 1)} false alerts/camera-hour"
            )
        if h := ev.get("fight_hours"):
            lines.append(
                f"alerts    fight over {h['hours']:.2f} camera-hours: "
                f"{h['detected'] + h['covered']} of {h['incidents']} incidents (recall "
                f"{_f(h.get('incident_recall_with_open_alerts'), 2)} with open alerts), "
                f"{h['false_alerts']} false alerts ({_f(h.get('false_alerts_per_camera_hour'), 1)}"
                "/camera-hour)"
            )
        real = ev.get("real", {})
        if "garbage" in real:
            lines.append(f"real      street garbage mAP50 {_f(real['garbage'].get('mAP50'))}")
        for name, v in ev.get("people", {}).items():
            lines.append(
                f"real      people in {name} (val, never trained on): mAP50 {_f(v['mAP50'])}, "
                f"recall {_f(v['recall'])} of {v['instances']} boxed by the teacher"
            )
        if "fights" in real:
            r = real["fights"]
            lines.append(
                f"real      fight clips through the detector's alerts: accuracy "
                f"{_f(r.get('accuracy'), 2)}, ROC-AUC {_f(r.get('roc_auc'), 2)}"
            )
        if "fights_classifier" in real:
            r = real["fights_classifier"]
            lines.append(
                f"real      fight clips through the fight analytic: accuracy "
                f"{_f(r.get('accuracy'), 2)}, ROC-AUC {_f(r.get('roc_auc'), 2)}"
            )
        if "fights_stream" in real:
            r = real["fights_stream"]
            lines.append(
                f"real      noFight clips as a stream: {r['false_alerts']} false fight alerts in "
                f"{r['no_fight_seconds']} s ({_f(r.get('false_alerts_per_camera_hour'), 1)} per "
                "camera-hour)"
            )
    if ex and "quality" in ex:
        below = ex["quality"]["below"]
        lines.append(
            "quality   "
            + (
                "meets the quality floor (export.floor): export publish may tag it"
                if not below
                else "BELOW the quality floor, export publish refuses it: " + "; ".join(below)
            )
        )
    if ex:
        lines.append(
            "export    "
            + ", ".join(f"{k} {v['status']}" for k, v in ex.get("formats", {}).items())
            + f"; OpenVINO INT8 {_f(ex.get('openvino_int8_x_pytorch'), 2)}x PyTorch"
        )
    if bench:
        v = bench["verdict"]
        lines.append(
            f"bench     {v['streams']} streams {'PASS' if v['pass'] else 'FAIL'}; holds "
            f"{bench['max_streams']['pipeline']} streams (naive {bench['max_streams']['naive']}, "
            f"{_f(bench.get('x_naive'), 1)}x; naive on the same export "
            f"{bench['max_streams'].get('naive_export', 'n/a')}, "
            f"{_f(bench.get('x_naive_export'), 1)}x); efficiency {_f(bench.get('efficiency'), 2)}"
            + (
                f"; fits {bench['what_fits']['most_streams']} cameras, {v['streams']} need "
                f"{bench['what_fits']['cores_needed']} cores"
                if bench.get("what_fits")
                else ""
            )
            + (f"; on {bench['machine']}" if bench.get("machine") else "")
        )
    skipped = [*curate.get("real_skipped", []), *ev.get("real_skipped", [])]
    if skipped:
        lines += ["", "real data skipped (the synthetic city alone was checked there):"]
        lines += [f"  - {s}" for s in skipped]
    times_file = root / TIMES
    if times_file.exists():
        times = json.loads(times_file.read_text())
        lines += [
            "",
            "last run of each stage: "
            + ", ".join(f"{k} {v['seconds']:.0f} s" for k, v in times.items()),
        ]
    lines += ["", "every report and plot: reports/index.md; notebooks: make lab"]
    return lines


def write_index(root: Path) -> Path:
    """reports/index.md: every report and plot, a line saying what each shows."""
    reports = root / "reports"
    sections = [
        ("Curation", ["curate.md"], "the dataset: sources, splits, duplicates, leaks"),
        (
            "Real people",
            ["people/"],
            "the people teacher's boxes on real frames, the truth of the real-person check",
        ),
        (
            "Training",
            ["train.json", "../dvclive/train/", "label_curve.json", "label_curve.png"],
            "the fine-tune's final metrics and curves; what labelling buys (ambon label curve)",
        ),
        (
            "Real fights",
            ["fights.md", "fights/"],
            "the clip classifier, cross-validated by source recording",
        ),
        (
            "Evaluation",
            ["evaluate.md", "evaluate/"],
            "frame, event (alerts) and real-footage metrics",
        ),
        (
            "Export",
            ["export.md", "export/", "../exports/model-card.md"],
            "formats, parity, speed; the model card",
        ),
        (
            "Live load",
            ["bench.md", "bench/"],
            "capacity sweep, latency, the verdict for 55 streams",
        ),
    ]
    lines = [
        "# ambon-cv reports",
        "",
        "Written by `make run` (`ambon summary`).",
        "",
        "```",
        *summary_lines(root),
        "```",
        "",
    ]
    for title, items, what in sections:
        lines += [f"## {title}", "", what + ".", ""]
        for item in items:
            path = (reports / item).resolve()
            if item.endswith("/"):
                pictures = sorted(p for p in path.glob("*") if p.suffix in {".png", ".jpg"})
                for picture in pictures if path.is_dir() else []:
                    rel = Path(os.path.relpath(picture, reports.resolve()))
                    lines.append(f"- [{rel}]({rel})")
            elif path.exists():
                lines.append(f"- [{item}]({item})")
        lines.append("")
    records = sorted((reports / "experiments").glob("*.md"), reverse=True)  # newest first
    if records:
        lines += [
            "## Options tried",
            "",
            "Dated records of options compared: question, method, table, verdict, commit.",
            "",
        ]
        lines += [f"- [{r.relative_to(reports)}]({r.relative_to(reports)})" for r in records]
        lines.append("")
    lines += [
        "## Notebooks",
        "",
        *[
            f"- [{p.name}](../notebooks/{p.name})"
            for p in sorted((root / "notebooks").glob("*.ipynb"))
        ],
        "",
    ]
    out = reports / "index.md"
    reports.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    return out
