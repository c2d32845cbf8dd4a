"""The learning curve in human labels, end to end on a tiny unseen city: the loop runs for the
ranking and for a random push, each point a real fine-tune of the released base."""

from __future__ import annotations

import json

from ambon_cv.config import CurveParams
from ambon_cv.train.label_curve import label_curve, load_report, split


def _refuse(constant: str):
    raise ValueError(f"not strict JSON: {constant}")


def test_the_curve_runs_the_loop_for_both_pushes(project, registry, trained):
    root = project[0]
    params = CurveParams(
        cameras=2,
        clips_per_camera=2,
        clip_seconds=8,
        sizes=[3, 6],
        replay=8,
        epochs=1,
        work_dir=str(root / ".cache" / "label-curve"),
    )
    report = label_curve(params, registry, root, progress=False)
    assert [(p.strategy, p.labelled) for p in report.points] == [
        ("none", 0),
        ("ranked", 3),
        ("ranked", 6),
        ("random", 3),
        ("random", 6),
    ]
    assert all(0.0 <= p.mAP50 <= 1.0 for p in report.points)
    assert report.replay == 8 and report.cameras == 2 and report.pool > 6
    assert "random" in report.summary() and "ranked" in report.summary()
    # the report is strict JSON and loads back into the same figures; the plot is written
    text = (root / "reports" / "label_curve.json").read_text()
    written = json.loads(text, parse_constant=_refuse)
    assert written["params"]["sizes"] == [3, 6]
    assert load_report(root / "reports" / "label_curve.json").points == report.points
    assert (root / "reports" / "label_curve.png").stat().st_size > 5000
    # each push labels frames of the pool only: val clips are never labelled
    runs = root / ".cache" / "label-curve" / "yolo"
    val = set((runs / "ranked-6" / "val.txt").read_text().split())
    for name in ("ranked-6", "random-6"):
        train = set((runs / name / "train.txt").read_text().split())
        assert len(train) == 8 + 6 and not train & val


def test_the_last_clip_of_each_camera_is_val():
    import pandas as pd

    frames = pd.DataFrame(
        {
            "camera": ["a", "a", "a", "b", "b"],
            "clip": ["a/1", "a/2", "a/2", "b/1", "b/9"],
        }
    )
    pool, val = split(frames)
    assert list(pool["clip"]) == ["a/1", "b/1"] and list(val["clip"]) == ["a/2", "a/2", "b/9"]
