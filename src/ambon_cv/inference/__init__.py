"""Running a detector outside ultralytics' predictor: frames in, `Detections` out, through one
backend interface (PyTorch, TorchScript, ONNX Runtime, OpenVINO, TensorRT, Triton) that the
export stage times and the live-load benchmark drives."""
