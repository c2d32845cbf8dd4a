"""The annotation round trip between FiftyOne and a real Label Studio server.

`push()` makes the first frames of a view (`to_label`, ranked by `ambon_cv.curate.ranking`)
tasks of a Label Studio project whose labeling config is generated from the class list; images
are served by the server's local-files storage (no copies), and the model's boxes go along as
a prediction with the model version. A frame already in the project is never pushed twice, so
the same push twice makes no new task.

`pull()` brings completed annotations back as ground truth, tags the samples `reviewed`,
records annotator and lead time, and compares the human labels with the model (the
`disagree` view). Model predictions never become ground truth, a cancelled task changes
nothing, and every pull first saves the project's export to
`data/labels/labelstudio-export.json` (tracked by DVC): Label Studio's JSON export with each
task's predictions written out (its own export gives only their ids) and each annotator's
e-mail beside the annotation.

`restore()` rebuilds the project from that file (any git revision of it): tasks, predictions,
annotations and skips, by the annotators who made them, without duplicating a task.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import numpy as np

from ambon_cv.curate.export_check import check_export
from ambon_cv.curate.labelstudio_server import LabelStudioError, Server
from ambon_cv.curate.records import clip_to_image
from ambon_cv.detections import CLASSES, Detections
from ambon_cv.paths import write_json
from ambon_cv.services import port_in_use

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


NOT_RUNNING = "Label Studio is not running at {url}: start it with `ambon labelstudio up`"


def require_running(server: Server) -> None:
    """Fail at once (within about a second) when the server is not there.

    Raises:
        LabelStudioError: nothing listens on the server's port.
    """
    if not port_in_use(server.port, timeout=1.0):
        raise LabelStudioError(NOT_RUNNING.format(url=server.url))


def connect(server: Server):
    """An SDK client that has proven it can talk to the server with the token."""
    import httpx
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    require_running(server)
    client = LabelStudio(base_url=server.url, api_key=server.token, timeout=60)
    try:
        client.users.whoami()
    except httpx.ConnectError:
        raise LabelStudioError(NOT_RUNNING.format(url=server.url)) from None
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


def _path(url: str, server: Server) -> Path:
    """The file behind a task's image URL (the inverse of `_url`)."""
    return _document_root(server) / unquote(url.split("?d=", 1)[1])


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


@dataclass(frozen=True)
class TaskState:
    id: int
    annotations: int  # submitted
    skipped: int  # cancelled annotations
    predictions: int


def _tasks(client, project_id: int) -> dict[str, TaskState]:
    """The project's tasks by frame id."""
    out = {}
    for task in client.tasks.list(project=project_id, fields="all"):
        frame_id = (task.data or {}).get("frame_id")
        if frame_id:
            cancelled = task.cancelled_annotations or 0
            out[frame_id] = TaskState(
                task.id,
                (task.total_annotations or 0),
                cancelled,
                task.total_predictions or 0,
            )
    return out


@dataclass
class PushReport:
    project: int
    view: str
    asked: int  # the first frames of the view looked at
    created: int
    already_there: int
    with_predictions: int
    with_boxes: int
    models: list[str]
    in_project: dict[str, int]  # after the push: reviewed, skipped, waiting
    missing_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        models = ", ".join(self.models) or "none"
        text = (
            f"label push: {self.created} new tasks in project {self.project} from the first "
            f"{self.asked} frames of view {self.view} ({self.with_predictions} pre-filled by "
            f"{models}, {self.with_boxes} of them with boxes); {self.already_there} of those "
            f"frames were already in Label Studio. The project now holds "
            f"{sum(self.in_project.values())} tasks: {self.in_project['reviewed']} reviewed, "
            f"{self.in_project['skipped']} skipped, {self.in_project['waiting']} waiting"
        )
        if self.missing_files:
            text += f"; {len(self.missing_files)} frames skipped, file missing: " + ", ".join(
                self.missing_files[:5]
            )
        return text


