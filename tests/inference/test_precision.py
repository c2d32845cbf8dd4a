"""OpenVINO computes in FP32 inside exact_openvino, whichever CPU this is (a bfloat16-capable
one would otherwise compute in bfloat16), and the original compile functions come back after."""

from __future__ import annotations

import numpy as np
import openvino as ov

from ambon_cv.inference.precision import exact_openvino


def tiny_model() -> ov.Model:
    import openvino.opset13 as ops

    x = ops.parameter([1, 4], np.float32, name="x")
    w = ops.constant(np.full((4, 4), 0.3, np.float32))
    return ov.Model([ops.relu(ops.matmul(x, w, False, False))], [x], "tiny")


def full(compiled) -> bool:
    return compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32


def test_every_compile_inside_runs_in_full_precision():
    before = (ov.Core.compile_model, ov.compile_model)
    with exact_openvino():
        assert full(ov.Core().compile_model(tiny_model(), "CPU"))
        assert full(ov.compile_model(tiny_model(), "CPU"))
        explicit = ov.Core().compile_model(tiny_model(), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
        assert full(explicit)
        out = explicit(np.ones((1, 4), np.float32))[0]
        np.testing.assert_allclose(out, np.full((1, 4), 1.2, np.float32), rtol=1e-6)
    assert (ov.Core.compile_model, ov.compile_model) == before
