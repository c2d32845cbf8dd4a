"""The label push knows people: a real frame's pre-filled people are the teacher's (from its
ground truth), not the model's; its other classes stay the model's."""

from __future__ import annotations

import numpy as np

from ambon_cv.curate.labelstudio import _prediction
from ambon_cv.detections import CLASSES, Detections

P, G = CLASSES.index("person"), CLASSES.index("garbage")


def test_a_real_frame_is_prefilled_with_the_teacher_s_people_and_the_model_s_garbage(project):
    # `project` points FiftyOne at its own database before fiftyone is imported
    model = Detections(np.array([[0, 0, 50, 50], [100, 0, 120, 60]]), np.array([G, P]),
                       np.array([0.8, 0.3])).to_fiftyone(640, 360)  # fmt: skip
    teacher = Detections(np.array([[300, 20, 340, 140]]), np.array([P])).to_fiftyone(
        640, 360, truth=True
    )
    classes = list(CLASSES)
    plain = _prediction(model, classes, 640, 360, "m1")
    real = _prediction(model, classes, 640, 360, "m1", people=teacher)
    labels = lambda p: [r["value"]["rectanglelabels"][0] for r in p["result"]]  # noqa: E731
    assert labels(plain) == ["garbage", "person"]
    assert labels(real) == ["garbage", "person"]
    assert real["result"][1]["value"]["x"] == 100 * 300 / 640  # the teacher's person
    assert real["model_version"] == "m1+people-teacher"