def _prediction(
    preds, classes: list[str], width: int, height: int, version: str, people=None
) -> dict:
    """The model's boxes as a Label Studio prediction. `people` (a real frame's ground truth,
    whose person boxes are the people teacher's): its people replace the model's."""
    d = Detections.from_fiftyone(preds, width, height)
    if people is not None:
        teacher = Detections.from_fiftyone(people, width, height)
        person = CLASSES.index("person")
        d = Detections.merge(
            [d.filter(d.class_id != person), teacher.filter(teacher.class_id == person)]
        )
        version = f"{version}+people-teacher"
    d = d.filter(np.isin(d.class_names(), classes))
    return {
        "model_version": version,
        "score": float(d.confidence.mean()) if len(d) else 0.0,
        "result": d.to_labelstudio(width, height, LABEL, IMAGE),
    }


EXACT = "rendered ground truth"  # a rendered frame's pre-fill: its exact boxes


_BROKEN = (httpx.TransportError, ConnectionError)  # a server that died or hung up mid-push


def _saved_tasks(root: Path) -> int:
    """Tasks in the saved export (0 when there is none or it cannot be read)."""
    try:
        return len(json.loads((root / EXPORT).read_text()))
    except (OSError, ValueError):
        return 0


def _refuse_a_lost_server(client, server: Server, title: str, saved: int) -> None:
    """A server with no project at all while a pull saved `saved` tasks lost its data: a push
    would start over beside the annotators' work.

    Raises:
        LabelStudioError: saying to restore first, or to push with --new-project.
    """
    if saved and not list(client.projects.list()):
        raise LabelStudioError(
            f"Label Studio at {server.url} has no projects, but {EXPORT} holds {saved} tasks "
            f"pulled earlier (its data folder lost?): run `ambon label restore` first to bring "
            f"'{title}' and its annotations back, or `ambon label push --new-project` to start "
            "a new project anyway"
        )


def _in_project(tasks: dict[str, TaskState]) -> dict[str, int]:
    reviewed = sum(1 for t in tasks.values() if t.annotations)
    skipped = sum(1 for t in tasks.values() if not t.annotations and t.skipped)
    return {"reviewed": reviewed, "skipped": skipped, "waiting": len(tasks) - reviewed - skipped}


def push(
    view,
    server: Server,
    title: str,
    classes: list[str],
    limit: int | None = None,
    predictions_field: str = "predictions",
    model_version: str | None = None,
    view_name: str = "",
    relevant: dict[str, list[str]] | None = None,
    new_project: bool = False,
) -> PushReport:
    """Make the first `limit` frames of `view` (all without a limit) tasks, in the view's
    order; frames already in the project are counted, not pushed again, so a push the server
    broke off resumes where it stopped. Every frame that has the model's boxes (even none
    found) goes with them as a prediction, with the model version (field `predictions_model`,
    else the dataset's `model_version`, else `model_version`); a rendered frame goes with its
    exact boxes instead (accepting them as they are never replaces exact boxes with a model's),
    and a real frame only with the classes of its set (`relevant`: dataset tag -> classes).

    Raises:
        LabelStudioError: the server is down or stops answering (what to run, and how many
            tasks were sent), or it has no project at all while a pulled export exists (its
            data was lost: `ambon label restore` first, or `new_project` to mean it).
    """
    client = connect(server)
    if not new_project and find_project(client, title) is None:
        _refuse_a_lost_server(client, server, title, _saved_tasks(server.root))
    project = ensure_project(client, server, title, classes)
    existing = _tasks(client, project.id)
    shown = view.limit(limit) if limit else view
    has_predictions = shown.has_sample_field(predictions_field)
    has_version = shown.has_sample_field("predictions_model")
    default_version = model_version or view._dataset.info.get("model_version", "unknown")
    tasks, missing, already, models = [], [], 0, set()
    fields = ["frame_id", "camera", "metadata", "source", "dataset_tag", "ground_truth"]
    fields += [predictions_field] if has_predictions else []
    fields += ["predictions_model"] if has_version else []
    for sample in shown.select_fields(fields):
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
        truth, real = sample["ground_truth"], sample["source"] == "real"
        if sample["source"] == "synthetic" and truth is not None:
            task["predictions"] = [_prediction(truth, classes, w, h, EXACT)]
        elif preds is not None:
            version = (sample["predictions_model"] if has_version else None) or default_version
            mine = (relevant or {}).get(sample["dataset_tag"], classes) if real else classes
            # a real frame's people come from the teacher (curate.people), not the model
            people = truth if real and truth is not None else None
            task["predictions"] = [_prediction(preds, mine, w, h, version, people)]
        if task.get("predictions"):
            models.add(task["predictions"][0]["model_version"])
        tasks.append(task)
    sent = 0
    try:
        files = [_path(t["data"][IMAGE], server) for t in tasks]
        ensure_storages(client, server, project.id, files)
        for start in range(0, len(tasks), 500):
            client.projects.import_tasks(project.id, request=tasks[start : start + 500])
            sent += len(tasks[start : start + 500])
        in_project = _in_project(_tasks(client, project.id))
    except _BROKEN as err:
        raise LabelStudioError(
            f"Label Studio at {server.url} stopped answering during the push ({sent} of "
            f"{len(tasks)} new tasks sent; {type(err).__name__}): start it with `ambon "
            "labelstudio up` and push again; the tasks already sent are not sent twice"
        ) from None
    return PushReport(
        project.id,
        view_name or "(given)",
        len(shown),
        len(tasks),
        already,
        sum(1 for t in tasks if "predictions" in t),
        sum(1 for t in tasks if t.get("predictions") and t["predictions"][0]["result"]),
        sorted(models),
        in_project,
        missing,
    )


