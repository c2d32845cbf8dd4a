"""The `ambon` commands that are not pipeline stages: the camera registry, the params, the
project's servers (MongoDB, Label Studio, Triton, the FiftyOne App), the base detector's
release and the run's summary. Each is `run(params, io, **options) -> StageResult` over the
plain functions that do the work (see ambon_cv.contract)."""

from __future__ import annotations

import json
import time
from collections import Counter

from ambon_cv.config import ConfigError
from ambon_cv.contract import StageIO, StageParams, StageResult
from ambon_cv.errors import AmbonError


def cameras(
    params: StageParams, io: StageIO, owner: str | None = None, check: bool = False, json_out=False
) -> StageResult:
    """List the registry's cameras (a table, or JSON), or validate it in one line."""
    registry = io.cameras()
    listed = [c for c in registry.cameras if not owner or c.owner == owner]
    if json_out:
        return StageResult("cameras", [json.dumps([c.model_dump() for c in listed], indent=2)])
    if check:
        owners = Counter(c.owner_name for c in registry.cameras)
        fights = sum(c.analytic("fight") is not None for c in registry.cameras)
        shown = ", ".join(f"{n} {name}" for name, n in owners.items())
        line = (
            f"camera registry OK: {len(registry.cameras)} cameras ({shown}), {fights} with "
            "fight analytics"
        )
        return StageResult("cameras", [line])
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(listed)} cameras")
    for column in ("id", "owner", "place", "view", "sub stream", "analytics"):
        table.add_column(column)
    for cam in listed:
        sub = cam.streams.get("sub") or cam.streams["main"]
        table.add_row(
            cam.id,
            cam.owner_name,
            cam.place,
            cam.view,
            f"{sub.width}x{sub.height}@{sub.fps:g}",
            ", ".join(f"{a.kind} {a.rate_fps:g}fps {a.decode}" for a in cam.analytics),
        )
    console = Console()
    with console.capture() as captured:
        console.print(table)
    return StageResult("cameras", [captured.get().rstrip()])


def show_params(params: StageParams, io: StageIO, section: str | None = None) -> StageResult:
    """params.yaml validated, with defaults and -S overrides filled in (one section or all)."""
    import yaml

    data = params.everything.model_dump()
    if section:
        if section not in data:
            raise ConfigError(f"no section '{section}'; sections: {', '.join(data)}")
        data = {section: data[section]}
    return StageResult("params", [yaml.safe_dump(data, sort_keys=False).rstrip()])


def db(params: StageParams, io: StageIO, action: str = "status") -> StageResult:
    """The project's mongod for FiftyOne: up, down or status."""
    from ambon_cv.curate.db import database, ensure_db, status, stop_db

    server = database(io.root)
    if action == "down":
        return StageResult("db", ["stopped" if stop_db(server) else "was not running"])
    if action == "up":
        ensure_db(server)
    return StageResult("db", [status(server)])


def app(params: StageParams, io: StageIO, view=None, port=5151, no_wait=False) -> StageResult:
    """The FiftyOne App on 127.0.0.1 with the curated dataset (and a saved view)."""
    from ambon_cv.curate.app import launch

    code = launch(params.curate.dataset, view, port, wait=not no_wait)
    return StageResult("app", [], exit_code=code)


def labelstudio(
    params: StageParams, io: StageIO, action: str = "status", port: int | None = None
) -> StageResult:
    """The project's Label Studio server: up, down or status."""
    from ambon_cv.curate.labelstudio_server import down, server_config, status, up

    server = server_config(io.root, port)
    if action == "up":
        start = time.perf_counter()
        up(server)
        return StageResult(
            "labelstudio",
            [
                f"Label Studio up in {time.perf_counter() - start:.1f} s: {server.url} "
                f"(log in as {server.username})"
            ],
        )
    if action == "down":
        return StageResult("labelstudio", ["stopped" if down(server) else "was not running"])
    return StageResult("labelstudio", [status(server)])


def base(
    params: StageParams,
    io: StageIO,
    action: str,
    version: int | None = None,
    note: str = "",
    overrides: tuple[str, ...] = (),
) -> StageResult:
    """Label real people with the teacher, or build (train.base's recipe) or release
    (models/best.pt) a new base detector version."""
    from ambon_cv.train.base import build, release

    if action == "people":
        from ambon_cv.people.build import label_people

        out, summary = label_people(params.everything, io.root, io.progress)
        return StageResult(
            "base",
            [
                f"base people: {summary['frames']} real frames boxed by the teacher into "
                f"{out.relative_to(io.root)}; at curate.people.train_conf "
                f"{summary['at_train_conf']}, at check_conf {summary['at_check_conf']}; "
                f"{len(summary['unreadable'])} unreadable; look at {summary['sheet']}"
            ],
        )
    if version is None:
        raise AmbonError(f"ambon base {action} needs --version N (a new version number)")
    if action == "build":
        target = build(params.everything, io.cameras(), io.root, version, note, list(overrides))
    else:
        target = release(io.root, version, note)
    return StageResult(
        "base",
        [
            f"base: released {target.relative_to(io.root)} with its card "
            f"{target.with_suffix('.md').name}"
        ],
    )


def serve(
    params: StageParams, io: StageIO, port: int | None = None, stop=False, status=False
) -> StageResult:
    """A Triton server for exports/triton in the background (or its status, or stop it)."""
    from ambon_cv.bench import serve as triton

    if stop:
        return StageResult(
            "serve", ["serve: stopped" if triton.stop(io.root) else "serve: no server was running"]
        )
    if status:
        info = triton.status(io.root)
        line = f"serve: {info['url']} (pid {info['pid']})" if info else "serve: not running"
        return StageResult("serve", [line], exit_code=0 if info else 1)
    info = triton.start(io.root, params.export.triton.model_name, port)
    return StageResult(
        "serve",
        [
            f"serve: Triton serves {info['model']} at {info['url']} (gRPC); benchmark it with "
            f"ambon bench --model {info['url']}; stop with ambon serve --stop"
        ],
    )


def summary(params: StageParams, io: StageIO) -> StageResult:
    """One screen on what the pipeline found; writes reports/index.md."""
    from ambon_cv.summary import summary_lines, write_index

    index = write_index(io.root)
    return StageResult(
        "summary", [*summary_lines(io.root), f"(written to {index.relative_to(io.root)})"]
    )
