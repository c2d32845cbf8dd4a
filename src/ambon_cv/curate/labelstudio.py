"""The annotation round trip between FiftyOne and a real Label Studio server.

`push()` sends frames (a saved view, e.g. `unreviewed`) to a Label Studio project whose labeling
config is generated from the class list; images are served by the server's local-files storage
(no copies), and the current model's boxes go along as predictions (score, model version). A
frame already in the project is never pushed twice.

`pull()` brings completed annotations back as ground truth, tags the samples `reviewed` and
records annotator and lead time. Model predictions never become ground truth, a cancelled task
changes nothing, and every pull first saves Label Studio's raw export to
`data/labels/labelstudio-export.json` (tracked by DVC), so the annotators' work survives the
loss of the Label Studio database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

from ambon_cv.curate.labelstudio_server import LabelStudioError, Server
from ambon_cv.paths import write_json

IMAGE, LABEL = "image", "label"
EXPORT = Path("data") / "labels" / "labelstudio-export.json"


def label_config(classes: list[str]) -> str:
    labels = "\n".join(f'    <Label value="{c}"/>' for c in classes)
    return (
        "<View>\n"
        f'  <Image name="{IMAGE}" value="$image" zoom="true"/>\n'
        f'  <RectangleLabels name="{LABEL}" toName="{IMAGE}">\n{labels}\n'
        "  </RectangleLabels>\n"
        "</View>"
    )


def connect(server: Server):
    """An SDK client that has proven it can talk to the server with the token."""
    import httpx
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    client = LabelStudio(base_url=server.url, api_key=server.token, timeout=60)
    try:
        client.users.whoami()
    except httpx.ConnectError:
        raise LabelStudioError(
            f"Label Studio is not running at {server.url}: start it with `ambon labelstudio up`"
        ) from None
    except ApiError as err:
        if err.status_code in (401, 403):
            raise LabelStudioError(
                f"Label Studio at {server.url} refused the API token (HTTP {err.status_code}): "
                "check AMBON_LS_TOKEN in .env (it is fixed when the server's data folder is "
                "first created)"
            ) from None
        raise
    return client


def _document_root(server: Server) -> Path:
    # the project and the shared datasets beside it are both served
    return server.root.parent


def _url(path: Path, server: Server) -> str:
    rel = Path(path).resolve().relative_to(_document_root(server))
    return f"/data/local-files/?d={quote(str(rel))}"


def find_project(client, title: str):
    for project in client.projects.list():
        if project.title == title:
            return project
    return None


def ensure_project(client, server: Server, title: str, classes: list[str]):
    """The project (created with a labeling config from `classes` and a local-files storage)."""
    project = find_project(client, title)
    if project is None:
        project = client.projects.create(
            title=title,
            label_config=label_config(classes),
            description="Ambon CCTV command center: garbage and fights (pushed by ambon-cv)",
        )
    return project


def ensure_storages(client, server: Server, project_id: int, files: list[Path]) -> None:
    """Local-files storages covering every file (Label Studio serves a file only under one):
    the top folder of each, below the document root (the project, ../shared)."""
    have = {Path(st.path) for st in client.import_storage.local.list(project=project_id)}
    doc_root = _document_root(server)
    for top in sorted({doc_root / Path(f).resolve().relative_to(doc_root).parts[0] for f in files}):
        if top not in have:
            client.import_storage.local.create(
                project=project_id,
                path=str(top),
                title=f"ambon-cv: {top.name}",
                use_blob_urls=False,
            )


def _to_result(det, width: int, height: int, index: int) -> dict:
    x, y, w, h = det.bounding_box
    return {
        "id": f"r{index}",
        "from_name": LABEL,
        "to_name": IMAGE,
        "type": "rectanglelabels",
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": {
            "x": 100 * x,
            "y": 100 * y,
            "width": 100 * w,
            "height": 100 * h,
            "rotation": 0,
            "rectanglelabels": [det.label],
        },
    }


def _task_frame_ids(client, project_id: int) -> dict[str, int]:
    ids = {}
    for task in client.tasks.list(project=project_id, fields="all"):
        frame_id = (task.data or {}).get("frame_id")
        if frame_id:
            ids[frame_id] = task.id
    return ids


@dataclass
class PushReport:
    project: int
    created: int
    already_there: int
    with_predictions: int
    missing_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"label push: {self.created} new tasks in project {self.project} "
            f"({self.with_predictions} pre-filled by the model), {self.already_there} "
            "already there"
        )
        if self.missing_files:
            text += f"; {len(self.missing_files)} frames skipped, file missing: " + ", ".join(
                self.missing_files[:5]
            )
        return text


def push(
    view,
    server: Server,
    title: str,
    classes: list[str],
    limit: int | None = None,
    predictions_field: str = "predictions",
    model_version: str | None = None,
) -> PushReport:
    """Create tasks for the frames of `view` not yet in the project (at most `limit`)."""
    client = connect(server)
    project = ensure_project(client, server, title, classes)
    existing = _task_frame_ids(client, project.id)
    has_predictions = view.has_sample_field(predictions_field)
    version = model_version or view._dataset.info.get("model_version", "unknown")
    tasks, missing, already = [], [], 0
    for sample in view:
        if sample.frame_id in existing:
            already += 1
            continue
        if not Path(sample.filepath).is_file():
            missing.append(sample.filepath)
            continue
        w, h = sample.metadata.width, sample.metadata.height
        task = {
            "data": {
                IMAGE: _url(Path(sample.filepath), server),
                "frame_id": sample.frame_id,
                "camera": sample.camera,
                "width": w,
                "height": h,
            }
        }
        preds = sample[predictions_field] if has_predictions else None
        if preds is not None and preds.detections:
            known = [d for d in preds.detections if d.label in classes]
            scores = [d.confidence for d in known if d.confidence is not None]
            task["predictions"] = [
                {
                    "model_version": version,
                    "score": float(sum(scores) / len(scores)) if scores else 0.0,
                    "result": [_to_result(d, w, h, i) for i, d in enumerate(known)],
                }
            ]
        tasks.append(task)
        if limit and len(tasks) >= limit:
            break
    ensure_storages(
        client,
        server,
        project.id,
        [_document_root(server) / unquote(t["data"][IMAGE].split("?d=", 1)[1]) for t in tasks],
    )
    for start in range(0, len(tasks), 500):
        client.projects.import_tasks(project.id, request=tasks[start : start + 500])
    return PushReport(
        project.id, len(tasks), already, sum(1 for t in tasks if "predictions" in t), missing
    )


@dataclass
class PullReport:
    project: int
    tasks: int
    reviewed: int
    cancelled: int
    not_annotated: int
    boxes: int
    unknown_frames: list[str]
    export: Path

    def summary(self) -> str:
        return (
            f"label pull: {self.reviewed} frames reviewed ({self.boxes} boxes), "
            f"{self.cancelled} cancelled, {self.not_annotated} not yet annotated, of "
            f"{self.tasks} tasks; raw export saved to {self.export}"
            + (
                f"; {len(self.unknown_frames)} frames no longer in the dataset"
                if self.unknown_frames
                else ""
            )
        )


def _export(client, project_id: int) -> list[dict]:
    chunks = client.projects.exports.download_sync(
        project_id, export_type="JSON", download_all_tasks=True
    )
    return json.loads(b"".join(chunks))


def _save_export(tasks: list[dict], root: Path) -> Path:
    path = root / EXPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, tasks, indent=1)
    if (root / ".dvc").is_dir():
        dvc = Path(sys.executable).with_name("dvc")  # the venv's, also when not activated
        result = subprocess.run(
            [str(dvc), "add", "-q", str(EXPORT)], cwd=root, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise LabelStudioError(
                f"saved {path} but `dvc add` failed: {result.stderr.strip()[-300:]}"
            )
    return path


def _annotator(annotation: dict, emails: dict[int, str]) -> str | None:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return who.get("email") or emails.get(who.get("id"), str(who.get("id")))
    return None if who is None else emails.get(who, str(who))


def pull(dataset, server: Server, title: str, classes: list[str], root: Path) -> PullReport:
    """Bring completed annotations back into `dataset` as ground truth (see module doc).

    Raises:
        LabelStudioError: the server is down, the token is wrong, the project is gone, or an
            annotation uses a class params does not know (nothing is written then).
    """
    import fiftyone as fo

    client = connect(server)
    project = find_project(client, title)
    if project is None:
        raise LabelStudioError(
            f"no Label Studio project '{title}' at {server.url} (deleted by hand?): push frames "
            "again with `ambon label push`; pulled labels already in FiftyOne are kept"
        )
    tasks = _export(client, project.id)
    export = _save_export(tasks, root)
    emails = {u.id: u.email for u in client.users.list()}

    updates: dict[str, tuple] = {}
    unknown: dict[str, list] = {}
    cancelled = not_annotated = 0
    for task in tasks:
        done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        if not done:
            if task.get("annotations"):
                cancelled += 1
            else:
                not_annotated += 1
            continue
        ann = max(done, key=lambda a: (a.get("updated_at") or "", a.get("id", 0)))
        dets = []
        for r in ann.get("result", []):
            if r.get("type") != "rectanglelabels":
                continue
            v = r["value"]
            label = v["rectanglelabels"][0]
            if label not in classes:
                unknown.setdefault(label, []).append(task["id"])
                continue
            dets.append(
                fo.Detection(
                    label=label,
                    bounding_box=[v["x"] / 100, v["y"] / 100, v["width"] / 100, v["height"] / 100],
                )
            )
        frame_id = task["data"].get("frame_id")
        updates[frame_id] = (
            fo.Detections(detections=dets),
            _annotator(ann, emails),
            ann.get("lead_time"),
            task["id"],
        )
    if unknown:
        names = ", ".join(f"'{k}' (tasks {v[:5]})" for k, v in unknown.items())
        raise LabelStudioError(
            f"Label Studio has labels that params curate.classes does not know: {names}; add "
            "them to params.yaml or fix the annotations. Nothing was written to FiftyOne."
        )
    present = set(dataset.distinct("frame_id"))
    unknown_frames = [f for f in updates if f not in present]
    rows = {f: u for f, u in updates.items() if f in present}
    if rows:
        dataset.set_values("ground_truth", {f: u[0] for f, u in rows.items()}, key_field="frame_id")
        dataset.set_values("annotator", {f: u[1] for f, u in rows.items()}, key_field="frame_id")
        dataset.set_values("lead_time", {f: u[2] for f, u in rows.items()}, key_field="frame_id")
        dataset.set_values(
            "labelstudio_task", {f: u[3] for f, u in rows.items()}, key_field="frame_id"
        )
        dataset.select_by("frame_id", list(rows)).tag_samples("reviewed")
    return PullReport(
        project.id,
        len(tasks),
        len(rows),
        cancelled,
        not_annotated,
        sum(len(u[0].detections) for u in rows.values()),
        unknown_frames,
        export,
    )
