"""Which frames are worth a person's time: the `to_label` queue.

`rank()` takes the frames nobody has reviewed, leaves out those tagged `label.rank.leave_out`
(near-duplicates, leaks, moved files), makes sure each carries the current model's boxes
(`prefill()` runs the model on frames that have none from this exact model file), scores them
(`label.rank.by`) and deals them round-robin over camera and time of day, so no camera waits
behind another's hard frames. The order is stored as `label_rank` (and the score as
`label_score`) and saved as the `to_label` view, which a push sends in order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ambon_cv.config import LabelParams
from ambon_cv.curate.dataset import REVIEWED, save_views

RANK, SCORE, MODEL = "label_rank", "label_score", "predictions_model"


def box_uncertainty(confidences: Iterable[float]) -> float:
    """How unsure the model is about a frame: its least decided box, 1 at confidence 0.5 and
    0 at 0 or 1; a frame without boxes scores 0.

    >>> box_uncertainty([0.95, 0.5])
    1.0
    >>> round(box_uncertainty([0.9, 0.2]), 2)
    0.4
    >>> box_uncertainty([])
    0.0
    """
    return max((1.0 - abs(2.0 * float(c) - 1.0) for c in confidences), default=0.0)


def interleave(rows: Iterable[tuple[Hashable, float, str]]) -> list[str]:
    """Ids of (group, score, id) rows, best first within each group, dealt round-robin: every
    group's best frame comes before any group's second best (groups in score order).

    >>> interleave([("cam1", 0.9, "a"), ("cam1", 0.8, "b"), ("cam2", 0.1, "c")])
    ['a', 'c', 'b']
    """
    groups: dict[Hashable, list[tuple[float, str]]] = defaultdict(list)
    for group, score, sample_id in rows:
        groups[group].append((score, sample_id))
    for members in groups.values():
        members.sort(key=lambda t: (-t[0], t[1]))
    order: list[str] = []
    depth = 0
    while layer := [m[depth] for m in groups.values() if depth < len(m)]:
        order += [i for _, i in sorted(layer, key=lambda t: (-t[0], t[1]))]
        depth += 1
    return order


LOOK_ALIKE = "near_duplicate"
# the camera's own footage; every other real set (a public photo set, clips cut from many
# recordings) is one group, however many recordings it holds: a recording is not a camera
CAMERA_FOOTAGE = {"synthetic-city", "camera-footage"}


def candidates(ds, params: LabelParams):
    """The frames a push may send: not reviewed, none of the left-out tags, except night
    frames: they look alike (dark, few edges), so near-duplicate tags would leave almost none,
    yet night is where a model is weakest. Night look-alikes come back, best-ranked first by
    the dataset's order, until night's share of the candidates is its share of the unreviewed
    frames."""
    from fiftyone import ViewField as F

    unreviewed = ds.match_tags(REVIEWED, bool=False)
    if not params.rank.leave_out:
        return unreviewed
    view = unreviewed.match_tags(params.rank.leave_out, bool=False)
    if LOOK_ALIKE not in params.rank.leave_out or not ds.has_sample_field("time_of_day"):
        return view
    night = F("time_of_day") == "night"
    want = night_wanted(len(unreviewed), len(unreviewed.match(night)), len(view),
                        len(view.match(night)))  # fmt: skip
    if want <= 0:
        return view
    others = [t for t in params.rank.leave_out if t != LOOK_ALIKE]
    back = unreviewed.match(night).match_tags(LOOK_ALIKE)
    back = (back.match_tags(others, bool=False) if others else back).limit(want)
    return ds.select([*view.values("id"), *back.values("id")], ordered=True)


def night_wanted(unreviewed: int, night: int, kept: int, kept_night: int) -> int:
    """Night frames to add back so that night's share of the kept frames is its share of
    the unreviewed ones.

    >>> night_wanted(1000, 300, 500, 1)   # 30% night, 1 of 500 kept: 213 more make 214 of 713
    213
    >>> night_wanted(1000, 300, 500, 200)
    0
    """
    if not unreviewed or night >= unreviewed:
        return 0
    share = night / unreviewed
    # (kept_night + x) / (kept + x) = share
    return max(0, int(round((share * kept - kept_night) / (1 - share))))


def camera_group(camera: str | None, dataset_tag: str | None) -> str | None:
    """The group a frame is dealt by: its camera for the cameras' own footage, its set for a
    real set.

    >>> camera_group("pemkot-01", "synthetic-city")
    'pemkot-01'
    >>> camera_group("surveillance-fights/rec-012", "surveillance-fights")
    'surveillance-fights'
    """
    return camera if dataset_tag in CAMERA_FOOTAGE or dataset_tag is None else dataset_tag


def prefill(view, weights: Path, params: LabelParams, progress: bool = True) -> int:
    """Run the model on the frames of `view` whose boxes (`label.predictions_field`) are not
    from this exact file; returns how many it ran on. Unreadable images are left without."""
    import cv2
    from fiftyone import ViewField as F
    from tqdm.auto import tqdm

    from ambon_cv.evaluate.detector import Detector, model_version

    version = model_version(weights)
    todo = view.match(F(MODEL) != version) if view.has_sample_field(MODEL) else view
    if not len(todo):
        return 0
    detector = Detector(weights, None, params.conf, iou=params.iou)
    ids, paths = todo.values("id"), todo.values("filepath")
    read: list[tuple[str, int, int]] = []  # (sample id, width, height) of each image read

    def images():
        for sample_id, path in zip(ids, paths, strict=True):
            if (img := cv2.imread(path)) is not None:
                read.append((sample_id, img.shape[1], img.shape[0]))
                yield img

    preds, versions = {}, {}
    for n, dets in enumerate(
        tqdm(detector(images()), total=len(ids), desc=f"pre-fill {version}", disable=not progress)
    ):
        sample_id, w, h = read[n]
        preds[sample_id], versions[sample_id] = dets.to_fiftyone(w, h), version
    ds = view._dataset
    ds.set_values(params.predictions_field, preds, key_field="id")
    ds.set_values(MODEL, versions, key_field="id")
    return len(preds)


@dataclass
class RankReport:
    by: str
    ranked: int
    left_out: dict[str, int]
    prefilled: int
    model: str
    groups: int
    first: list[str] = field(default_factory=list)  # the first frames' cameras, in order

    def summary(self) -> str:
        left = ", ".join(f"{n} {tag}" for tag, n in self.left_out.items() if n) or "none"
        return (
            f"label rank: {self.ranked} frames to label, by {self.by}, dealt over {self.groups} "
            f"camera/time-of-day groups (view to_label); left out: {left}; the model "
            f"{self.model} pre-filled {self.prefilled} frames that had no boxes from it; "
            f"the first cameras: {', '.join(self.first)}"
        )


def _scores(view, params: LabelParams) -> np.ndarray:
    rank = params.rank
    n = len(view)
    if rank.by == "random":
        return np.random.default_rng(rank.seed).random(n)
    if rank.by == "dataset":
        return np.zeros(n)
    uniq = (
        np.array([0.5 if u is None else u for u in view.values("uniqueness")], float)
        if view.has_sample_field("uniqueness")
        else np.full(n, 0.5)
    )
    if rank.by == "uniqueness":
        return uniq
    if rank.by == "mistakenness":
        import fiftyone.brain as fob

        labelled = view.exists("ground_truth").exists(params.predictions_field)
        if len(labelled):
            fob.compute_mistakenness(
                labelled, params.predictions_field, label_field="ground_truth", progress=False
            )
        has = view.has_sample_field("mistakenness")
        values = view.values("mistakenness") if has else [None] * n
        primary = np.array([0.0 if m is None else m for m in values], float)
    else:
        confidences = view.values(f"{params.predictions_field}.detections.confidence")
        primary = np.array([box_uncertainty(c or []) for c in confidences], float)
    w = rank.uniqueness_weight
    return (1 - w) * primary + w * uniq


def rank(ds, params: LabelParams, weights: Path | None, progress: bool = True) -> RankReport:
    """Rank the frames to label (see the module doc); `weights` None: no pre-fill, the boxes
    already in the dataset are used. Saves the `to_label` view."""
    from ambon_cv.evaluate.detector import model_version

    view = candidates(ds, params)
    prefilled = prefill(view, weights, params, progress) if weights is not None else 0
    unreviewed = ds.match_tags(REVIEWED, bool=False)
    tags = Counter(t for ts in unreviewed.values("tags") for t in ts)
    left_out = {tag: tags.get(tag, 0) for tag in params.rank.leave_out}
    ids = view.values("id")
    scores = _scores(view, params)
    spread = [
        view.values(f) if view.has_sample_field(f) else [None] * len(ids)
        for f in params.rank.spread_by
    ]
    if "camera" in params.rank.spread_by and view.has_sample_field("dataset_tag"):
        k = params.rank.spread_by.index("camera")
        tags = view.values("dataset_tag")
        spread[k] = [camera_group(c, t) for c, t in zip(spread[k], tags, strict=True)]
    groups = list(zip(*spread, strict=True)) if spread else [()] * len(ids)
    if params.rank.by == "dataset":
        order = list(ids)
    else:
        order = interleave(zip(groups, scores.tolist(), ids, strict=True))
    import fiftyone as fo

    position = {i: n for n, i in enumerate(order)}
    score = dict(zip(ids, scores.round(4).tolist(), strict=True))
    every = ds.values("id")  # frames left out or reviewed lose an old rank
    for name, kind, values in ((RANK, fo.IntField, position), (SCORE, fo.FloatField, score)):
        if not ds.has_sample_field(name):
            ds.add_sample_field(name, kind)
        ds.set_values(name, [values.get(i) for i in every])
    save_views(None, ds)
    first = ds.load_saved_view("to_label").limit(10).values("camera")
    return RankReport(
        params.rank.by,
        len(order),
        left_out,
        prefilled,
        model_version(weights) if weights is not None else "(none: boxes already there)",
        len(set(groups)),
        [str(c) for c in first],
    )
