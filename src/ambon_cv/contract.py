"""The stage contract: what every `ambon` command is given, and what it gives back.

A command is `run(params, io, **options) -> StageResult`:

- `params` is a `StageParams`: the params sections (or single keys) the command declares, and
  nothing else. For a pipeline stage that is exactly its `params:` list in `dvc.yaml`, so a
  stage cannot read a value DVC does not track: reading another raises `UndeclaredParams`,
  naming the stage and the key.
- `io` is a `StageIO`: the project folder, the camera registry, whether to draw progress bars.
- the `StageResult` holds the headline `metrics` DVC compares, the `details` (the stage's
  report) and the lines a person reads (`summary()`), and the exit code.

Example:
    >>> from ambon_cv.config import Params
    >>> params = StageParams(Params(), ["frames", "real.root"], "frames")
    >>> params.frames.rate_fps
    1.0
    >>> params.real.root
    '../shared/datasets'
    >>> params.train.epochs
    Traceback (most recent call last):
    ...
    ambon_cv.contract.UndeclaredParams: stage frames reads params 'train', which it does not ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ambon_cv.config import CameraRegistry, ConfigError, load_cameras


class UndeclaredParams(ConfigError):
    """A stage read a params key that its declaration (its `dvc.yaml` entry) does not list."""


class StageParams:
    """Read-only access to the declared part of the params; see the module doc.

    A declared section (`frames`) gives its pydantic model whole; a declared key of another
    section (`evaluate.alerts`) gives a view of that section with that key alone.
    """

    def __init__(
        self,
        model: BaseModel,
        declared: Iterable[str],
        stage: str,
        prefix: str = "",
        whole: tuple[str, ...] = (),
    ):
        self._model, self._declared = model, tuple(declared)
        self._stage, self._prefix = stage, prefix
        self._all = whole or self._declared  # the stage's whole declaration, for the message

    @property
    def everything(self) -> Any:
        """All the params, for a command that declares them all (`*`), such as `ambon params`."""
        if "*" not in self._declared:
            raise UndeclaredParams(f"{self._stage} does not declare every params section")
        return self._model

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._model, name)  # AttributeError for a key that does not exist
        if name in self._declared or "*" in self._declared:
            return value
        inner = [k.split(".", 1)[1] for k in self._declared if k.startswith(name + ".")]
        if inner:
            return StageParams(value, inner, self._stage, f"{self._prefix}{name}.", self._all)
        raise UndeclaredParams(
            f"stage {self._stage} reads params '{self._prefix}{name}', which it does not "
            f"declare (it declares {', '.join(self._all) or 'none'}): add it to the stage's "
            "params in dvc.yaml and in ambon_cv.registry"
        )

    def __repr__(self) -> str:
        return f"StageParams({self._stage}: {', '.join(self._declared)})"


@dataclass(frozen=True)
class StageIO:
    """Where a command works: the project folder and its camera registry."""

    root: Path
    registry: CameraRegistry | None = None
    registry_file: Path | None = None
    progress: bool = True

    def cameras(self) -> CameraRegistry:
        """The camera registry: the one given, else `registry_file`, else the project's."""
        if self.registry is not None:
            return self.registry
        return load_cameras(self.registry_file or self.root / "data" / "cameras.yaml")


@dataclass
class StageResult:
    """What a command gives back: the lines a person reads, and for a pipeline stage its
    report (`details`) and the headline of it that DVC shows (`metrics`)."""

    stage: str
    lines: list[str]
    details: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    exit_code: int = 0
    timed: bool = True  # recorded as the stage's last run time (not a one-off, e.g. bench run)

    def summary(self) -> str:
        return "\n".join(self.lines)


def stage_result(stage: str, details: dict, *lines: str, exit_code: int = 0) -> StageResult:
    """A pipeline stage's result: `details` with the headline DVC shows of them."""
    from ambon_cv.metrics import headline

    return StageResult(stage, list(lines), details, headline(stage, details), exit_code)
