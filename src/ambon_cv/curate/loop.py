"""`ambon label`: the annotation loop over the curated dataset and the Label Studio server.

rank the unreviewed frames (view `to_label`), push a view's frames as pre-filled tasks, pull
the completed annotations back as ground truth, restore a lost project from the saved export,
or draw the learning curve in human labels. The work is in ambon_cv.curate.labelstudio,
ambon_cv.curate.ranking and ambon_cv.train.label_curve; this module checks what each action
needs, in the order that fails fastest.
"""

from __future__ import annotations

from ambon_cv.contract import StageIO, StageParams, StageResult
from ambon_cv.errors import AmbonError


def run(
    params: StageParams,
    io: StageIO,
    action: str,
    view: str = "to_label",
    limit: int | None = None,
    rev: str | None = None,
    new_project: bool = False,
) -> StageResult:
    from ambon_cv.curate.labelstudio import pull, push, require_running, restore
    from ambon_cv.curate.labelstudio_server import server_config

    root, label, classes = io.root, params.label, params.curate.classes
    if action == "curve":
        from ambon_cv.train.label_curve import label_curve

        return StageResult("label", [label_curve(label.curve, io.cameras(), root).summary()])
    if action != "rank":  # before the database and the model: fail in a second
        server = server_config(root)
        require_running(server)
    checks = {"tolerance_pct": label.box_tolerance_pct, "per_task": label.annotations_per_task}
    if action == "restore":
        report = restore(server, label.project, classes, root, rev, **checks)
        return StageResult("label", [report.summary()])
    from ambon_cv.curate.db import connect
    from ambon_cv.curate.ranking import prefill, rank

    fo = connect(root)
    name = params.curate.dataset
    if not fo.dataset_exists(name):
        raise AmbonError(f"no dataset '{name}': run the curate stage first")
    ds = fo.load_dataset(name)
    weights = root / label.model
    if action == "pull":
        report = pull(ds, server, label.project, classes, root, label.predictions_field, **checks)
        return StageResult("label", [report.summary()])
    lines = []
    queue = action == "rank" or view == "to_label"
    if queue:
        lines.append(rank(ds, label, weights).summary())  # pre-fills every frame of the queue
        if action == "rank":
            return StageResult("label", lines)
    if not ds.has_saved_view(view):
        raise AmbonError(f"no saved view '{view}'; saved: {', '.join(ds.list_saved_views())}")
    frames = ds.load_saved_view(view)
    if not queue:
        prefill(frames.limit(limit) if limit else frames, weights, label)
    report = push(
        frames, server, label.project, classes, limit, label.predictions_field, view_name=view,
        relevant=relevant_classes(params.curate), new_project=new_project,
    )  # fmt: skip
    return StageResult("label", [*lines, report.summary()])


def relevant_classes(curate) -> dict[str, list[str]]:
    """What a real set's frames are pre-filled with: the classes its own labels name (none for
    clips labelled per clip), and people (the teacher's)."""
    return {
        s.name: sorted(
            {c for c in (s.class_map.values() if s.kind == "yolo" else ()) if c} | {"person"}
        )
        for s in curate.real
    }
