"""What the harness counts as the load's memory: its own processes, shared pages once."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from ambon_cv.bench.harness import _load_usage

MB = 2**20

# touches `size` MB of private memory, or maps and touches a shared file of that size
HOLD = """
import mmap, sys, time
size, shared = int(sys.argv[1]) << 20, sys.argv[2:]
if shared:
    f = open(shared[0], "r+b")
    buf = mmap.mmap(f.fileno(), size)
else:
    buf = bytearray(size)
for k in range(0, size, 4096):
    buf[k] = 1
print("ready", flush=True)
time.sleep(60)
"""


def _hold(mb: int, *shared: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(mb), *shared], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_the_load_is_its_own_processes_with_shared_pages_counted_once(tmp_path):
    shared = tmp_path / "slots"
    shared.write_bytes(b"\0" * (200 * MB))
    bystander = _hold(400)  # another child of this process: not the load
    load = [_hold(200, str(shared)), _hold(200, str(shared)), _hold(50)]
    try:
        time.sleep(0.2)
        me, handles = psutil.Process(), [psutil.Process(p.pid) for p in load]
        _, load_bytes, own_bytes = _load_usage(me, handles)
        # 200 MB mapped by two, 50 MB private, three interpreters: not 450 MB nor the bystander
        assert 250 * MB < load_bytes < 340 * MB, load_bytes / MB
        assert 0 < own_bytes < load_bytes + me.memory_info().rss
        # a process of the load that has ended is skipped, not an error
        load[2].kill()
        load[2].wait()
        _, after, _ = _load_usage(me, handles)
        assert after < load_bytes - 40 * MB
    finally:
        for p in [bystander, *load]:
            p.kill()
            p.wait()
