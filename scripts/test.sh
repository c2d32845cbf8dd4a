#!/usr/bin/env bash
# Run the test suite with outbound network blocked except loopback: pytest runs in a fresh
# network namespace that holds only `lo` (root on Linux), on top of the in-process guard in
# tests/conftest.py. Servers the tests start (S3, MongoDB, Label Studio, RTSP) bind 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
cmd=(.venv/bin/pytest "$@")
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null \
   && unshare --net true 2>/dev/null; then
  echo "[test] running in a network namespace with loopback only"
  exec unshare --net bash -c 'ip link set lo up && exec "$@"' _ "${cmd[@]}"
fi
echo "[test] no network namespace here (needs root and unshare); the in-process guard applies" >&2
exec "${cmd[@]}"
