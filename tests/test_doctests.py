"""Every example in the package's docstrings runs and gives what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ambon_cv

# server entry points run inside their own environments (GStreamer's gi, PyTriton)
ELSEWHERE = {"ambon_cv.bench.rtsp_server", "ambon_cv.bench.triton_server"}
MODULES = sorted(
    m.name for m in pkgutil.walk_packages(ambon_cv.__path__, "ambon_cv.") if m.name not in ELSEWHERE
)


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_in_the_docstrings_hold(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_the_modules_with_examples_are_found():
    with_examples = [
        n
        for n in MODULES
        if any(t.examples for t in doctest.DocTestFinder().find(importlib.import_module(n)))
    ]
    assert {"ambon_cv.inference.gate", "ambon_cv.bench.scheduler"} <= set(with_examples)
