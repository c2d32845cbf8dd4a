"""What machine a speed figure was measured on: printed beside every figure, since INT8 and
FP32 speeds differ several-fold between CPUs with and without AVX-512/VNNI."""

from __future__ import annotations

import os
import platform
from pathlib import Path

# the vector and matrix extensions that decide CPU inference speed
EXTENSIONS = (
    "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16",
    "amx_tile", "amx_int8", "amx_bf16",
)  # fmt: skip
# an instruction set emulated for the bench (ambon_cv.bench.emulate): the environment variable
# that names it to every process under it, and what it leaves of the extensions above
ISA_ENV = "AMBON_CPU_ISA"
EMULATED = {"avx2": ("avx2", "fma"), "avx512_core": ("avx2", "fma", "avx512f", "avx512bw")}


def cpu() -> dict:
    """The CPU model, the cores this process may use and its speed-relevant extensions.

    Example:
        >>> sorted(cpu())
        ['cores', 'extensions', 'model']
    """
    model, flags = platform.processor() or platform.machine(), set()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags = set(value.split())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    out = {"model": model, "cores": cores, "extensions": [e for e in EXTENSIONS if e in flags]}
    if isa := os.environ.get(ISA_ENV):  # this process runs under emulate.masked_env
        out["emulated"] = isa
        out["extensions"] = [e for e in out["extensions"] if e in EMULATED.get(isa, EXTENSIONS)]
    return out


def cpu_line() -> str:
    """One line for reports: `AMD EPYC, 2 cores, avx2 fma avx512f ... avx512_vnni`."""
    c = cpu()
    line = f"{c['model']}, {c['cores']} cores, {' '.join(c['extensions']) or 'no AVX2'}"
    if "emulated" in c:
        line += f" (an emulated {c['emulated']} CPU: the newer extensions hidden from the bench)"
    return line
