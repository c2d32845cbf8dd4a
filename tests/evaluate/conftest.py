"""The evaluation tests use the curation tests' project (footage, frames, real data, mongod)."""

from ..curate.conftest import project  # noqa: F401  (a session fixture, shared)
