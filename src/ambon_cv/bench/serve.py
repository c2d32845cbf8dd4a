"""`ambon serve`: start (or stop) the Triton server for the exported model (see
triton_server.py) in the background, bound to 127.0.0.1; its pid and ports live in
.cache/triton/ so `ambon serve --stop` and the benchmark find it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from ambon_cv.errors import AmbonError
from ambon_cv.services import free_port, port_in_use, read_pid, stop_group

SCRIPT = Path(__file__).with_name("triton_server.py")


class ServeError(AmbonError, RuntimeError):
    """Triton cannot be started or reached; the message says what to do."""


def _state(root: Path) -> Path:
    return root / ".cache" / "triton"


def status(root: Path) -> dict | None:
    """The running server's pid, ports and model, or None."""
    state = _state(root) / "server.json"
    if not state.exists():
        return None
    info = json.loads(state.read_text())
    pid = read_pid(_state(root) / "server.pid")
    if pid is None or not port_in_use(info["grpc_port"]):
        return None
    return {**info, "pid": pid}


def start(root: Path, model_name: str, grpc_port: int | None = None, timeout_s: float = 90) -> dict:
    """Start Triton on exports/triton (no-op when it already runs); returns its status."""
    running = status(root)
    if running:
        return running
    python = root / ".venv-triton" / "bin" / "python"
    if not python.exists():
        raise ServeError(f"{python} is missing: run make setup (it builds .venv-triton)")
    repo = root / "exports" / "triton"
    if not (repo / model_name / "config.pbtxt").exists():
        raise ServeError(f"no Triton repository at {repo / model_name}: run dvc repro export")
    state = _state(root)
    state.mkdir(parents=True, exist_ok=True)
    grpc = grpc_port or (8001 if not port_in_use(8001) else free_port())
    http, metrics = free_port(), free_port()
    log = (state / "server.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    proc = subprocess.Popen(
        [str(python), str(SCRIPT), "--repository", str(repo), "--model", model_name,
         "--grpc-port", str(grpc), "--http-port", str(http), "--metrics-port", str(metrics)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    (state / "server.pid").write_text(str(proc.pid))
    info = {
        "grpc_port": grpc,
        "http_port": http,
        "model": model_name,
        "url": f"triton://127.0.0.1:{grpc}/{model_name}",
    }
    (state / "server.json").write_text(json.dumps(info))
    deadline = time.monotonic() + timeout_s
    while not _ready(grpc, model_name):
        if proc.poll() is not None:
            tail = (state / "server.log").read_text()[-800:]
            raise ServeError(f"Triton exited while starting (log {state / 'server.log'}):\n{tail}")
        if time.monotonic() > deadline:
            stop(root)
            raise ServeError(
                f"Triton was not ready in {timeout_s:.0f} s (log {state / 'server.log'})"
            )
        time.sleep(0.5)
    return {**info, "pid": proc.pid}


def _ready(port: int, model: str) -> bool:
    if not port_in_use(port):
        return False
    from tritonclient import grpc as triton

    try:
        client = triton.InferenceServerClient(f"127.0.0.1:{port}")
        return client.is_server_ready() and client.is_model_ready(model)
    except Exception:
        return False


def stop(root: Path) -> bool:
    """Stop the server started by `start`; False when none was running."""
    pid = read_pid(_state(root) / "server.pid")
    if pid is None:
        return False
    stop_group(pid)
    for f in ("server.pid", "server.json"):
        (_state(root) / f).unlink(missing_ok=True)
    return True
