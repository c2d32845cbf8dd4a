"""The `ambon` command, generated from the command registry (ambon_cv.registry).

It parses the arguments, loads params.yaml with the -S overrides, runs the command with only
the params it declares, prints its summary, and turns the errors a person can act on into one
line and an exit code. No stage logic lives here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ambon_cv.config import ConfigError, load_params, parse_overrides
from ambon_cv.errors import AmbonError
from ambon_cv.registry import BY_NAME, COMMANDS

# what the parser adds that is not an option of the command's function
_OWN = ("command", "overrides", "params_file", "registry")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ambon",
        description=(
            "Ambon CCTV command center workbench: build, check and size the garbage and fight "
            "detectors. Each pipeline stage is a subcommand here and a stage in dvc.yaml."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.description)
        for opt in command.options:
            p.add_argument(*opt.flags, **opt.spec)
        if command.overrides:
            p.add_argument(
                "-S",
                "--set",
                dest="overrides",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="override a params.yaml value for this run, e.g. -S footage.synthetic.seed=7",
            )
    return parser


def _run(args: argparse.Namespace) -> int:
    from ambon_cv.contract import StageIO
    from ambon_cv.paths import project_root

    command = BY_NAME[args.command]
    given = vars(args)
    options = {k: v for k, v in given.items() if k not in _OWN}
    overrides = given.get("overrides") or []
    if command.pass_overrides:
        options["overrides"] = tuple(overrides)
    params = (
        load_params(given.get("params_file"), parse_overrides(overrides))
        if command.params
        else None
    )
    root = project_root()
    registry = given.get("registry")
    io = StageIO(root, registry_file=Path(registry) if registry else None)
    started = time.perf_counter()
    result = command.run(params, io, **options)
    if result.lines:
        print(result.summary(), flush=True)
    if result.exit_code == 0 and command.stage and result.timed:
        from ambon_cv.summary import record_stage_time

        record_stage_time(root, command.name, time.perf_counter() - started)
    return result.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ConfigError as err:
        print(f"ambon {args.command}: configuration error: {err}", file=sys.stderr)
        return 2
    except AmbonError as err:  # every stage's actionable errors: one line, no traceback
        print(f"ambon {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ambon {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ambon cameras | head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python would flush into the pipe)
        return 0


if __name__ == "__main__":
    sys.exit(main())
