"""Work on many clips at once: one job per clip, in worker processes, with a progress bar.

Workers are spawned, not forked: a forked child inherits OpenCV's and PyAV's thread pools
mid-state. Results come back in the jobs' order.

Example:
    >>> per_clip(abs, [-1, 2, -3], workers=1, progress=False, desc="clips")
    [1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Callable


def per_clip(work: Callable, jobs: list, workers: int, progress: bool, desc: str) -> list:
    """`work` on every job, in order, in `workers` processes (`work` must be importable by
    name: a module-level function)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    bar = dict(total=len(jobs), desc=desc, unit="clip", disable=not progress)
    if workers > 1 and len(jobs) > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            return list(tqdm(pool.map(work, jobs, chunksize=1), **bar))
    return [work(j) for j in tqdm(jobs, **bar)]
