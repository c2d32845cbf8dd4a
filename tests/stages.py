"""Running pipeline stages in tests the way `ambon <stage>` runs them."""

from __future__ import annotations

from pathlib import Path

# every stage the tests ran, by name, with its last result: each ran through the registry with
# only the params its dvc.yaml entry declares (tests/test_registry.py checks that all of them did)
STAGE_RUNS: dict = {}


def run_stage(name: str, params, root: Path, registry=None, **options):
    """Run pipeline stage `name` as `ambon <name>` does: through the registry, given only the
    params it declares (reading any other raises), without progress bars."""
    from ambon_cv.contract import StageIO
    from ambon_cv.registry import run_command

    result = run_command(name, params, StageIO(root, registry, progress=False), **options)
    STAGE_RUNS[name] = result
    return result