@dataclass
class PullReport:
    project: int
    tasks: int
    reviewed: int
    cancelled: int
    not_annotated: int
    boxes: int
    disagree: int
    unknown_frames: list[str]
    export: Path

    def summary(self) -> str:
        return (
            f"label pull: {self.reviewed} frames reviewed ({self.boxes} boxes), "
            f"{self.cancelled} cancelled, {self.not_annotated} not yet annotated, of "
            f"{self.tasks} tasks; {self.disagree} reviewed frames disagree with the model "
            f"(view disagree); export saved to {self.export}"
            + (
                f"; {len(self.unknown_frames)} frames no longer in the dataset"
                if self.unknown_frames
                else ""
            )
        )


def _export(client, project_id: int) -> list[dict]:
    """Label Studio's JSON export of every task, made self-contained: each task's predictions
    written out (the export itself lists their ids only) and each annotation's annotator
    e-mail beside its user id (`annotator_email`)."""
    chunks = client.projects.exports.download_sync(
        project_id, export_type="JSON", download_all_tasks=True
    )
    tasks = json.loads(b"".join(chunks))
    predictions: dict[int, list[dict]] = {}
    for pred in client.predictions.list(project=project_id):
        predictions.setdefault(pred.task, []).append(
            {"model_version": pred.model_version, "score": pred.score, "result": pred.result}
        )
    emails = {u.id: u.email for u in client.users.list()}
    for task in tasks:
        task["predictions"] = predictions.get(task["id"], [])
        for ann in task.get("annotations", []):
            ann["annotator_email"] = _annotator(ann, emails)
    return tasks


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
    if annotation.get("annotator_email"):
        return annotation["annotator_email"]
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return who.get("email") or emails.get(who.get("id"), str(who.get("id")))
    return None if who is None else emails.get(who, str(who))


def compare_with_model(dataset, predictions_field: str = "predictions") -> int:
    """Evaluate the model's boxes against the reviewed labels (evaluation `human_vs_model`,
    IoU 0.5) and save the `disagree` view; returns how many reviewed frames disagree."""
    from ambon_cv.curate.dataset import DISAGREE, REVIEWED, save_views

    if not dataset.has_sample_field(predictions_field):
        return 0
    reviewed = dataset.match_tags(REVIEWED).exists(predictions_field).exists("ground_truth")
    if DISAGREE in dataset.list_evaluations():
        dataset.delete_evaluation(DISAGREE)
    if not len(reviewed):
        return 0
    reviewed.evaluate_detections(
        predictions_field, gt_field="ground_truth", eval_key=DISAGREE, iou=0.5, progress=False
    )
    save_views(None, dataset)
    return len(dataset.load_saved_view("disagree"))


