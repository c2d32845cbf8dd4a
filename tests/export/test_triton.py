"""The Triton model repository parses as Triton's own ModelConfig and its shapes are the ones
the ONNX model really takes and gives, at every batch size up to max_batch_size."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_the_repository_parses_and_its_shapes_run(project, trained):
    import onnxruntime as ort
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    from ambon_cv.export.stage import export

    root = project[0]
    if not (root / "exports" / "triton").is_dir():
        export(trained, root, progress=False)
    model_dir = root / "exports" / "triton" / "ambon-detector"
    config = text_format.Parse(
        (model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
    )
    assert config.name == "ambon-detector" and config.platform == "onnxruntime_onnx"
    assert config.max_batch_size == 16
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 16]
    assert config.dynamic_batching.max_queue_delay_microseconds == 2000
    assert config.parameters["imgsz"].string_value == "64"
    (inp,) = config.input
    (out,) = config.output
    assert inp.data_type == model_config_pb2.TYPE_FP32 and list(inp.dims) == [3, 64, 64]

    session = ort.InferenceSession(str(model_dir / "1" / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == [inp.name]
    assert [o.name for o in session.get_outputs()] == [out.name]
    for batch in (1, config.max_batch_size):
        x = np.random.default_rng(0).random((batch, *inp.dims), np.float32)
        (y,) = session.run([out.name], {inp.name: x})
        assert y.shape == (batch, *out.dims)
