"""A slower CPU on this one, so the slow case is reproducible on a fast developer machine.

Two limits, both real mechanisms rather than a model of them (params bench.emulate):
- `core_share`: the load's processes are held to that share of every core by a CPU cgroup
  quota (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`), as a container limit would: a 2-core
  box at 0.3 has 0.6 CPU-seconds per second. Needs a writable cgroup file system (root in a
  container, or a delegated cgroup).
- `isa`: an older instruction set. `avx2` is an AVX2 box without AVX-512, VNNI or AMX (Haswell
  to Zen 2: an older 2-core cloud box); `avx512_core` is AVX-512 without VNNI (Skylake-SP).
  The bench then runs in a process that loads `cpuid_mask.c` (built here with gcc) by
  LD_PRELOAD: the CPUID instruction faults (the kernel's CPUID faulting, `cpuid_fault` among
  /proc/cpuinfo's flags) and is answered with the newer features hidden, so every library
  picks the kernels it would pick on that CPU: OpenVINO's and oneDNN's (AVX2 INT8 without
  VNNI), OpenCV's, numpy's, ffmpeg's. It runs at this core's speed: a slower core is
  `core_share` on top. (oneDNN's own ISA cap, ONEDNN_MAX_CPU_ISA, is not enough: OpenVINO's
  own kernels ignore it, and this model's Softmax then fails to compile at AVX2.)

`check()` proves both took effect: a busy loop in the cgroup gets the share it should; the
model, compiled with and without the mask in fresh processes, is timed and its kernels counted
by instruction set (with `avx2`, none may be AVX-512 or AMX).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import multiprocessing as mp
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ambon_cv.errors import AmbonError
from ambon_cv.machine import EMULATED, ISA_ENV

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


def shim(cache: Path) -> Path:
    """`cpuid_mask.c` built into `cache` (once per version of the source)."""
    source = Path(__file__).with_name("cpuid_mask.c")
    out = cache / f"cpuid_mask-{hashlib.sha256(source.read_bytes()).hexdigest()[:12]}.so"
    if out.exists():
        return out
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise EmulationError(
            f"bench.emulate.isa builds {source.name} with a C compiler and this machine has "
            "none: install one (Debian: apt-get install gcc libc6-dev; make setup does it)"
        )
    cache.mkdir(parents=True, exist_ok=True)
    building = out.with_name(f"{out.name}.{os.getpid()}")
    done = subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", "-o", str(building), str(source), "-ldl"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise EmulationError(f"cannot build {source}: {done.stderr.strip()[-400:]}")
    building.replace(out)
    return out


def can_fault_cpuid(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this kernel and CPU can make CPUID fault (what `isa` is built on)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    return any(
        line.startswith("flags") and "cpuid_fault" in line.split() for line in text.splitlines()
    )


def masked_env(isa: str, cache: Path, cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """The environment of a process that sees only `isa`'s instruction set (and so do the
    processes it starts)."""
    if isa not in EMULATED:  # the instruction sets cpuid_mask.c knows, by what each keeps
        known = "; ".join(f"{name} (keeps {' '.join(kept)})" for name, kept in EMULATED.items())
        raise EmulationError(f"bench.emulate.isa {isa!r} is not one this emulates: {known}")
    if not can_fault_cpuid(cpuinfo):
        raise EmulationError(
            f"this machine cannot emulate {isa}: its kernel or CPU cannot make CPUID fault "
            f"('cpuid_fault' is not among the flags in {cpuinfo}; a virtual machine whose "
            "hypervisor does not pass it on). Measure on such a CPU itself, or set "
            "bench.emulate.isa to ''"
        )
    preload = " ".join(filter(None, [str(shim(cache)), os.environ.get("LD_PRELOAD", "")]))
    return {**os.environ, "LD_PRELOAD": preload, ISA_ENV: isa}


def native_env() -> dict[str, str]:
    """This environment without the mask: a process started with it sees the real CPU."""
    env = {k: v for k, v in os.environ.items() if k != ISA_ENV}
    kept = [p for p in env.pop("LD_PRELOAD", "").split() if "cpuid_mask-" not in Path(p).name]
    return {**env, "LD_PRELOAD": " ".join(kept)} if kept else env


def emulated_isa() -> str | None:
    """The instruction set this process was started under (`masked_env`), or None."""
    return os.environ.get(ISA_ENV) or None


def features_seen() -> list[str]:
    """The vector extensions this process sees (numpy's reading of CPUID)."""
    from numpy._core._multiarray_umath import __cpu_features__ as features

    wanted = ("AVX2", "FMA3", "AVX512F", "AVX512BW", "AVX512VNNI", "AVX512_SPR")
    return [name for name in wanted if features.get(name)]


@contextlib.contextmanager
def _environ(env: dict[str, str]):
    """os.environ is `env` inside (for the processes started there), as it was after."""
    before = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def _call(conn, fn: Callable, args: tuple, kwargs: dict) -> None:
    try:
        conn.send(("ok", fn(*args, **kwargs)))
    except BaseException as exc:  # the parent raises it
        conn.send(("error", exc))


def run_under(isa: str, cache: Path, fn: Callable, *args, **kwargs):
    """`fn(*args, **kwargs)` in a fresh process that sees only `isa`'s instruction set, as do
    the processes it starts; returns what it returns (raises what it raises)."""
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    with _environ(masked_env(isa, cache)):
        proc = ctx.Process(target=_call, args=(send, fn, args, kwargs))
        proc.start()
    send.close()
    try:
        status, value = receive.recv()
    except EOFError:
        proc.join()
        raise EmulationError(
            f"the process emulating {isa} ended (exit code {proc.exitcode}) before it answered"
        ) from None
    except KeyboardInterrupt:  # it got the Ctrl-C too and writes its partial report
        proc.join()
        raise
    proc.join()
    if status == "error":
        raise value
    return value


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


def kernel_isas(backend) -> dict[str, int] | None:
    """How many of an OpenVINO model's compiled layers run on kernels of each instruction set
    (amx, avx512, avx2, avx, sse42, reference); None for another runtime."""
    compiled = getattr(backend, "compiled_for", None)
    if compiled is None:
        return None
    counts: Counter = Counter()
    for op in compiled(1).get_runtime_model().get_ordered_ops():
        kind = op.get_rt_info()["primitiveType"].astype(str).lower()
        isa = next((i for i in ("amx", "avx512", "avx2", "avx", "sse42", "ref") if i in kind), None)
        if isa is not None:
            counts[isa] += 1
    return dict(sorted(counts.items()))


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
        out.put(("ok", (round(best * 1000, 3), kernel_isas(backend), features_seen())))
    except Exception as exc:  # reported to the parent as the reason
        out.put(("error", f"{type(exc).__name__}: {str(exc).splitlines()[-1][:200]}"))


def inference_ms(model: str, imgsz: int, env: dict[str, str]) -> tuple:
    """CPU milliseconds per frame (batch 16, one thread) in a fresh process started with
    `env`, the kernels its model was compiled to (`kernel_isas`) and the extensions it saw."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    with _environ(env):
        proc = ctx.Process(target=_time_inference, args=(model, imgsz, out))
        proc.start()
    status, value = out.get(timeout=300)
    proc.join(5)
    if status != "ok":
        raise EmulationError(f"{model} does not run under {env.get(ISA_ENV, 'this CPU')}: {value}")
    return value


def check(core_share: float, isa: str, model: str, imgsz: int, cores: int) -> dict:
    """Proof that the emulation takes effect: what a busy loop gets in the cgroup, and the
    model's inference time and kernels with and without the mask (this process must have been
    started under it: `run_under`)."""
    out: dict = {"core_share": core_share or None, "isa": isa or None}
    if core_share:
        with CpuQuota(core_share, 1) as quota:
            out["busy_loop_core_share"] = measured_share(quota)
        out["cores_available"] = round(core_share * cores, 3)
    if isa:
        native, kernels, seen = inference_ms(model, imgsz, native_env())
        masked, masked_kernels, masked_seen = inference_ms(model, imgsz, dict(os.environ))
        out["features_seen"] = {"native": seen, isa: masked_seen}
        out["infer_ms_per_frame"] = {"native": native, isa: masked}
        out["infer_slowdown"] = round(masked / native, 2) if native else None
        out["kernels"] = {"native": kernels, isa: masked_kernels}
        beyond = {"avx2": ("AVX512F", "AVX512VNNI"), "avx512_core": ("AVX512VNNI",)}[isa]
        leaked = [f for f in masked_seen if f in beyond] + [
            k for k in (masked_kernels or {}) if k == "amx" or (isa == "avx2" and k == "avx512")
        ]
        if leaked:
            raise EmulationError(
                f"the {isa} emulation did not take effect: the load's processes still see or "
                f"use {leaked}"
            )
    return out
