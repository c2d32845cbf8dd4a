"""A slower CPU on this one: a CPU cgroup quota that really holds a process to its share, an
instruction-set cap passed to the load's processes, and clear errors where neither works."""

from __future__ import annotations

import os

import pytest

from ambon_cv.bench.emulate import CGROUP, CpuQuota, EmulationError, isa_cap, measured_share


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


def test_the_isa_cap_reaches_processes_started_inside_and_is_undone(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    with isa_cap("AVX512_CORE"):
        assert os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX512_CORE"
    assert os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    with isa_cap(None):  # the uncapped case, whatever is set around it
        assert "ONEDNN_MAX_CPU_ISA" not in os.environ
    with isa_cap(""):  # nothing asked: left as it is
        assert os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"
