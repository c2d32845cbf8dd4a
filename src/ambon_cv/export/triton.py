"""A Triton Inference Server model repository for the ONNX export:

    exports/triton/<model_name>/config.pbtxt
    exports/triton/<model_name>/1/model.onnx

The config names the ONNX model's real input and output (read from the file, not assumed),
their shapes without the batch dimension, and dynamic batching from params export.triton. The
class names and input size ride along as parameters so a client needs nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ambon_cv.config import TritonParams


def model_signature(onnx_path: Path, imgsz: int | None = None) -> dict:
    """Input/output names and shapes (batch first, -1 where dynamic) of an ONNX model. With
    `imgsz`, dynamic image sides are fixed to it and the output shapes are measured by running
    the model once on a (1, 3, imgsz, imgsz) input."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    initialisers = {i.name for i in model.graph.initializer}

    def dims(value) -> list[int]:
        shape = value.type.tensor_type.shape.dim
        return [d.dim_value if d.HasField("dim_value") else -1 for d in shape]

    inputs = [v for v in model.graph.input if v.name not in initialisers]
    meta = {p.key: p.value for p in model.metadata_props}
    signature = {
        "inputs": [{"name": v.name, "dims": dims(v)} for v in inputs],
        "outputs": [{"name": v.name, "dims": dims(v)} for v in model.graph.output],
        "metadata": meta,
    }
    if imgsz:
        import numpy as np
        import onnxruntime as ort

        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        feed = {}
        for t in signature["inputs"]:
            t["dims"] = [-1, *(imgsz if d < 1 else d for d in t["dims"][1:])]
            feed[t["name"]] = np.zeros([1, *t["dims"][1:]], np.float32)
        for t, value in zip(signature["outputs"], session.run(None, feed), strict=True):
            t["dims"] = [-1, *value.shape[1:]]
    return signature


def config_text(signature: dict, params: TritonParams, imgsz: int, names: dict) -> str:
    """config.pbtxt for Triton's ONNX Runtime backend."""

    def tensor(t: dict) -> str:
        dims = t["dims"][1:]
        if any(d < 1 for d in dims):
            raise ValueError(f"tensor {t['name']} has a dynamic non-batch dimension: {t['dims']}")
        return (
            f'  {{\n    name: "{t["name"]}"\n    data_type: TYPE_FP32\n'
            f"    dims: [ {', '.join(str(d) for d in dims)} ]\n  }}"
        )

    preferred = ", ".join(
        str(b) for b in params.preferred_batch_sizes if b <= params.max_batch_size
    )
    names_json = json.dumps({str(k): v for k, v in names.items()}).replace('"', '\\"')
    return "\n".join(
        [
            f'name: "{params.model_name}"',
            'platform: "onnxruntime_onnx"',
            f"max_batch_size: {params.max_batch_size}",
            "input [",
            ",\n".join(tensor(t) for t in signature["inputs"]),
            "]",
            "output [",
            ",\n".join(tensor(t) for t in signature["outputs"]),
            "]",
            "dynamic_batching {",
            f"  preferred_batch_size: [ {preferred} ]" if preferred else "",
            f"  max_queue_delay_microseconds: {params.max_queue_delay_us}",
            "}",
            f"instance_group [ {{ count: {params.instances} kind: KIND_AUTO }} ]",
            "version_policy: { latest: { num_versions: 1 } }",
            f'parameters {{ key: "imgsz" value: {{ string_value: "{imgsz}" }} }}',
            f'parameters {{ key: "names" value: {{ string_value: "{names_json}" }} }}',
            "",
        ]
    ).replace("\n\n", "\n")


def write_repository(
    onnx_path: Path, out: Path, params: TritonParams, imgsz: int, names: dict
) -> Path:
    """Write the repository under `out` (its parent must exist); returns the model folder."""
    signature = model_signature(onnx_path, imgsz)
    model_dir = out / params.model_name
    (model_dir / "1").mkdir(parents=True, exist_ok=True)
    shutil.copy2(onnx_path, model_dir / "1" / "model.onnx")
    (model_dir / "config.pbtxt").write_text(config_text(signature, params, imgsz, names))
    return model_dir
