"""OpenVINO computes in full precision here, on every CPU.

On a CPU with bfloat16 (AVX512_BF16 or AMX) OpenVINO's CPU plugin runs FP32 and FP16 models, and
the float parts of INT8 ones, in bfloat16 unless told otherwise; a CPU without it (an older
AVX2 box) runs them in FP32. Measured on this project's detector: bfloat16 moved class scores by
up to 0.16 and boxes by up to 38 px against PyTorch and cost 0.013 val mAP50, while FP32 matched
PyTorch within 2e-6. So every OpenVINO model the workbench compiles (the parity check, evaluation
of an export, INT8 calibration, the benchmark's backend) gets `INFERENCE_PRECISION_HINT: f32`,
and a figure means the same on both kinds of machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

EXACT = {"INFERENCE_PRECISION_HINT": "f32"}


def exact(config: dict | None) -> dict:
    """`config` with full precision added (an explicit hint in it wins).

    Example:
        >>> exact({"PERFORMANCE_HINT": "LATENCY"})
        {'INFERENCE_PRECISION_HINT': 'f32', 'PERFORMANCE_HINT': 'LATENCY'}
    """
    return {**EXACT, **(config or {})}


@contextmanager
def exact_openvino() -> Iterator[None]:
    """Inside, every `openvino` compile_model (ours, ultralytics', NNCF's) runs in FP32."""
    import openvino as ov

    core_compile, module_compile = ov.Core.compile_model, ov.compile_model

    def compile_on_core(self, model, device_name=None, config=None, *args, **kw):
        return core_compile(self, model, device_name, exact(config), *args, **kw)

    def compile_anywhere(model, device_name="AUTO", config=None, *args, **kw):
        return module_compile(model, device_name, exact(config), *args, **kw)

    ov.Core.compile_model, ov.compile_model = compile_on_core, compile_anywhere
    try:
        yield
    finally:
        ov.Core.compile_model, ov.compile_model = core_compile, module_compile