def pull(
    dataset,
    server: Server,
    title: str,
    classes: list[str],
    root: Path,
    predictions_field: str = "predictions",
    tolerance_pct: float = 1.0,
    per_task: str = "one",
) -> PullReport:
    """Bring completed annotations back into `dataset` as ground truth (see module doc). The
    whole export is checked first (`export_check`): a bad label, a box outside its image or a
    task with two annotations stops the pull before the export file or FiftyOne changes.

    Raises:
        LabelStudioError: the server is down, the token is wrong, the project is gone, or the
            export has problems (each named by task; nothing is written then).
    """
    client = connect(server)
    project = find_project(client, title)
    if project is None:
        raise LabelStudioError(
            f"no Label Studio project '{title}' at {server.url} (its data lost?): rebuild it "
            "from the saved export with `ambon label restore`; pulled labels already in "
            "FiftyOne are kept"
        )
    tasks = _export(client, project.id)
    check_export(tasks, classes, tolerance_pct, per_task, "label pull")
    labels = labels_from_export(tasks, classes)
    export = _save_export(tasks, root)
    applied = apply_labels(dataset, labels)
    disagree = compare_with_model(dataset, predictions_field)
    return PullReport(
        project.id,
        len(tasks),
        len(applied),
        labels.cancelled,
        labels.not_annotated,
        sum(len(labels.frames[f].boxes.detections) for f in applied),
        disagree,
        [f for f in labels.frames if f not in applied],
        export,
    )


@dataclass(frozen=True)
class HumanLabel:
    boxes: object  # fiftyone Detections
    annotator: str | None
    lead_time: float | None
    task: int


@dataclass
class ExportLabels:
    frames: dict[str, HumanLabel]  # by frame id: each task's latest submitted annotation
    cancelled: int
    not_annotated: int


def labels_from_export(tasks: list[dict], classes: list[str]) -> ExportLabels:
    """The human labels of a saved export (a skip or an unlabelled task gives none).

    Raises:
        LabelStudioError: an annotation uses a class params does not know (named, with its
            tasks).
    """
    frames: dict[str, HumanLabel] = {}
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
        boxes = [r for r in ann.get("result", []) if r.get("type") == "rectanglelabels"]
        wrong = {r["value"]["rectanglelabels"][0] for r in boxes} - set(classes)
        for label in wrong:
            unknown.setdefault(label, []).append(task["id"])
        if wrong:
            continue
        w, h = task["data"]["width"], task["data"]["height"]
        inside, _ = clip_to_image(Detections.from_labelstudio(boxes, w, h), w, h)  # the tolerance
        truth = inside.to_fiftyone(w, h, truth=True)
        frames[task["data"].get("frame_id")] = HumanLabel(
            truth, _annotator(ann, {}), ann.get("lead_time"), task["id"]
        )
    if unknown:
        names = ", ".join(f"'{k}' (tasks {v[:5]})" for k, v in unknown.items())
        raise LabelStudioError(
            f"Label Studio has labels that params curate.classes does not know: {names}; add "
            "them to params.yaml or fix the annotations. Nothing was written to FiftyOne."
        )
    return ExportLabels(frames, cancelled, not_annotated)


def apply_labels(dataset, labels: ExportLabels) -> set[str]:
    """Make the human labels the frames' ground truth, tagged `reviewed`, with annotator,
    lead time and task; returns the frame ids of the dataset that got one."""
    present = set(dataset.distinct("frame_id"))
    rows = {f: u for f, u in labels.frames.items() if f in present}
    if rows:
        for name, attr in (
            ("ground_truth", "boxes"),
            ("annotator", "annotator"),
            ("lead_time", "lead_time"),
            ("labelstudio_task", "task"),
        ):
            values = {f: getattr(u, attr) for f, u in rows.items()}
            dataset.set_values(name, values, key_field="frame_id")
        dataset.select_by("frame_id", list(rows)).tag_samples("reviewed")
    return set(rows)


# --- restore --------------------------------------------------------------------------------


def read_export(root: Path, rev: str | None = None) -> list[dict]:
    """The saved export: the working tree's file, or the version of git revision `rev`
    (through DVC, from the project's cache or its remote).

    Raises:
        LabelStudioError: no such export at that revision.
    """
    path = root / EXPORT
    if rev is None and path.is_file():
        return json.loads(path.read_text())
    import dvc.api

    try:
        with dvc.api.open(str(EXPORT), repo=str(root), rev=rev) as handle:
            return json.load(handle)
    except Exception as err:  # dvc raises many kinds; all mean "not there"
        where = f"git revision {rev}" if rev else "the working tree"
        raise LabelStudioError(
            f"no saved Label Studio export {EXPORT} at {where} ({type(err).__name__}: "
            f"{str(err)[:200]}); a pull saves it, `dvc pull {EXPORT}.dvc` fetches it"
        ) from None


