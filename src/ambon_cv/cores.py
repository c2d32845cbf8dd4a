"""Every core for PyTorch on the CPU.

Ultralytics sets torch to one thread fewer than the machine has whenever it picks a device
(training, validation, prediction), which on the 2-core machines this project runs on halves
every PyTorch step (a training batch measured 1.7x faster on two threads than on one). These
callbacks put the thread count back once ultralytics has chosen.
"""

from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def use_cores(threads: int = 0) -> None:
    """torch on `threads` threads (0: every core this process may use)."""
    import torch

    torch.set_num_threads(threads or cores())


def on_every_core(model):
    """An ultralytics `YOLO` whose validation and prediction run on every core."""
    for event in ("on_val_start", "on_predict_start"):
        model.add_callback(event, lambda _: use_cores())
    return model
