"""One interface over every runtime a detector is deployed on.

`open_backend(path)` picks the runtime from what `path` is (the export stage's file names):

    models/best.pt                      PyTorch eager (ultralytics' DetectionModel, fused)
    exports/torchscript/model.torchscript   TorchScript
    exports/onnx/model.onnx             ONNX Runtime (CUDA when a GPU is there, else CPU)
    exports/openvino-fp16/ (…int8/)     OpenVINO on the CPU
    exports/tensorrt-fp16/model.engine  TensorRT (GPU only)
    triton://127.0.0.1:8001/ambon-detector   Triton Inference Server over gRPC

Each backend takes a float32 (N, 3, S, S) batch in [0, 1] (see `letterbox`) and returns the raw
(N, 4 + classes, anchors) head output that `decode` turns into `Detections`.
"""

from __future__ import annotations

import ast
import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ambon_cv.errors import AmbonError
from ambon_cv.inference.precision import exact


class BackendError(AmbonError, RuntimeError):
    """A model that cannot be opened on this machine; the message says which and why."""


@dataclass
class Backend:
    """A loaded model. Subclasses implement `infer`."""

    path: str
    format: str
    names: dict[int, str]
    imgsz: int
    max_batch: int = 64
    runtime: Any = field(default=None, repr=False)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        self.runtime = None


def _threads(threads: int | None) -> int:
    return threads or len(os.sched_getaffinity(0))


def _names(value: Any) -> dict[int, str]:
    if isinstance(value, str):
        value = ast.literal_eval(value)
    if isinstance(value, list | tuple):
        value = dict(enumerate(value))
    return {int(k): str(v) for k, v in dict(value).items()}


def _imgsz(value: Any) -> int:
    if isinstance(value, str):
        value = ast.literal_eval(value)
    return int(max(value) if isinstance(value, list | tuple) else value)


