"""Starting and stopping the harness's RTSP server (see rtsp_server.py) for a set of clips.

Clips are first looped (stream copy, no re-encoding) to outlast the run, because a camera
never ends; each stream gets its own mount, as each camera has its own URL."""

from __future__ import annotations

import hashlib
import math
import subprocess
import time
from pathlib import Path

from ambon_cv.errors import AmbonError
from ambon_cv.services import free_port, port_in_use

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("rtsp_server.py")


class RtspError(AmbonError, RuntimeError):
    """The RTSP server cannot start; the message says what to install or fix."""


def looped_clip(clip: Path, seconds: float, cache: Path) -> Path:
    """`clip` repeated (stream copy) to last at least `seconds`; cached by content and length."""
    from ambon_cv.footage.probe import probe_clip

    info = probe_clip(clip)
    loops = max(1, math.ceil(seconds / max(info.duration_s, 0.1)))
    key = hashlib.sha1(f"{clip.resolve()}:{clip.stat().st_mtime_ns}:{loops}".encode()).hexdigest()[
        :12
    ]
    out = cache / f"{clip.stem}-x{loops}-{key}.mp4"
    if not out.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".part.mp4")
        done = subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-stream_loop",
                str(loops - 1),
                "-i",
                str(clip),
                "-c",
                "copy",
                "-an",
                str(tmp),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RtspError(f"cannot loop clip {clip} for RTSP: {done.stderr.strip()[:300]}")
        tmp.rename(out)
    return out


class RtspServer:
    """`with RtspServer({"s0": clip, ...}, seconds, cache) as server:` serves each clip at
    `server.url(name)` until the block ends; `stop()`/`start()` simulate an outage."""

    def __init__(
        self, clips: dict[str, Path], seconds: float, cache: Path, port: int | None = None
    ):
        self.clips = {name: looped_clip(Path(c), seconds, cache) for name, c in clips.items()}
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, name: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{name}"

    def start(self, timeout_s: float = 20) -> RtspServer:
        if not Path(SYSTEM_PYTHON).exists():
            raise RtspError(f"{SYSTEM_PYTHON} not found; the RTSP server needs Debian's python3")
        args = [SYSTEM_PYTHON, str(SCRIPT), "--port", str(self.port)]
        for name, clip in self.clips.items():
            args += ["--mount", f"{name}={clip}"]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + timeout_s
        while not port_in_use(self.port):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                hint = (
                    " Install: apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 "
                    "gstreamer1.0-rtsp gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
                    "gstreamer1.0-plugins-bad (make setup does)"
                    if "GstRtspServer" in err or "gi" in err
                    else ""
                )
                raise RtspError(f"the RTSP server exited: {err.strip()[-400:]}.{hint}")
            if time.monotonic() > deadline:
                self.stop()
                raise RtspError(
                    f"the RTSP server did not listen on port {self.port} in {timeout_s} s"
                )
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
