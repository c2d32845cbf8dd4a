"""The `ambon` command: one subcommand per pipeline stage, each a thin wrapper that parses
arguments and calls the plain function that notebooks and tests call too.

Stages appear here as they are built; `ambon --help` lists what exists.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ambon_cv.config import ConfigError, load_cameras, load_params, parse_overrides

Handler = Callable[[argparse.Namespace], int]


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
    from ambon_cv.footage.pull import FootageError, pull_footage
    from ambon_cv.footage.sources import SourceError
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
    try:
        report = pull_footage(params.footage, registry, root / "data" / "footage", root)
    except (SourceError, FootageError) as err:
        print(f"ambon footage: {err}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


# --- ambon frames --------------------------------------------------------------------------------


def _cmd_frames(args: argparse.Namespace) -> int:
    import pandas as pd

    from ambon_cv.frames.build import build_frames
    from ambon_cv.paths import project_root

    params = _params(args)
    root = project_root()
    manifest_path = root / "data" / "footage" / "manifest.parquet"
    if not manifest_path.is_file():
        print(
            f"ambon frames: {manifest_path} is missing: run the footage stage first "
            "(ambon footage, or dvc repro footage)",
            file=sys.stderr,
        )
        return 1
    out = root / "data" / "frames"
    out.mkdir(parents=True, exist_ok=True)
    report = build_frames(params.frames, pd.read_parquet(manifest_path), out, root)
    print(report.summary())
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

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as err:
        print(f"ambon {args.command}: configuration error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ambon {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