class TorchBackend(Backend):
    def infer(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.runtime(torch.from_numpy(batch).to(self._device))
        out = out[0] if isinstance(out, list | tuple) else out
        return out.float().cpu().numpy()

    _device: str = "cpu"


class OnnxBackend(Backend):
    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self.runtime.run(None, {self._input: batch})[0]

    _input: str = "images"


class OpenVINOBackend(Backend):
    def infer(self, batch: np.ndarray) -> np.ndarray:
        return next(iter(self.compiled_for(len(batch))(batch).values()))

    def compiled_for(self, n: int):
        """The compiled model that infers a batch of `n` (OpenVINO's CompiledModel)."""
        return self.runtime if self._per_batch is None else self._per_batch(n)

    def close(self) -> None:
        super().close()
        self._per_batch = None

    # batch size -> the model compiled for exactly that many (cached), for a tiny input (below)
    _per_batch: Any = None


class TritonBackend(Backend):
    def infer(self, batch: np.ndarray) -> np.ndarray:
        from tritonclient import grpc as triton

        data = triton.InferInput(self._input, list(batch.shape), "FP32")
        data.set_data_from_numpy(np.ascontiguousarray(batch, np.float32))
        result = self.runtime.infer(self._model, [data], client_timeout=self._timeout_s)
        return result.as_numpy(self._output)

    _model: str = ""
    _input: str = "images"
    _output: str = "output0"
    _timeout_s: float = 30.0


class AutoBackend(Backend):
    """ultralytics' AutoBackend, for runtimes we only meet on a GPU machine (TensorRT)."""

    def infer(self, batch: np.ndarray) -> np.ndarray:
        import torch

        out = self.runtime(torch.from_numpy(batch).to(self.runtime.device))
        out = out[0] if isinstance(out, list | tuple) else out
        return out.float().cpu().numpy()


def metadata_imgsz(path: str | Path) -> int | None:
    """The input side an ultralytics export folder (OpenVINO) records in its metadata.yaml,
    read without loading the model; None when it has none."""
    import yaml

    meta_file = Path(path) / "metadata.yaml"
    if not meta_file.is_file():
        return None
    meta = yaml.safe_load(meta_file.read_text()) or {}
    return _imgsz(meta["imgsz"]) if "imgsz" in meta else None


def open_backend(
    path: str | Path,
    device: str = "cpu",
    threads: int | None = None,
    names: list[str] | tuple[str, ...] | None = None,
    imgsz: int | None = None,
) -> Backend:
    """Load the model at `path` (a file, an OpenVINO folder or a triton:// URL); see the module
    docstring. `threads` caps the CPU threads the runtime uses (default: every core here).
    `names` and `imgsz` describe a Triton model whose server does not publish them."""
    text = str(path)
    if text.startswith("triton://"):
        return _triton(text, names, imgsz)
    p = Path(path)
    if not p.exists():
        raise BackendError(f"no model at {p}: run the export stage first (dvc repro export)")
    try:
        if p.suffix == ".pt":
            return _torch(p, device, threads)
        if p.suffix == ".torchscript":
            return _torchscript(p, device, threads)
        if p.suffix == ".onnx":
            return _onnx(p, device, threads)
        if p.is_dir() and any(p.glob("*.xml")):
            return _openvino(p, threads)
        if p.suffix == ".engine":
            return _auto(p, device, "tensorrt")
    except BackendError:
        raise
    except Exception as exc:  # a runtime's own error, with the model named
        raise BackendError(f"cannot load {p}: {type(exc).__name__}: {exc}") from exc
    raise BackendError(
        f"{p}: not a model this workbench runs (.pt, .torchscript, .onnx, an OpenVINO folder, "
        ".engine or triton://host:port/model)"
    )


def _torch(p: Path, device: str, threads: int | None) -> Backend:
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(_threads(threads))
    yolo = YOLO(str(p))
    model = yolo.model.fuse().eval().float().to(device)
    b = TorchBackend(
        str(p), "pytorch", _names(yolo.names), _imgsz(yolo.model.args.get("imgsz", 640))
    )
    b.runtime, b._device = model, device
    return b


def _torchscript(p: Path, device: str, threads: int | None) -> Backend:
    import torch

    torch.set_num_threads(_threads(threads))
    extra = {"config.txt": ""}
    model = torch.jit.load(str(p), map_location=device, _extra_files=extra).eval()
    meta = json.loads(extra["config.txt"] or "{}")
    b = TorchBackend(
        str(p), "torchscript", _names(meta.get("names", {})), _imgsz(meta.get("imgsz", 640))
    )
    b.runtime, b._device = model, device
    return b


def _onnx(p: Path, device: str, threads: int | None) -> Backend:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads(threads)
    options.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if device != "cpu" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    session = ort.InferenceSession(str(p), options, providers=providers)
    meta = session.get_modelmeta().custom_metadata_map
    shape = session.get_inputs()[0].shape
    b = OnnxBackend(
        str(p), "onnx", _names(meta.get("names", "{}")), _imgsz(meta.get("imgsz", "640"))
    )
    b.runtime, b._input = session, session.get_inputs()[0].name
    b.max_batch = shape[0] if isinstance(shape[0], int) else 64
    return b


STATIC_BELOW_PX = 64  # OpenVINO models with an input this small or smaller: static shapes


def _openvino(p: Path, threads: int | None) -> Backend:
    import openvino as ov
    import yaml

    core = ov.Core()
    xml = next(p.glob("*.xml"))
    model = core.read_model(xml)
    # full precision on every CPU (ambon_cv.inference.precision): what the parity check proved
    config = exact({"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": _threads(threads)})
    meta_file = p / "metadata.yaml"
    meta = yaml.safe_load(meta_file.read_text()) if meta_file.exists() else {}
    fmt = "openvino-int8" if "int8" in p.name else "openvino"
    b = OpenVINOBackend(str(p), fmt, _names(meta.get("names", {})), _imgsz(meta.get("imgsz", 640)))
    if b.imgsz <= STATIC_BELOW_PX:
        # OpenVINO 2026.4's AMX kernels (Xeon 4th gen and later) crash the process on a model
        # with a dynamic batch whose input is this small (an INT8 one at 32 or 64 px; 96 and up
        # run); with every dimension fixed it runs. Compiling per batch size is cheap there.
        @functools.cache
        def per_batch(n: int):
            fixed = model.clone()
            fixed.reshape([n, 3, b.imgsz, b.imgsz])
            return core.compile_model(fixed, "CPU", config)

        b._per_batch = per_batch
    else:
        b.runtime = core.compile_model(model, "CPU", config)
    first = model.inputs[0].get_partial_shape()[0]
    b.max_batch = first.get_length() if first.is_static else 64
    return b


def _auto(p: Path, device: str, fmt: str) -> Backend:
    import torch
    from ultralytics.nn.autobackend import AutoBackend as UltralyticsBackend

    if not torch.cuda.is_available():
        raise BackendError(f"{p}: {fmt} needs a GPU and this machine has none")
    model = UltralyticsBackend(
        str(p), device=torch.device("cuda:0" if device in ("cpu", "auto") else device)
    )
    b = AutoBackend(str(p), fmt, _names(model.names), _imgsz(getattr(model, "imgsz", 640)))
    b.runtime = model
    return b


def _triton(url: str, names_given=None, imgsz_given: int | None = None) -> Backend:
    from tritonclient import grpc as triton

    address, _, model = url.removeprefix("triton://").partition("/")
    if not model:
        raise BackendError(f"{url}: name the model, as in triton://127.0.0.1:8001/ambon-detector")
    client = triton.InferenceServerClient(address)
    try:
        if not client.is_model_ready(model):
            raise BackendError(f"Triton at {address} is up but model {model!r} is not ready")
        config = client.get_model_config(model, as_json=True)["config"]
    except triton.InferenceServerException as exc:
        raise BackendError(
            f"Triton at {address} does not answer ({exc.message()}): start it with `ambon serve`"
        ) from exc
    params = config.get("parameters", {})
    names = _names(json.loads(params.get("names", {}).get("string_value", "{}")))
    names = names or _names(list(names_given or []))
    imgsz = int(params.get("imgsz", {}).get("string_value", "0")) or imgsz_given or 0
    if not names or not imgsz:
        raise BackendError(f"{url}: the server does not say the model's classes and input size")
    b = TritonBackend(url, "triton", names, imgsz, max_batch=int(config.get("max_batch_size", 8)))
    b.runtime, b._model = client, model
    b._input = config["input"][0]["name"]
    b._output = config["output"][0]["name"]
    return b
