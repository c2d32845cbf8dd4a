"""The `ambon` command: one subcommand per pipeline stage, each a thin wrapper that parses
arguments and calls the plain function that notebooks and tests call too.

Stages appear here as they are built; `ambon --help` lists what exists.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ambon_cv.config import ConfigError, load_cameras, load_params, parse_overrides
from ambon_cv.errors import AmbonError

Handler = Callable[[argparse.Namespace], int]
STAGES = ("footage", "real", "frames", "curate", "train", "fights", "evaluate", "export", "bench")


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-S",
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a params.yaml value for this run, e.g. -S footage.synthetic.seed=7",
    )


def _params(args: argparse.Namespace):
    return load_params(getattr(args, "params", None), parse_overrides(args.overrides))


# --- ambon cameras -------------------------------------------------------------------------------


def _cmd_cameras(args: argparse.Namespace) -> int:
    registry = load_cameras(args.registry)
    cameras = registry.cameras
    if args.owner:
        cameras = [c for c in cameras if c.owner == args.owner]
    if args.json:
        print(json.dumps([c.model_dump() for c in cameras], indent=2))
        return 0
    if args.check:
        owners = {o: sum(c.owner == o for c in registry.cameras) for o in ("pemkot", "polda")}
        fights = sum(c.analytic("fight") is not None for c in registry.cameras)
        print(
            f"camera registry OK: {len(registry.cameras)} cameras "
            f"({owners['pemkot']} Pemkot Ambon, {owners['polda']} Polda Maluku), "
            f"{fights} with fight analytics"
        )
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(cameras)} cameras")
    for column in ("id", "owner", "place", "view", "sub stream", "analytics"):
        table.add_column(column)
    for cam in cameras:
        sub = cam.streams.get("sub") or cam.streams["main"]
        table.add_row(
            cam.id,
            cam.owner_name,
            cam.place,
            cam.view,
            f"{sub.width}x{sub.height}@{sub.fps:g}",
            ", ".join(f"{a.kind} {a.rate_fps:g}fps {a.decode}" for a in cam.analytics),
        )
    Console().print(table)
    return 0


# --- ambon params --------------------------------------------------------------------------------


def _cmd_params(args: argparse.Namespace) -> int:
    params = _params(args)
    data = params.model_dump()
    if args.section:
        if args.section not in data:
            raise ConfigError(f"no section '{args.section}'; sections: {', '.join(data)}")
        data = {args.section: data[args.section]}
    import yaml

    print(yaml.safe_dump(data, sort_keys=False).rstrip())
    return 0


# --- ambon footage -------------------------------------------------------------------------------


def _cmd_footage(args: argparse.Namespace) -> int:
    from ambon_cv.footage.pull import pull_footage
    from ambon_cv.paths import project_root

    params = _params(args)
    root = project_root()
    registry = load_cameras(args.registry)
    if args.action == "synth":
        from ambon_cv.footage.synth import render_city

        cfg = params.footage.synthetic
        out = Path(args.out)
        clips = render_city(registry.select(args.camera or cfg.cameras), cfg, out)
        frames = sum(c.frames for c in clips)
        print(f"rendered {len(clips)} clips ({frames} frames) into {out}")
        return 0
    report = pull_footage(params.footage, registry, root / "data" / "footage", root)
    print(report.summary())
    return 0


# --- ambon frames --------------------------------------------------------------------------------


def _cmd_real(args: argparse.Namespace) -> int:
    from ambon_cv.paths import project_root
    from ambon_cv.real_data import FINGERPRINT, fingerprint, how_to_add

    out = fingerprint(_params(args).real, project_root())
    for name, f in out["folders"].items():
        if f["present"]:
            print(f"real: {name}: {f['files']} files, {f['bytes'] / 1e6:.1f} MB ({f['md5'][:12]})")
        else:
            print(f"real: WARNING {how_to_add(name, Path(out['paths'][name]))}")
    print(f"real: fingerprint in {FINGERPRINT}")
    return 0


def _cmd_frames(args: argparse.Namespace) -> int:
    import pandas as pd

    from ambon_cv.frames.build import build_frames
    from ambon_cv.paths import project_root

    params = _params(args)
    root = project_root()
    manifest_path = root / "data" / "footage" / "manifest.parquet"
    if not manifest_path.is_file():
        raise AmbonError(
            f"{manifest_path} is missing: run the footage stage first "
            "(ambon footage, or dvc repro footage)"
        )
    out = root / "data" / "frames"
    out.mkdir(parents=True, exist_ok=True)
    report = build_frames(params.frames, pd.read_parquet(manifest_path), out, root)
    print(report.summary())
    return 0


# --- ambon curate / db / app ---------------------------------------------------------------------


def _cmd_curate(args: argparse.Namespace) -> int:
    import pandas as pd

    from ambon_cv.curate.dataset import curate
    from ambon_cv.paths import project_root

    params = _params(args)
    root = project_root()
    frames_dir = root / "data" / "frames"
    if not (frames_dir / "frames.parquet").is_file():
        raise AmbonError(
            "data/frames/frames.parquet is missing: run the frames stage first (dvc repro frames)"
        )
    summary_file = frames_dir / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else None
    report = curate(
        params.curate,
        pd.read_parquet(frames_dir / "frames.parquet"),
        load_cameras(),
        root,
        frames_summary=summary,
        real=params.real,
    )
    print(
        f"curate: {report.samples} samples in dataset '{report.dataset}' "
        f"(+{report.added} ~{report.updated} -{report.removed}); splits {report.per_split}; "
        f"near-duplicates {report.near_duplicates}, leaks {report.leaks}; exported "
        f"{report.exported} to data/curated/yolo; report in reports/curate.md"
    )
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    from ambon_cv.curate.db import database, ensure_db, status, stop_db
    from ambon_cv.paths import project_root

    db = database(project_root())
    if args.action == "up":
        ensure_db(db)
    elif args.action == "down":
        print("stopped" if stop_db(db) else "was not running")
        return 0
    print(status(db))
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    from ambon_cv.curate.app import launch

    params = _params(args)
    return launch(params.curate.dataset, args.view, args.port, wait=not args.no_wait)


# --- ambon labelstudio / label -------------------------------------------------------------------


def _cmd_labelstudio(args: argparse.Namespace) -> int:
    from ambon_cv.curate.labelstudio_server import down, server_config, status, up
    from ambon_cv.paths import project_root

    server = server_config(project_root(), args.port)
    if args.action == "up":
        import time

        start = time.perf_counter()
        up(server)
        print(
            f"Label Studio up in {time.perf_counter() - start:.1f} s: {server.url} "
            f"(log in as {server.username})"
        )
        return 0
    if args.action == "down":
        print("stopped" if down(server) else "was not running")
        return 0
    print(status(server))
    return 0


def _cmd_label(args: argparse.Namespace) -> int:
    from ambon_cv.curate.labelstudio import pull, push, require_running, restore
    from ambon_cv.curate.labelstudio_server import server_config
    from ambon_cv.paths import project_root

    params = _params(args)
    root = project_root()
    label, classes = params.label, params.curate.classes
    if args.action == "curve":
        from ambon_cv.train.label_curve import label_curve

        print(label_curve(label.curve, load_cameras(None), root).summary())
        return 0
    if args.action != "rank":  # before the database and the model: fail in a second
        server = server_config(root)
        require_running(server)
    if args.action == "restore":
        print(restore(server, label.project, classes, root, args.rev).summary())
        return 0
    from ambon_cv.curate.db import connect
    from ambon_cv.curate.ranking import prefill, rank

    fo = connect(root)
    name = params.curate.dataset
    if not fo.dataset_exists(name):
        raise AmbonError(f"no dataset '{name}': run the curate stage first")
    ds = fo.load_dataset(name)
    weights = root / label.model
    if args.action == "pull":
        print(pull(ds, server, label.project, classes, root, label.predictions_field).summary())
        return 0
    queue = args.action == "rank" or args.view == "to_label"
    if queue:
        print(rank(ds, label, weights).summary())  # pre-fills every frame of the queue
        if args.action == "rank":
            return 0
    if not ds.has_saved_view(args.view):
        raise AmbonError(f"no saved view '{args.view}'; saved: {', '.join(ds.list_saved_views())}")
    view = ds.load_saved_view(args.view)
    if not queue:
        prefill(view.limit(args.limit) if args.limit else view, weights, label)
    report = push(
        view,
        server,
        label.project,
        classes,
        args.limit,
        label.predictions_field,
        view_name=args.view,
    )
    print(report.summary())
    return 0


# --- ambon train ---------------------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    from ambon_cv.paths import project_root
    from ambon_cv.train.trainer import train

    params = _params(args)
    result = train(params.train, project_root(), resume=args.resume)
    shown = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items() if k.startswith("metrics"))
    print(f"train: {result.epochs_done} epochs; {shown}; weights in models/best.pt")
    return 0


# --- ambon base --------------------------------------------------------------------------------


def _cmd_base(args: argparse.Namespace) -> int:
    from ambon_cv.paths import project_root
    from ambon_cv.train.base import build, release

    root = project_root()
    if args.action == "build":
        target = build(_params(args), load_cameras(), root, args.version, args.note, args.overrides)
    else:
        target = release(root, args.version, args.note)
    print(
        f"base: released {target.relative_to(root)} with its card {target.with_suffix('.md').name}"
    )
    return 0


# --- ambon fights --------------------------------------------------------------------------------


def _cmd_fights(args: argparse.Namespace) -> int:
    from ambon_cv.fights.stage import MODEL_DIR, train_fight_model
    from ambon_cv.paths import project_root

    params = _params(args)
    r = train_fight_model(params.fights, project_root(), real=params.real)
    if "skipped" in r:
        return 0  # the stage said why, and the later stages run without the fight analytic
    cv = r["cross_validation"]
    print(
        f"fights: {cv['clips']} clips from {cv['recordings']} recordings; grouped "
        f"{len(cv['fold_accuracy'])}-fold accuracy {cv['accuracy']:.3f} (mean of "
        f"{cv['repeats']} draws {cv['accuracy_mean']:.3f}), ROC-AUC {cv['roc_auc']:.3f}; "
        f"classifier in {MODEL_DIR}/, report in reports/fights.md"
    )
    return 0


# --- ambon evaluate ------------------------------------------------------------------------------


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ambon_cv.evaluate.stage import evaluate
    from ambon_cv.paths import project_root

    params = _params(args)
    if args.real_garbage or args.real_fights:
        from ambon_cv.evaluate.stage import evaluate_folders

        _, path = evaluate_folders(params, project_root(), args.real_garbage, args.real_fights)
        print(
            f"evaluate: real-footage checks in {path.with_suffix('.md')} (the pipeline's "
            "reports/evaluate.json is unchanged)"
        )
        return 0
    m = evaluate(params, load_cameras(), project_root())
    ev = m["event"]
    print(
        f"evaluate: frame mAP50 {m['frame']['mAP50']:.3f}; fight incident recall "
        f"{ev['fight']['incident_recall']:.2f}, garbage {ev['garbage']['incident_recall']:.2f}"
        f"; report in reports/evaluate.md"
    )
    gating = m.get("gating")
    if gating:
        print(
            f"evaluate: change-gated inference skipped {gating['skipped_share']:.0%} of the "
            "detector's frames; "
            + ("nothing lost" if gating["nothing_lost"] else "LOST " + "; ".join(gating["lost"]))
        )
    classified = m.get("real", {}).get("fights_classifier")
    if classified:
        print(
            f"evaluate: real fight clips through the fight analytic: accuracy "
            f"{classified['accuracy']:.3f}, ROC-AUC {classified['roc_auc']:.3f} "
            f"({classified['source']})"
        )
    streamed = m.get("real", {}).get("fights_stream")
    if streamed:
        print(
            f"evaluate: real noFight clips as a stream: {streamed['false_alerts']} false fight "
            f"alerts in {streamed['no_fight_seconds']} s"
        )
    return 0


# --- ambon export --------------------------------------------------------------------------------


def _cmd_export(args: argparse.Namespace) -> int:
    from ambon_cv.paths import project_root

    params = _params(args)
    if args.action == "publish":
        from ambon_cv.export.publish import publish

        tag = publish(
            project_root(), args.version or params.export.version, allow_weak=args.allow_weak
        )
        print(f"export: published {tag}; push it with git push origin {tag} (and dvc push)")
        return 0
    from ambon_cv.export.stage import export

    r = export(params, project_root(), allow_degraded=args.allow_degraded)
    print(
        "export: "
        + ", ".join(f"{k} {v['status']}" for k, v in r["formats"].items())
        + f"; OpenVINO INT8 {r.get('openvino_int8_x_pytorch') or 'n/a'}x PyTorch throughput;"
        " report in reports/export.md, model card in exports/model-card.md"
    )
    return 0


# --- ambon bench / serve -------------------------------------------------------------------------


def _cmd_bench(args: argparse.Namespace) -> int:
    from ambon_cv.bench.stage import bench, sweep
    from ambon_cv.paths import project_root

    params = _params(args)
    if args.action == "sweep":
        o = sweep(params, load_cameras(), project_root())
        v = o["verdict"]
        fits, ov = o["what_fits"], o.get("overload") or {}
        print(
            f"bench sweep on {o['machine']}: {v['streams']} streams "
            f"{'PASS' if v['pass'] else 'FAIL'}; most streams within the SLO: pipeline "
            f"{o['max_streams']['pipeline']}, naive on the same export "
            f"{o['max_streams']['naive_export']} ({o['x_naive_export']}x), naive PyTorch "
            f"{o['max_streams']['naive']} ({o['x_naive']}x); what fits: {fits['most_streams']} "
            f"cameras ({(fits.get('checked_by_run') or {}).get('most_streams')} checked by the "
            f"run), {v['streams']} need {fits['cores_needed']} cores; overload "
            f"{ov.get('x_capacity')}x: {ov.get('ratio_to_max')} of the most frames/s, "
            f"least-served stream {ov.get('least_served_ratio')}; efficiency "
            f"{o['efficiency']}; report in reports/bench.md"
        )
        return 130 if o["interrupted"] else 0
    s = bench(
        params,
        load_cameras(),
        project_root(),
        streams=args.streams,
        source=args.source,
        model=args.model,
        duration_s=args.duration,
    )
    verdict = "PASS" if s["slo"]["pass"] else "FAIL (" + "; ".join(s["slo"]["failed"]) + ")"
    print(
        f"bench on {s['machine']}: {s['streams']} streams {verdict}: {s['analysed_fps']} of "
        f"{s['target_fps']} frames/s, p95 {s['latency_ms']['p95']} ms, drops {s['drop_rate']}, "
        f"peak memory {s['peak_memory_gb']} GB; what fits: {s['what_fits']['most_streams']} "
        f"cameras, "
        f"{s['streams']} need {s['what_fits']['cores_needed']} cores; report in "
        "reports/bench/run.md"
    )
    return 130 if s["interrupted"] else (0 if s["slo"]["pass"] else 3)


def _cmd_serve(args: argparse.Namespace) -> int:
    from ambon_cv.bench import serve
    from ambon_cv.paths import project_root

    root = project_root()
    if args.stop:
        print("serve: stopped" if serve.stop(root) else "serve: no server was running")
        return 0
    if args.status:
        info = serve.status(root)
        print(f"serve: {info['url']} (pid {info['pid']})" if info else "serve: not running")
        return 0 if info else 1
    info = serve.start(root, _params(args).export.triton.model_name, args.port)
    print(
        f"serve: Triton serves {info['model']} at {info['url']} (gRPC); benchmark it with "
        f"ambon bench --model {info['url']}; stop with ambon serve --stop"
    )
    return 0


# --- ambon summary -------------------------------------------------------------------------------


def _cmd_summary(args: argparse.Namespace) -> int:
    from ambon_cv.paths import project_root
    from ambon_cv.summary import summary_lines, write_index

    root = project_root()
    index = write_index(root)
    print("\n".join(summary_lines(root)))
    print(f"(written to {index.relative_to(root)})")
    return 0


# --- the parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ambon",
        description=(
            "Ambon CCTV command center workbench: build, check and size the garbage and fight "
            "detectors. Each subcommand is one pipeline stage (also a stage in dvc.yaml)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "cameras",
        help="list and validate the camera registry (data/cameras.yaml)",
        description="List the command center's cameras, or validate the registry with --check.",
    )
    p.add_argument("--registry", help="registry file (default: data/cameras.yaml)")
    p.add_argument("--owner", choices=["pemkot", "polda"], help="only this owner's cameras")
    p.add_argument("--check", action="store_true", help="validate and print a one-line summary")
    p.add_argument("--json", action="store_true", help="print the cameras as JSON")
    p.set_defaults(handler=_cmd_cameras)

    p = sub.add_parser(
        "params",
        help="show the validated params.yaml (with -S overrides applied)",
        description="Validate params.yaml and print it with defaults filled in.",
    )
    p.add_argument("section", nargs="?", help="only this stage's section")
    p.add_argument("--params", help="params file (default: params.yaml)")
    _add_overrides(p)
    p.set_defaults(handler=_cmd_params)

    p = sub.add_parser(
        "footage",
        help="footage stage: pull recorded clips (or render the synthetic city) + manifest",
        description=(
            "pull: bring clips from params footage.source (synthetic | dir | s3) into "
            "data/footage/ and write data/footage/manifest.parquet. synth: render the synthetic "
            "city as a recorder export into --out (no manifest), e.g. to try the dir source."
        ),
    )
    p.add_argument("action", nargs="?", choices=["pull", "synth"], default="pull")
    p.add_argument("--out", default="data/footage/synthetic-export", help="synth: target folder")
    p.add_argument("--camera", action="append", help="synth: only this camera (repeatable)")
    p.add_argument("--registry", help="camera registry (default: data/cameras.yaml)")
    _add_overrides(p)
    p.set_defaults(handler=_cmd_footage)

    p = sub.add_parser(
        "real",
        help="real stage: find the real data folders (params real.root) and fingerprint them",
        description="Write data/real.json: for each folder of params real.folders under "
        "real.root (default ../shared/datasets), whether it is there and a hash of its files. "
        "The stages that read real data depend on it; a folder that is not there is skipped.",
    )
    _add_overrides(p)
    p.set_defaults(handler=_cmd_real)

    p = sub.add_parser(
        "frames",
        help="frames stage: sample JPEG frames from the footage, drop near-duplicates",
        description=(
            "Sample the usable clips of data/footage/manifest.parquet with params "
            "frames.strategy (fixed_rate | keyframes | scene_change), drop per-camera "
            "near-duplicates, write data/frames/images/ and data/frames/frames.parquet."
        ),
    )
    _add_overrides(p)
    p.set_defaults(handler=_cmd_frames)

    p = sub.add_parser(
        "curate",
        help="curate stage: the FiftyOne dataset, leakage-free splits, views, YOLO export",
        description=(
            "Build or update the FiftyOne dataset from data/frames and the real folders of "
            "params curate.real; assign leakage-free splits; embed with our own model and run "
            "FiftyOne Brain; save views; export data/curated/yolo; write reports/curate.md."
        ),
    )
    _add_overrides(p)
    p.set_defaults(handler=_cmd_curate)

    p = sub.add_parser(
        "db",
        help="the project's MongoDB for FiftyOne: up, down, status",
        description="Start (once, reused by every process), stop or show the project's mongod "
        "(127.0.0.1, data in data/fiftyone; port from AMBON_DB_PORT, default 27217).",
    )
    p.add_argument("action", choices=["up", "down", "status"], nargs="?", default="status")
    p.set_defaults(handler=_cmd_db)

    p = sub.add_parser(
        "app",
        help="open the FiftyOne App on 127.0.0.1 with the dataset and a saved view",
        description="Serve the FiftyOne App for the curated dataset on 127.0.0.1; open the "
        "printed address in a browser. Ctrl-C stops it.",
    )
    p.add_argument(
        "--view",
        help="a saved view: fights, garbage, night, unreviewed, reviewed, val, hard, to_label, "
        "disagree",
    )
    p.add_argument("--port", type=int, default=5151)
    p.add_argument("--no-wait", action="store_true", help="start and return (for scripts)")
    _add_overrides(p)
    p.set_defaults(handler=_cmd_app)

    p = sub.add_parser(
        "labelstudio",
        help="the Label Studio server (own venv, 127.0.0.1): up, down, status",
        description="Start, stop or show the project's Label Studio server. User, password and "
        "API token come from the environment or .env (see .env.example); data in "
        "data/labelstudio.",
    )
    p.add_argument("action", choices=["up", "down", "status"], nargs="?", default="status")
    p.add_argument("--port", type=int, help="default: AMBON_LS_PORT or 8089")
    p.set_defaults(handler=_cmd_labelstudio)

    p = sub.add_parser(
        "label",
        help="annotation loop: rank frames, push them to Label Studio, pull labels, restore",
        description="rank: order the unreviewed frames by label.rank (view to_label), the "
        "model pre-filling those without its boxes. push: make the first --limit frames of a "
        "view (default to_label, ranked first) tasks, pre-filled, never twice. pull: bring "
        "completed annotations back into FiftyOne as ground truth, tagged reviewed, compared "
        "with the model (view disagree); the export is saved to "
        "data/labels/labelstudio-export.json (DVC). restore: rebuild the Label Studio project "
        "from that export (--rev: from an older git revision) after its data was lost. "
        "curve: val mAP50 after 50, 100, 200 human labels, ranked against random, on a "
        "synthetic city the model never saw (label.curve; reports/label_curve.png).",
    )
    p.add_argument("action", choices=["rank", "push", "pull", "restore", "curve"])
    p.add_argument("--view", default="to_label", help="push: the saved view to send")
    p.add_argument("--limit", type=int, help="push: the first this many frames of the view")
    p.add_argument("--rev", help="restore: the git revision of the export (default: the file)")
    _add_overrides(p)
    p.set_defaults(handler=_cmd_label)

    p = sub.add_parser(
        "train",
        help="train stage: fine-tune the released base detector on data/curated/yolo",
        description="Train the detector with params train: by default fine-tune the released "
        "base (models/base/); or a local .pt, a named start, a model .yaml from scratch; "
        "offline. Log epochs with DVCLive in dvclive/train, publish models/best.pt, last.pt, "
        "args.yaml and reports/train.json. --resume continues an interrupted run.",
    )
    p.add_argument("--resume", action="store_true", help="continue from runs/train/ambon/last.pt")
    _add_overrides(p)
    p.set_defaults(handler=_cmd_train)

    p = sub.add_parser(
        "base",
        help="the released base detector (models/base/): build and release a new version",
        description="build: train with the train.base recipe of params.yaml on the curated "
        "train split, evaluate, and release models/base/ambon-base-v<N>.pt with its card. "
        "release: release models/best.pt as it stands (after ambon train and ambon evaluate). "
        "A released version is never overwritten.",
    )
    p.add_argument("action", choices=["build", "release"])
    p.add_argument("--version", type=int, required=True, help="the new base's version number")
    p.add_argument("--note", default="", help="a line for the card (why this base)")
    _add_overrides(p)
    p.set_defaults(handler=_cmd_base)

    p = sub.add_parser(
        "fights",
        help="fights stage: the real-fight clip classifier, cross-validated by recording",
        description=(
            "Learn real fights from a folder of fight/ and noFight/ clips (params fights): "
            "motion features per clip, a classifier, cross-validation grouped by source "
            "recording; writes classifiers/fight-clips/ and reports/fights.{json,md}."
        ),
    )
    _add_overrides(p)
    p.set_defaults(handler=_cmd_fights)

    p = sub.add_parser(
        "evaluate",
        help="evaluate stage: frame, event (alerts) and real-footage metrics of models/best.pt",
        description="Frame metrics on the val split (stored in FiftyOne as eval), event metrics "
        "on held-out synthetic clips through the alert logic, and real-footage checks; writes "
        "reports/evaluate.{json,md} and plots in reports/evaluate/.",
    )
    p.add_argument(
        "--real-garbage",
        metavar="DIR",
        help="only the real-footage checks, on this YOLO-format folder of your own; written to "
        "reports/real/, the pipeline's report is left as it is",
    )
    p.add_argument(
        "--real-fights",
        metavar="DIR",
        help="only the real-footage checks, on this folder of fight/ and noFight/ clips; "
        "written to reports/real/",
    )
    _add_overrides(p)
    p.set_defaults(handler=_cmd_evaluate)

    p = sub.add_parser(
        "export",
        help="export stage: ONNX, OpenVINO FP16/INT8, TorchScript (TensorRT on a GPU), proven "
        "equal, timed, packaged for Triton",
        description="Export models/best.pt to every format in params export.formats, check each "
        "one's val mAP50 against PyTorch (params export.parity), time them side by side, write "
        "the Triton model repository and the model card into exports/, and the report into "
        "reports/export.{json,md}. `ambon export publish` tags the committed export as "
        "ambon-detector@vX.Y.Z for `dvc artifacts get`.",
    )
    p.add_argument("action", nargs="?", choices=["run", "publish"], default="run")
    p.add_argument(
        "--allow-degraded",
        action="store_true",
        help="publish exports/ even when a format misses its parity bound (marked failed)",
    )
    p.add_argument(
        "--allow-weak",
        action="store_true",
        help="publish: tag a model below the quality floor (export.floor) anyway",
    )
    p.add_argument("--version", help="publish: the version (default: params export.version)")
    _add_overrides(p)
    p.set_defaults(handler=_cmd_export)

    p = sub.add_parser(
        "bench",
        help="bench stage: does this box hold the live load? (sweep: how many streams it holds)",
        description="Replay the command center's streams (params bench: recorded clips replayed "
        "live, our RTSP server, or the cameras' URLs) against an exported model for a fixed "
        "time after a warm-up; report analysed fps against target, latency capture->result, "
        "drops, CPU, memory, time per stage and alerts, with a verdict against params "
        "bench.slo (exit 3 on FAIL). `sweep` steps the stream count for the pipeline and the "
        "naive baseline and writes reports/bench.{json,md}. Ctrl-C writes a partial report.",
    )
    p.add_argument("action", nargs="?", choices=["run", "sweep"], default="run")
    p.add_argument("--streams", type=int, help="streams (default: params bench.streams)")
    p.add_argument(
        "--source", choices=["clips", "rtsp", "cameras"], help="default: params bench.source"
    )
    p.add_argument(
        "--rtsp", dest="source", action="store_const", const="rtsp", help="same as --source rtsp"
    )
    p.add_argument("--model", help="an export or triton://host:port/model (default: bench.model)")
    p.add_argument("--duration", type=float, help="measured seconds (default: bench.duration_s)")
    _add_overrides(p)
    p.set_defaults(handler=_cmd_bench)

    p = sub.add_parser(
        "serve",
        help="start a Triton Inference Server for exports/triton (gRPC on 127.0.0.1)",
        description="Serve the exported model with a real Triton server (dynamic batching from "
        "exports/triton/<model>/config.pbtxt) in the background, for `ambon bench --model "
        "triton://...` or other clients. --stop ends it.",
    )
    p.add_argument("--port", type=int, help="gRPC port (default 8001, or a free one)")
    p.add_argument("--stop", action="store_true")
    p.add_argument("--status", action="store_true")
    _add_overrides(p)
    p.set_defaults(handler=_cmd_serve)

    p = sub.add_parser(
        "summary",
        help="one screen on what the pipeline found; writes reports/index.md (end of make run)",
    )
    p.set_defaults(handler=_cmd_summary, overrides=[])

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    started = time.perf_counter()
    try:
        code = handler(args)
        if code == 0 and args.command in STAGES:
            from ambon_cv.paths import project_root
            from ambon_cv.summary import record_stage_time

            record_stage_time(project_root(), args.command, time.perf_counter() - started)
        return code
    except ConfigError as err:
        print(f"ambon {args.command}: configuration error: {err}", file=sys.stderr)
        return 2
    except AmbonError as err:  # every stage's actionable errors: one line, no traceback
        print(f"ambon {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ambon {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
