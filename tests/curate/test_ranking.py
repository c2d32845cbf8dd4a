"""The `to_label` queue on a real FiftyOne dataset: what is left out, the order, the spread over
cameras, and the model pre-filling frames at push time."""

from __future__ import annotations

import numpy as np
import pytest

from ambon_cv.config import LabelParams, RankParams
from ambon_cv.curate.ranking import MODEL, box_uncertainty, camera_group, prefill, rank
from ambon_cv.evaluate.detector import model_version

from ..conftest import run


@pytest.fixture(scope="module")
def ranked_ds(project, registry):
    """A curated dataset whose frames carry made-up predictions of known confidence."""
    _, fo, _ = project
    _, ds = run(project, registry, "t-rank")
    ds.untag_samples("reviewed")  # whatever an earlier test's saved export labelled
    rng = np.random.default_rng(1)
    preds = []
    for _ in range(len(ds)):
        confs = rng.uniform(0.05, 1.0, rng.integers(0, 4))
        preds.append(
            fo.Detections(
                detections=[
                    fo.Detection(
                        label="garbage", confidence=float(c), bounding_box=[0.1, 0.1, 0.2, 0.2]
                    )
                    for c in confs
                ]
            )
        )
    ds.set_values("predictions", preds)
    return ds


def test_the_queue_leaves_out_what_is_not_worth_a_person(ranked_ds):
    ds = ranked_ds
    ids = ds.match({"time_of_day": {"$ne": "night"}}).values("id")  # night look-alikes: below
    ds.untag_samples(["near_duplicate", "leak"])  # curate's own finds: set by hand here
    ds.select(ids[:3]).tag_samples("near_duplicate")
    ds.select(ids[3:5]).tag_samples("leak")
    ds.select(ids[5:7]).tag_samples("reviewed")
    try:
        report = rank(ds, LabelParams(), None)
        queue = ds.load_saved_view("to_label")
        assert len(queue) == report.ranked == len(ds) - 7
        assert not set(queue.values("id")) & set(ids[:7])
        assert report.left_out == {"near_duplicate": 3, "leak": 2, "source_missing": 0}
        assert "3 near_duplicate, 2 leak" in report.summary()
        # a frame reviewed after ranking leaves the queue at once (the view is saved, not a list)
        first = queue.first().id
        ds.select(first).tag_samples("reviewed")
        assert first not in ds.load_saved_view("to_label").values("id")
        assert len(ds.load_saved_view("reviewed")) == 3
    finally:
        ds.untag_samples(["near_duplicate", "leak", "reviewed"])


def test_uncertain_frames_first_and_every_camera_in_the_first_round(ranked_ds):
    ds = ranked_ds
    params = LabelParams(rank=RankParams(uniqueness_weight=0.0))
    rank(ds, params, None)
    queue = ds.load_saved_view("to_label")
    cameras, tods = queue.values("camera"), queue.values("time_of_day")
    # a registry camera is a group; a real set is one group, however many recordings it has
    cameras = [
        camera_group(c, t) for c, t in zip(cameras, queue.values("dataset_tag"), strict=True)
    ]
    groups = list(zip(cameras, tods, strict=True))
    n_groups = len(set(groups))
    assert n_groups > 3
    assert len(set(groups[:n_groups])) == n_groups, "a camera waited behind another's frames"
    # within a camera and time of day, the least sure frame comes first
    confs = queue.values("predictions.detections.confidence")
    by_group: dict = {}
    for g, c in zip(groups, confs, strict=True):
        by_group.setdefault(g, []).append(box_uncertainty(c or []))
    for scores in by_group.values():
        assert scores == sorted(scores, reverse=True)
    assert queue.values("label_rank") == list(range(len(queue)))


def test_night_look_alikes_come_back_until_night_has_its_share(ranked_ds):
    """Night frames look alike: tagged near-duplicates, all but one would leave the queue."""
    ds = ranked_ds
    night = ds.match({"time_of_day": "night"})
    if len(night) < 4:
        pytest.skip("the tiny city rendered too few night frames")
    ds.untag_samples(["near_duplicate", "leak", "reviewed"])
    night.skip(1).tag_samples("near_duplicate")
    try:
        rank(ds, LabelParams(), None)
        queue = ds.load_saved_view("to_label")
        share = len(night) / len(ds)
        got = len(queue.match({"time_of_day": "night"})) / len(queue)
        assert abs(got - share) <= 1.5 / len(queue), (got, share)
        assert len(queue) > len(ds) - len(night) + 1  # some look-alikes came back
    finally:
        ds.untag_samples("near_duplicate")


def test_rankings_differ_and_random_is_reproducible(ranked_ds):
    ds = ranked_ds
    orders = {}
    for by in ("uncertainty", "uniqueness", "random", "dataset"):
        rank(ds, LabelParams(rank=RankParams(by=by)), None)
        orders[by] = ds.load_saved_view("to_label").values("id")
    assert orders["dataset"] == ds.values("id")
    assert len({tuple(o) for o in orders.values()}) == 4
    rank(ds, LabelParams(rank=RankParams(by="random")), None)
    assert ds.load_saved_view("to_label").values("id") == orders["random"]


def test_the_model_prefills_frames_without_its_boxes(project, registry, trained):
    root = project[0]
    _, ds = run(project, registry, "t-prefill")
    view = ds.limit(6)
    weights = root / "models" / "best.pt"
    params = LabelParams(conf=0.01)
    assert prefill(view, weights, params, progress=False) == 6
    version = model_version(weights)
    assert set(view.values(MODEL)) == {version} and version.startswith("best.pt@")
    assert all(p is not None for p in view.values("predictions"))
    assert prefill(view, weights, params, progress=False) == 0, "ran the same model twice"
    first = set(view.values("id"))
    report = rank(ds, params, weights)
    queue = ds.load_saved_view("to_label")
    assert set(queue.values(MODEL)) == {version}, "a frame to label without the model's boxes"
    assert report.prefilled == len(set(queue.values("id")) - first) and report.model == version
