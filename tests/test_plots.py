"""Plots people look at instead of reading tables (ambon_cv.plots), on given data."""

from __future__ import annotations

import numpy as np

from ambon_cv import plots
from ambon_cv.detections import CLASSES, Detections


def test_boxes_are_drawn_where_the_detections_are():
    image = np.zeros((120, 160, 3), np.uint8)
    d = Detections(xyxy=[[20, 30, 80, 90]], class_id=[CLASSES.index("garbage")], confidence=[0.8])
    drawn = plots.draw_detections(image, d)
    assert drawn.shape == image.shape and not image.any()  # the input is left as it was
    assert drawn[30:91, 20].any() and not drawn[100:, 100:].any()
    assert (plots.draw_detections(image, Detections.empty()) == image).all()


def test_the_capacity_plot_draws_each_mode_and_the_command_centers_streams(tmp_path):
    point = {"streams": 16, "analysed_fps": 30.0, "target_fps": 32.0, "latency_ms": {"p95": 90}}
    sweep = {
        "points": {"pipeline": [point, {**point, "streams": 55}], "naive": [point], "x": []},
        "verdict": {"streams": 55},
    }
    fig = plots.capacity(sweep)
    left, right = fig.axes[:2]
    assert [line.get_label() for line in left.lines][:1] == ["pipeline analysed"]
    assert 55 in {line.get_xdata()[0] for line in left.lines if line.get_linestyle() == "--"}
    assert "naive p95" in [line.get_label() for line in right.lines]
    plots.save(fig, tmp_path / "capacity.png")
    assert (tmp_path / "capacity.png").stat().st_size > 1000


def test_the_export_speed_plot_takes_the_export_report():
    report = {
        "speed": {
            "pytorch": {"1": {"latency_ms": 10.0, "throughput_fps": 100.0}},
            "onnx": {"1": {"latency_ms": 5.0, "throughput_fps": 200.0, "x_pytorch": 2.0}},
        },
        "machine": "test CPU",
    }
    fig = plots.formats(report)
    assert fig.axes
