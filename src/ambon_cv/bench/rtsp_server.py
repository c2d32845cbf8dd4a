"""A GStreamer RTSP server on loopback that serves recorded clips as live camera streams.

Runs under Debian's /usr/bin/python3 (it needs the system's `gi` bindings, which a venv does
not have), so it imports nothing from ambon_cv; `ambon_cv.bench.rtsp` starts and stops it.

    /usr/bin/python3 rtsp_server.py --port 8554 --mount s0=/path/a.mp4 --mount s1=/path/b.mp4

Each mount is shared by its clients and paced by the pipeline clock like a camera. Clips are
H.264 in MP4; the launcher hands in clips already looped long enough for the run.
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", action="append", default=[], help="NAME=CLIP.mp4")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for item in args.mount:
        name, _, path = item.partition("=")
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(
            f'( filesrc location="{path}" ! qtdemux ! h264parse ! '
            "rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        factory.set_shared(True)
        mounts.add_factory(f"/{name}", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"serving {len(args.mount)} mounts on rtsp://127.0.0.1:{args.port}/", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
