"""A real Triton Inference Server serving the exported detector, with dynamic batching.

Runs in .venv-triton (Debian's /usr/bin/python3 + nvidia-pytriton, whose wheel carries the
tritonserver binary; see ../shared/SETUP-NOTES.md) and imports nothing from ambon_cv;
`ambon serve` starts it. That wheel has only Triton's Python backend, so the bound function
runs the ONNX model of the Triton repository (exports/triton/<name>/1/model.onnx) with ONNX
Runtime; its inputs, outputs and batching come from that repository's config.pbtxt, so a
cluster's full Triton serving the same repository behaves the same to clients.

    .venv-triton/bin/python triton_server.py --repository exports/triton --model ambon-detector \
        --grpc-port 8001 --http-port 8000 --metrics-port 8002
"""

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np


def read_config(text: str) -> dict:
    """The few fields of config.pbtxt this server needs."""

    def tensors(section: str) -> list[dict]:
        block = re.search(section + r"\s*\[(.*?)\n\]", text, re.S)
        out = []
        for m in re.finditer(r'name:\s*"([^"]+)".*?dims:\s*\[([^\]]*)\]', block.group(1), re.S):
            out.append({"name": m.group(1), "dims": [int(d) for d in m.group(2).split(",")]})
        return out

    preferred = re.search(r"preferred_batch_size:\s*\[([^\]]*)\]", text)
    delay = re.search(r"max_queue_delay_microseconds:\s*(\d+)", text)
    return {
        "max_batch_size": int(re.search(r"max_batch_size:\s*(\d+)", text).group(1)),
        "inputs": tensors("input"),
        "outputs": tensors("output"),
        "preferred": [int(x) for x in preferred.group(1).split(",")] if preferred else [],
        "delay_us": int(delay.group(1)) if delay else 0,
        "parameters": dict(
            re.findall(
                r'key:\s*"([^"]+)"\s*value:\s*\{\s*string_value:\s*"((?:[^"\\]|\\.)*)"', text
            )
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repository", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()

    import onnxruntime as ort
    from pytriton.decorators import batch
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig

    folder = Path(args.repository) / args.model
    config = read_config((folder / "config.pbtxt").read_text())
    options = ort.SessionOptions()
    if args.threads:
        options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(
        str(folder / "1" / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )
    (inp,), (out,) = config["inputs"], config["outputs"]

    @batch
    def infer(**inputs):
        return {out["name"]: session.run([out["name"]], {inp["name"]: inputs[inp["name"]]})[0]}

    triton_config = TritonConfig(
        grpc_address="127.0.0.1",
        grpc_port=args.grpc_port,
        http_address="127.0.0.1",
        http_port=args.http_port,
        metrics_port=args.metrics_port,
        allow_metrics=True,
        exit_on_error=True,
    )
    params = {k: v.encode().decode("unicode_escape") for k, v in config["parameters"].items()}
    with Triton(config=triton_config) as triton:
        triton.bind(
            model_name=args.model,
            infer_func=infer,
            inputs=[Tensor(name=inp["name"], dtype=np.float32, shape=tuple(inp["dims"]))],
            outputs=[Tensor(name=out["name"], dtype=np.float32, shape=tuple(out["dims"]))],
            config=ModelConfig(
                max_batch_size=config["max_batch_size"],
                batcher=DynamicBatcher(
                    max_queue_delay_microseconds=config["delay_us"],
                    preferred_batch_size=config["preferred"] or None,
                ),
            ),
            strict=True,
        )
        print(
            f"serving {args.model} on grpc 127.0.0.1:{args.grpc_port} ({json.dumps(params)[:120]})",
            flush=True,
        )
        triton.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