@dataclass
class RestoreReport:
    project: int
    source: str
    tasks: int
    created: int
    already_there: int
    annotations: int
    skips: int
    predictions: int
    users: list[str]

    def summary(self) -> str:
        return (
            f"label restore from {self.source}: {self.tasks} tasks, {self.created} re-created "
            f"and {self.already_there} already in project {self.project}; restored "
            f"{self.annotations} annotations, {self.skips} skips and {self.predictions} "
            "predictions"
            + (f"; annotator accounts re-created: {', '.join(self.users)}" if self.users else "")
        )


def _signature(result: list | None) -> str:
    return json.dumps(result or [], sort_keys=True)


def restore(
    server: Server,
    title: str,
    classes: list[str],
    root: Path,
    rev: str | None = None,
    tolerance_pct: float = 1.0,
    per_task: str = "one",
) -> RestoreReport:
    """Rebuild the project from the saved export (see `read_export`): a task for every
    exported frame not in the project, and the predictions, annotations and skips a task
    lacks, each annotation by its annotator (an account is re-created, without a password,
    when the server has lost it). Running it twice changes nothing the second time. An export
    with problems (`export_check`) is refused before the server is touched."""
    import secrets

    exported = read_export(root, rev)
    check_export(exported, classes, tolerance_pct, per_task, "label restore")
    client = connect(server)
    project = ensure_project(client, server, title, classes)
    existing = _tasks(client, project.id)
    users = {u.email: u.id for u in client.users.list()}
    new_users: list[str] = []
    ensure_storages(
        client,
        server,
        project.id,
        [
            _path(t["data"][IMAGE], server)
            for t in exported
            if "?d=" in t.get("data", {}).get(IMAGE, "")
        ],
    )

    def user_id(email: str | None) -> int | None:
        if not email or "@" not in email:
            return None
        if email not in users:
            user = client.users.create(
                username=email.split("@")[0] + "-" + secrets.token_hex(3),
                email=email,
            )
            users[email] = user.id
            new_users.append(email)
        return users[email]

    created = already = n_ann = n_skip = n_pred = 0
    for task in exported:
        frame_id = task.get("data", {}).get("frame_id")
        if not frame_id:
            continue
        state = existing.get(frame_id)
        if state is None:
            task_id = client.tasks.create(project=project.id, data=task["data"]).id
            state = TaskState(task_id, 0, 0, 0)
            existing[frame_id] = state
            created += 1
        else:
            already += 1
        if not state.predictions:
            for pred in task.get("predictions", []):
                if isinstance(pred, dict):  # Label Studio's own export has ids only
                    client.predictions.create(
                        task=state.id,
                        result=pred.get("result") or [],
                        score=pred.get("score"),
                        model_version=pred.get("model_version"),
                    )
                    n_pred += 1
        anns = task.get("annotations", [])
        if not anns:
            continue
        have = set()  # submitted results already there; skips are matched by count
        if state.annotations:
            have = {_signature(a.result) for a in client.annotations.list(state.id)}
        skips_there = state.skipped
        for ann in anns:
            cancelled = bool(ann.get("was_cancelled"))
            if cancelled and skips_there:
                skips_there -= 1
                continue
            sig = _signature(ann.get("result"))
            if not cancelled and sig in have:
                continue
            extra = {}
            if (uid := user_id(_annotator(ann, {}))) is not None:
                extra["completed_by"] = uid
            client.annotations.create(
                state.id,
                result=ann.get("result") or [],
                was_cancelled=cancelled,
                lead_time=ann.get("lead_time"),
                **extra,
            )
            if cancelled:
                n_skip += 1
            else:
                have.add(sig)
                n_ann += 1
    return RestoreReport(
        project.id,
        f"{EXPORT} at " + (rev or "the working tree"),
        len(exported),
        created,
        already,
        n_ann,
        n_skip,
        n_pred,
        new_users,
    )
