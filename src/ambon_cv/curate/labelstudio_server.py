"""The Label Studio server, from its own environment (`.venv-labelstudio`), on 127.0.0.1.

`up()` starts it with the project's data folder (`data/labelstudio/`), a preset admin user and
API token (from the environment or a git-ignored `.env`; see `.env.example`), telemetry and
version checks off and local-files serving rooted at the project's parent folder (the project
and `../shared` beside it). The first start of a fresh
data folder runs Django migrations (~35 s); the migrated folder is kept as a template in
`.cache/labelstudio-template-*`, so later fresh folders start from a copy in seconds. A busy
port is refused (Label Studio itself would silently move to the next one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ambon_cv.errors import AmbonError
from ambon_cv.services import port_in_use, read_pid, stop_group

DEFAULT_PORT = 8089
ENV_KEYS = ("AMBON_LS_USERNAME", "AMBON_LS_PASSWORD", "AMBON_LS_TOKEN", "AMBON_LS_PORT")


class LabelStudioError(AmbonError, RuntimeError):
    """The Label Studio server cannot be started or reached; the message says what to do."""


@dataclass(frozen=True)
class Server:
    root: Path
    port: int
    username: str
    password: str
    token: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data" / "labelstudio"

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "server.pid"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "server.log"


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def server_config(root: Path, port: int | None = None) -> Server:
    """The server settings: environment first, then `<root>/.env`.

    Raises:
        LabelStudioError: the user or token is not set.
    """
    file_values = read_env_file(root / ".env")
    get = lambda key: os.environ.get(key) or file_values.get(key)  # noqa: E731
    missing = [k for k in ENV_KEYS[:3] if not get(k)]
    if missing:
        raise LabelStudioError(
            f"set {', '.join(missing)} in the environment or in {root / '.env'} "
            "(copy .env.example to .env and fill it in)"
        )
    return Server(
        root=Path(root).resolve(),
        port=int(port or get("AMBON_LS_PORT") or DEFAULT_PORT),
        username=get("AMBON_LS_USERNAME"),
        password=get("AMBON_LS_PASSWORD"),
        token=get("AMBON_LS_TOKEN"),
    )


def _binary(root: Path) -> Path:
    exe = root / ".venv-labelstudio" / "bin" / "label-studio"
    if not exe.is_file():
        from ambon_cv.paths import project_root

        exe = project_root() / ".venv-labelstudio" / "bin" / "label-studio"
    if not exe.is_file():
        raise LabelStudioError("no .venv-labelstudio: run `make setup` to build the server's env")
    return exe


def _env(server: Server, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_USERNAME": server.username,
        "LABEL_STUDIO_PASSWORD": server.password,
        "LABEL_STUDIO_USER_TOKEN": server.token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        # the project and the shared datasets beside it (../shared) are both served
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(server.root.parent),
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "DJANGO_DB": "sqlite",
    }


def _pid(server: Server) -> int | None:
    return read_pid(server.pidfile)


def _healthy(server: Server, timeout: float = 1.0) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{server.url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def _template(server: Server) -> Path:
    """A migrated, user-seeded data folder to copy (first time: ~35 s of migrations)."""
    import hashlib

    # the preset user and token are fixed when the organization is created: one template each
    key = hashlib.sha256(f"{server.username}:{server.token}".encode()).hexdigest()[:12]
    from ambon_cv.paths import cache_dir

    template = cache_dir() / f"labelstudio-template-{key}"
    if (template / "label_studio.sqlite3").is_file():
        return template
    tmp = template.with_name(template.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    result = subprocess.run(
        [str(_binary(server.root)), "init", "--quiet", "--no-browser"],
        env=_env(server, tmp),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp,
    )
    if result.returncode != 0 or not (tmp / "label_studio.sqlite3").is_file():
        raise LabelStudioError(f"label-studio init failed: {result.stderr[-800:]}")
    shutil.rmtree(template, ignore_errors=True)
    tmp.rename(template)
    return template


def up(server: Server, timeout: float = 180.0) -> Server:
    """Start the server (or find it running) and wait until /health answers."""
    if _pid(server) and _healthy(server):
        return server
    if port_in_use(server.port):
        raise LabelStudioError(
            f"port {server.port} on 127.0.0.1 is in use by another program; stop it or set "
            "AMBON_LS_PORT"
        )
    if not (server.data_dir / "label_studio.sqlite3").is_file():
        shutil.copytree(_template(server), server.data_dir, dirs_exist_ok=True)
    server.data_dir.mkdir(parents=True, exist_ok=True)
    with open(server.logfile, "ab") as log:  # the child keeps its own copy of the handle
        proc = subprocess.Popen(
            [
                str(_binary(server.root)),
                "start",
                "--no-browser",
                "--internal-host",
                "127.0.0.1",
                "--port",
                str(server.port),
            ],
            env=_env(server, server.data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=server.data_dir,
            start_new_session=True,
        )
    server.pidfile.write_text(str(proc.pid))
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise LabelStudioError(
                f"Label Studio exited while starting (code {proc.returncode}); see {server.logfile}"
            )
        if _healthy(server):
            return server
        time.sleep(0.5)
    raise LabelStudioError(
        f"Label Studio did not answer on {server.url} in {timeout:.0f} s; see {server.logfile}"
    )


def down(server: Server, timeout: float = 20.0) -> bool:
    pid = _pid(server)
    if not pid:
        return False
    stop_group(pid, timeout)
    server.pidfile.unlink(missing_ok=True)
    return True


def status(server: Server) -> str:
    pid = _pid(server)
    if pid and _healthy(server):
        return f"running (pid {pid}) at {server.url}, data in {server.data_dir}"
    if port_in_use(server.port):
        return f"port {server.port} is in use by another program"
    return f"stopped (start it with: ambon labelstudio up; it will listen on {server.url})"
