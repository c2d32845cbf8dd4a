"""A slower CPU on this one, so the slow case is reproducible on a fast developer machine.

Two limits, both real mechanisms rather than a model of them (params bench.emulate):
- `core_share`: the load's processes are held to that share of every core by a CPU cgroup
  quota (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`), as a container limit would: a 2-core
  box at 0.3 has 0.6 CPU-seconds per second. Needs a writable cgroup file system (root in a
  container, or a delegated cgroup).
- `max_isa`: oneDNN's instruction set capped for every process of the load
  (`ONEDNN_MAX_CPU_ISA`), e.g. AVX512_CORE to run INT8 without VNNI. OpenVINO's own kernels
  are not capped by it in release builds (openvinotoolkit/openvino#38257), so a cap they
  cannot follow fails to compile (AVX2 fails on this model's Softmax in 2026.4): the error
  says so.

`check()` proves both took effect with a timing: a busy loop in the cgroup gets the share it
should, and the model's inference, timed with and without the cap in fresh processes.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import time
from pathlib import Path

from ambon_cv.errors import AmbonError

CGROUP = Path("/sys/fs/cgroup")
PERIOD_US = 100_000
_names = itertools.count()


class EmulationError(AmbonError, RuntimeError):
    """The slower CPU cannot be emulated here; the message says why and what to do."""


class CpuQuota:
    """A CPU cgroup holding processes to `share` of `cores` cores. Use as a context manager;
    `add(pid)` moves a process into it; leaving moves them back and removes it."""

    def __init__(self, share: float, cores: int, root: Path = CGROUP) -> None:
        if not 0 < share <= 1:
            raise EmulationError(f"bench.emulate.core_share must be in (0, 1], not {share}")
        self.share, self.cores = share, cores
        self.quota_us = max(1000, int(share * cores * PERIOD_US))
        name = f"ambon-bench-{os.getpid()}-{next(_names)}"
        if (root / "cgroup.controllers").exists():  # v2, unified
            self.dir, self.parent, self.v2 = root / name, root, True
        elif (root / "cpu" / "cpu.cfs_quota_us").exists():  # v1, the cpu controller
            self.dir, self.parent, self.v2 = root / "cpu" / name, root / "cpu", False
        else:
            raise EmulationError(
                f"no CPU cgroup controller under {root}: run on a machine with cgroups (v1 cpu "
                "or v2), or set bench.emulate.core_share to 0"
            )
        self.pids: list[int] = []

    def __enter__(self) -> CpuQuota:
        try:
            self.dir.mkdir(exist_ok=True)
            if self.v2:
                (self.dir / "cpu.max").write_text(f"{self.quota_us} {PERIOD_US}")
            else:
                (self.dir / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (self.dir / "cpu.cfs_quota_us").write_text(str(self.quota_us))
        except OSError as exc:
            raise EmulationError(
                f"cannot create the CPU cgroup {self.dir} ({exc}): emulation needs a writable "
                "cgroup file system (root, or a delegated cgroup); set bench.emulate.core_share "
                "to 0 to run without it"
            ) from exc
        return self

    def add(self, pid: int) -> None:
        (self.dir / "cgroup.procs").write_text(str(pid))
        self.pids.append(pid)

    def __exit__(self, *exc) -> None:
        for pid in self.pids:
            with contextlib.suppress(OSError):  # a process that ended has left by itself
                (self.parent / "cgroup.procs").write_text(str(pid))
        for _ in range(20):  # a process that is ending can hold it for a moment
            try:
                self.dir.rmdir()
                return
            except OSError:
                time.sleep(0.1)


@contextlib.contextmanager
def isa_cap(max_isa: str | None):
    """`ONEDNN_MAX_CPU_ISA` for the processes started inside (they read it when they start);
    None: none set, whatever is around (to time the uncapped case); '': leave it as it is."""
    if max_isa == "":
        yield
        return
    before = os.environ.get("ONEDNN_MAX_CPU_ISA")
    if max_isa is None:
        os.environ.pop("ONEDNN_MAX_CPU_ISA", None)
    else:
        os.environ["ONEDNN_MAX_CPU_ISA"] = max_isa
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("ONEDNN_MAX_CPU_ISA", None)
        else:
            os.environ["ONEDNN_MAX_CPU_ISA"] = before


def _spin(seconds: float, out) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    wall, cpu = time.monotonic(), time.process_time()
    while time.monotonic() - wall < seconds:
        pass
    out.put((time.process_time() - cpu) / (time.monotonic() - wall))


def measured_share(quota: CpuQuota, seconds: float = 1.5) -> float:
    """The share of one core a busy loop gets inside `quota`'s cgroup (alone in it)."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_spin, args=(seconds, out))
    proc.start()
    quota.add(proc.pid)
    share = out.get(timeout=seconds + 30)
    proc.join(5)
    return round(share, 3)


def _time_inference(model: str, imgsz: int, out) -> None:
    try:
        import numpy as np

        from ambon_cv.inference.backends import open_backend
        from ambon_cv.inference.letterbox import to_input

        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        backend = open_backend(model, threads=1)
        x = to_input([np.zeros((3, imgsz, imgsz), np.uint8)] * 16)
        backend.infer(x)
        best = float("inf")
        for _ in range(3):
            t = time.process_time()
            for _ in range(5):
                backend.infer(x)
            best = min(best, (time.process_time() - t) / 80)
        out.put(("ok", round(best * 1000, 3)))
    except Exception as exc:  # reported to the parent as the reason
        out.put(("error", f"{type(exc).__name__}: {str(exc).splitlines()[-1][:200]}"))


def inference_ms(model: str, imgsz: int, max_isa: str | None = None) -> float:
    """CPU milliseconds per frame (batch 16, one thread) in a fresh process, with oneDNN
    capped at `max_isa` (None: uncapped)."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    with isa_cap(max_isa):
        proc = ctx.Process(target=_time_inference, args=(model, imgsz, out))
        proc.start()
    status, value = out.get(timeout=300)
    proc.join(5)
    if status != "ok":
        raise EmulationError(
            f"{model} does not run with ONEDNN_MAX_CPU_ISA={max_isa or 'unset'}: {value}; pick "
            "a cap this OpenVINO build can follow (AVX512_CORE: AVX-512 without VNNI), or '' "
        )
    return value


def check(core_share: float, max_isa: str, model: str, imgsz: int, cores: int) -> dict:
    """Proof that the emulation takes effect, by timing: what a busy loop gets in the cgroup
    and the inference time with and without the cap."""
    out: dict = {"core_share": core_share or None, "max_isa": max_isa or None}
    if core_share:
        with CpuQuota(core_share, 1) as quota:
            out["busy_loop_core_share"] = measured_share(quota)
        out["cores_available"] = round(core_share * cores, 3)
    if max_isa:
        native = inference_ms(model, imgsz)
        capped = inference_ms(model, imgsz, max_isa)
        out["infer_ms_per_frame"] = {"native": native, max_isa: capped}
        out["infer_slowdown"] = round(capped / native, 2) if native else None
    return out
