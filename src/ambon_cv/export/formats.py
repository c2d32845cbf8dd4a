"""The formats `ambon export` writes, what ultralytics is asked for each, and where each lands
under `exports/` (names that ultralytics, `open_backend` and Triton all recognise)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Format:
    name: str  # as in params export.formats
    target: str  # under exports/: a file, or an OpenVINO folder
    precision: str  # fp32 | fp16 | int8: the parity bound that applies
    needs_gpu: bool
    export_args: dict[str, Any] = field(default_factory=dict)
    produced: str = ""  # what ultralytics writes beside model.pt

    @property
    def calibrated(self) -> bool:
        return bool(self.export_args.get("int8"))


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("onnx", "model.onnx", "fp32", False,
               {"format": "onnx", "dynamic": True, "simplify": True}, "model.onnx"),
        Format("openvino_fp16", "fp16_openvino_model", "fp16", False,
               {"format": "openvino", "half": True, "dynamic": True}, "model_openvino_model"),
        Format("openvino_int8", "int8_openvino_model", "int8", False,
               {"format": "openvino", "int8": True, "dynamic": True}, "model_int8_openvino_model"),
        Format("torchscript", "model.torchscript", "fp32", False,
               {"format": "torchscript"}, "model.torchscript"),
        Format("tensorrt_fp16", "fp16.engine", "fp16", True,
               {"format": "engine", "half": True, "dynamic": True}, "model.engine"),
        Format("tensorrt_int8", "int8.engine", "int8", True,
               {"format": "engine", "int8": True, "dynamic": True}, "model.engine"),
    )
}  # fmt: skip
