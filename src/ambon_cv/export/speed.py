"""Latency and throughput of each format, measured side by side in one run.

The formats take turns (round robin, several rounds) so that a noisy neighbour on a shared
machine slows them all alike; each figure is the median call time, and every format is also
given as a ratio to PyTorch eager, which is what the targets are stated in."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
from tqdm import tqdm

from ambon_cv.inference.backends import Backend

BASELINE = "pytorch"


def time_backends(
    backends: Mapping[str, Backend],
    inputs: np.ndarray,
    batches: list[int],
    seconds: float,
    rounds: int = 3,
    progress: bool = True,
) -> dict[str, dict]:
    """{format: {batch: {"latency_ms", "images_per_s", "calls"}}} for every format and batch
    size it accepts; `inputs` is a letterboxed (N, 3, S, S) pool the batches are cut from."""
    calls: dict[tuple[str, int], list[float]] = {}
    for name, backend in backends.items():
        for b in batches:
            if b <= backend.max_batch:
                backend.infer(_batch(inputs, b, 0))  # warm-up: first calls allocate and compile
                calls[(name, b)] = []
    share = seconds / rounds
    bar = tqdm(
        total=rounds * len(calls),
        desc="timing formats",
        unit="run",
        disable=not progress,
        mininterval=5,
    )
    for r in range(rounds):
        for (name, b), times in calls.items():
            backend, start, k = backends[name], time.perf_counter(), r
            while time.perf_counter() - start < share or len(times) < 3 * (r + 1):
                x = _batch(inputs, b, k)
                t = time.perf_counter()
                backend.infer(x)
                times.append(time.perf_counter() - t)
                k += 1
            bar.update()
    bar.close()
    out: dict[str, dict] = {name: {} for name in backends}
    for (name, b), times in calls.items():
        median = float(np.median(times))
        out[name][b] = {
            "latency_ms": round(median * 1000, 2),
            "images_per_s": round(b / median, 1),
            "calls": len(times),
        }
    return out


def with_ratios(table: dict[str, dict]) -> dict[str, dict]:
    """Adds `x_pytorch` (throughput over PyTorch eager's at the same batch) to every cell."""
    base = table.get(BASELINE, {})
    for cells in table.values():
        for b, cell in cells.items():
            ref = base.get(b)
            cell["x_pytorch"] = (
                round(cell["images_per_s"] / ref["images_per_s"], 2) if ref else None
            )
    return table


def _batch(inputs: np.ndarray, size: int, k: int) -> np.ndarray:
    start = (k * size) % max(1, len(inputs) - size + 1)
    x = inputs[start : start + size]
    if len(x) < size:
        x = np.resize(inputs, (size, *inputs.shape[1:]))
    return np.ascontiguousarray(x)
