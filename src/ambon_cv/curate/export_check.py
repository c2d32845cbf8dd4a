"""Checking a Label Studio export before anything is written from it.

`ambon label pull` and `ambon label restore` read the whole export first and refuse it, with
every problem named by task and what to do, when any task has a label the classes do not know,
a box outside its image by more than `label.box_tolerance_pct` (a box just over the edge is
clipped), a box with no area, or more than one submitted annotation (`label.
annotations_per_task: one`; `latest` keeps the newest on purpose). Then neither the versioned
export (`data/labels/labelstudio-export.json`) nor FiftyOne changes.

Example:
    >>> box = {"type": "rectanglelabels", "value": {"x": 104, "y": 120, "width": 5,
    ...        "height": 5, "rectanglelabels": ["trash"]}}
    >>> task = {"id": 7, "data": {"frame_id": "cam/1"}, "annotations": [{"result": [box]}]}
    >>> for line in export_problems([task], ["garbage"], 1.0):
    ...     print(line[:60])
    task 7 (frame cam/1): label 'trash' is not one of curate.cla
    task 7 (frame cam/1): a box lies outside the image (x 104.0%
"""

from __future__ import annotations

from ambon_cv.curate.labelstudio_server import LabelStudioError


def submitted(task: dict) -> list[dict]:
    """A task's annotations that were submitted (not skips)."""
    return [a for a in task.get("annotations", []) if not a.get("was_cancelled")]


def export_problems(
    tasks: list[dict], classes: list[str], tolerance_pct: float, per_task: str = "one"
) -> list[str]:
    """Every problem of an export, one line each, naming the task and frame."""
    out = []
    for task in tasks:
        where = f"task {task.get('id')} (frame {task.get('data', {}).get('frame_id', '?')})"
        done = submitted(task)
        if per_task == "one" and len(done) > 1:
            out.append(
                f"{where}: {len(done)} submitted annotations: delete the extra ones in Label "
                "Studio, or set label.annotations_per_task: latest to keep the newest"
            )
        for ann in done:
            for r in ann.get("result") or []:
                if r.get("type") != "rectanglelabels":
                    continue
                out += [f"{where}: {p}" for p in _box_problems(r["value"], classes, tolerance_pct)]
    return out


def _box_problems(v: dict, classes: list[str], tol: float) -> list[str]:
    problems = []
    for label in v.get("rectanglelabels", []):
        if label not in classes:
            problems.append(
                f"label '{label}' is not one of curate.classes ({', '.join(classes)}): rename "
                "it in Label Studio, or add it to params.yaml"
            )
    x, y, w, h = (float(v.get(k, 0)) for k in ("x", "y", "width", "height"))
    if w <= 0 or h <= 0:
        problems.append("a box has no area: delete it in Label Studio")
    elif x < -tol or y < -tol or x + w > 100 + tol or y + h > 100 + tol:
        problems.append(
            f"a box lies outside the image (x {x:.1f}% to {x + w:.1f}%, y {y:.1f}% to "
            f"{y + h:.1f}%; {tol:.1f}% over the edge is allowed): move it inside in Label Studio"
        )
    return problems


def check_export(
    tasks: list[dict], classes: list[str], tolerance_pct: float, per_task: str, what: str
) -> None:
    """Raises:
    LabelStudioError: naming every problem (the first 20) and that `what` wrote nothing."""
    problems = export_problems(tasks, classes, tolerance_pct, per_task)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise LabelStudioError(
            f"{what}: {len(problems)} problem(s) in the Label Studio export; nothing was "
            f"written (neither data/labels/labelstudio-export.json nor FiftyOne):\n  "
            f"{shown}{more}"
        )
