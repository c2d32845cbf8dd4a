"""A slower CPU on this one: a CPU cgroup quota that really holds a process to its share, an
older instruction set that a process and the processes it starts really see, and clear errors
where neither works."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from ambon_cv.bench import emulate
from ambon_cv.bench.emulate import CGROUP, CpuQuota, EmulationError, measured_share


def _cgroups_writable() -> bool:
    try:
        with CpuQuota(0.5, 1):
            return True
    except EmulationError:
        return False


@pytest.mark.skipif(not _cgroups_writable(), reason=f"no writable CPU cgroup under {CGROUP}")
def test_a_quota_holds_a_busy_process_to_its_share():
    with CpuQuota(0.25, 1) as quota:
        share = measured_share(quota, seconds=1.5)
        folder = quota.dir
    assert 0.18 <= share <= 0.32, share  # what the timing shows, not what was asked
    assert not folder.exists()  # removed on the way out


def test_without_cgroups_the_error_says_how_to_run_without_emulation(tmp_path):
    with pytest.raises(EmulationError, match="core_share to 0"):
        CpuQuota(0.3, 2, root=tmp_path)


def test_a_share_outside_zero_to_one_is_refused():
    with pytest.raises(EmulationError, match="core_share"):
        CpuQuota(1.5, 2)


needs_cpuid_faulting = pytest.mark.skipif(
    not emulate.can_fault_cpuid(), reason="this kernel or CPU cannot make CPUID fault"
)


def _seen_here_and_below() -> tuple[list[str], dict, list[str]]:
    """What this process sees, what cpu() reports, and what a process it starts sees."""
    from ambon_cv.machine import cpu

    ask = "from ambon_cv.bench.emulate import features_seen; print(*features_seen())"
    child = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, check=True)
    return emulate.features_seen(), cpu(), child.stdout.split()


@needs_cpuid_faulting
def test_avx2_hides_avx512_and_vnni_from_a_process_and_the_processes_it_starts(tmp_path):
    native = emulate.features_seen()
    seen, machine, below = emulate.run_under("avx2", tmp_path, _seen_here_and_below)
    assert "AVX2" in seen and "FMA3" in seen  # what the older CPU has stays
    for hidden in ("AVX512F", "AVX512BW", "AVX512VNNI", "AVX512_SPR"):
        assert hidden not in seen and hidden not in below
    assert below == seen
    assert machine["emulated"] == "avx2" and set(machine["extensions"]) <= {"avx2", "fma"}
    if "AVX512F" in native:  # on this CPU the mask took something away
        assert len(seen) < len(native)


@needs_cpuid_faulting
def test_avx512_core_keeps_avx512_but_hides_vnni(tmp_path):
    native = emulate.features_seen()
    seen, _, _ = emulate.run_under("avx512_core", tmp_path, _seen_here_and_below)
    assert "AVX512VNNI" not in seen and "AVX512_SPR" not in seen
    assert ("AVX512F" in seen) == ("AVX512F" in native)


@needs_cpuid_faulting
def test_a_real_crash_under_the_mask_still_ends_the_process_and_is_reported(tmp_path):
    """The mask's SIGSEGV handler answers CPUID only; a real fault goes on to Python's
    faulthandler and ends the process as it would without the mask."""
    crash = "import ctypes, faulthandler; faulthandler.enable(); ctypes.string_at(0)"
    done = subprocess.run(
        [sys.executable, "-c", crash], env=emulate.masked_env("avx2", tmp_path),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == -signal.SIGSEGV
    assert "Segmentation fault" in done.stderr and "string_at" in done.stderr


def _refuse() -> None:
    raise EmulationError("camera pemkot-03: no clip")


@needs_cpuid_faulting
def test_an_error_in_the_emulated_process_is_raised_in_the_caller(tmp_path):
    with pytest.raises(EmulationError, match="pemkot-03"):
        emulate.run_under("avx2", tmp_path, _refuse)


def test_without_cpuid_faulting_the_error_names_it_and_the_way_out(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse avx avx2 avx512f\n")
    with pytest.raises(EmulationError, match=r"cpuid_fault.*bench.emulate.isa to ''"):
        emulate.masked_env("avx2", tmp_path, cpuinfo)
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 cpuid_fault\n")
    assert emulate.can_fault_cpuid(cpuinfo)


def test_an_unknown_instruction_set_is_refused(tmp_path):
    with pytest.raises(EmulationError, match="avx2"):
        emulate.masked_env("sse2", tmp_path)


def test_without_a_compiler_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(emulate.shutil, "which", lambda name: None)
    with pytest.raises(EmulationError, match="apt-get install gcc"):
        emulate.shim(tmp_path)


def test_the_shim_is_built_once_and_a_process_started_natively_leaves_it_out(tmp_path, monkeypatch):
    built = emulate.shim(tmp_path)
    assert emulate.shim(tmp_path) == built and list(tmp_path.iterdir()) == [built]
    monkeypatch.setenv("LD_PRELOAD", f"{built} /usr/lib/other.so")
    monkeypatch.setenv(emulate.ISA_ENV, "avx2")
    env = emulate.native_env()
    assert env["LD_PRELOAD"] == "/usr/lib/other.so" and emulate.ISA_ENV not in env
