"""The annotation round trip against a real Label Studio server (its own venv, loopback):
push with model predictions, annotate through the API as an annotator would, pull back."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ambon_cv.config import LabelParams
from ambon_cv.curate.labelstudio import (
    EXACT,
    connect,
    find_project,
    pull,
    push,
    read_export,
    restore,
)
from ambon_cv.curate.labelstudio_server import LabelStudioError, Server, down, up
from ambon_cv.curate.ranking import rank
from ambon_cv.evaluate.detector import model_version
from ambon_cv.services import free_port

from ..conftest import ROOT, run

CLASSES = ["garbage", "garbage_bin", "overflow", "fight", "person"]
TITLE = "ambon-cv test frames"


@pytest.fixture(scope="module")
def server(project):
    root = project[0]
    s = Server(
        root=root,
        port=free_port(),
        username="annotator@ambon-cv.local",
        password="test-password-1",
        token="a" * 40,
    )
    started = time.perf_counter()
    up(s)
    s_started = time.perf_counter() - started
    print(f"label studio start: {s_started:.1f} s")
    yield s
    down(s)
    # later tests curate datasets of their own: no human labels from this module's pulls
    (root / "data" / "labels" / "labelstudio-export.json").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def labelled(project, registry, server):
    """A curated dataset whose samples carry model predictions (jittered ground truth)."""
    _, fo, _ = project
    _, ds = run(project, registry, "t-label")
    rng = np.random.default_rng(0)
    for sample in ds.match({"source": "synthetic"}).exists("ground_truth").limit(8):
        preds = []
        for d in sample.ground_truth.detections[:4]:
            x, y, w, h = d.bounding_box
            preds.append(
                fo.Detection(
                    label=d.label,
                    confidence=float(rng.uniform(0.5, 0.9)),
                    bounding_box=[x + 0.005, y, w, h],
                )
            )
        sample["predictions"] = fo.Detections(detections=preds)
        sample.save()
    ds.info["model_version"] = "yolo11n-test-1"
    ds.save()
    return ds


def annotate(client, task_id: int, result: list[dict], cancelled: bool = False) -> None:
    client.annotations.create(task_id, result=result, was_cancelled=cancelled, lead_time=4.2)


def test_round_trip(server, labelled, project, registry):
    root = project[0]
    view = labelled.exists("predictions")
    report = push(view, server, TITLE, CLASSES, limit=8)
    assert report.created == 8 and report.with_predictions == 8
    again = push(view, server, TITLE, CLASSES, limit=8)
    assert again.created == 0 and again.already_there == 8, "re-push made duplicate tasks"

    client = connect(server)
    pid = find_project(client, TITLE).id
    tasks = sorted(client.tasks.list(project=pid, fields="all"), key=lambda t: t.id)
    assert len(tasks) == 8
    preds = {t.id: client.predictions.list(task=t.id)[0].result for t in tasks}

    accept, move, add, delete, cancel = tasks[:5]
    annotate(client, accept.id, preds[accept.id])
    moved = json.loads(json.dumps(preds[move.id]))
    moved[0]["value"]["x"] += 2.5
    annotate(client, move.id, moved)
    extra = json.loads(json.dumps(preds[add.id][0]))
    extra.update(
        id="new1",
        value={
            **extra["value"],
            "x": 5.0,
            "y": 5.0,
            "width": 10.0,
            "height": 20.0,
            "rectanglelabels": ["garbage"],
        },
    )
    annotate(client, add.id, [*preds[add.id], extra])
    annotate(client, delete.id, preds[delete.id][1:])
    annotate(client, cancel.id, preds[cancel.id][:1], cancelled=True)

    exact = {
        f: labelled.match({"frame_id": f}).first().ground_truth
        for f in (t.data["frame_id"] for t in tasks)
    }
    cancelled_frame = cancel.data["frame_id"]
    before_cancel = labelled.match({"frame_id": cancelled_frame}).first().ground_truth
    result = pull(labelled, server, TITLE, CLASSES, root)
    assert (result.reviewed, result.cancelled, result.not_annotated) == (4, 1, 3)
    reviewed = labelled.match_tags("reviewed")
    assert len(reviewed) == 4
    assert len(labelled.load_saved_view("reviewed")) == 4
    # a box added or deleted by the annotator is a disagreement with the model
    disagree = set(labelled.load_saved_view("disagree").values("frame_id"))
    assert {add.data["frame_id"], delete.data["frame_id"]} <= disagree
    assert result.disagree == len(disagree)
    # a rendered frame was pre-filled with its exact boxes, not the model's: accepted as it
    # is, its ground truth stays exact
    assert {client.predictions.list(task=t.id)[0].model_version for t in tasks} == {EXACT}
    accepted = labelled.match({"frame_id": accept.data["frame_id"]}).first().ground_truth
    assert sorted(d.label for d in accepted.detections) == sorted(
        d.label for d in exact[accept.data["frame_id"]].detections
    )
    assert np.allclose(
        sorted(d.bounding_box for d in accepted.detections),
        sorted(d.bounding_box for d in exact[accept.data["frame_id"]].detections),
        atol=1e-4,
    )

    def pixels(frame_id: str) -> tuple[list, np.ndarray, object]:
        s = labelled.match({"frame_id": frame_id}).first()
        w, h = s.metadata.width, s.metadata.height
        dets = s.ground_truth.detections
        return ([d.label for d in dets], np.array([d.bounding_box for d in dets]) * [w, h, w, h], s)

    def pred_pixels(task, result_list):
        w, h = task.data["width"], task.data["height"]
        return np.array(
            [[r["value"][k] / 100 for k in ("x", "y", "width", "height")] for r in result_list]
        ) * [w, h, w, h]

    labels, px, s = pixels(accept.data["frame_id"])
    assert np.allclose(px, pred_pixels(accept, preds[accept.id]), atol=1e-6)
    assert s.annotator == "annotator@ambon-cv.local" and s.lead_time == pytest.approx(4.2)
    _, px, _ = pixels(move.data["frame_id"])
    assert np.allclose(px, pred_pixels(move, moved), atol=1e-6)
    assert abs(px[0, 0] - pred_pixels(move, preds[move.id])[0, 0]) > 1
    labels, px, _ = pixels(add.data["frame_id"])
    assert len(labels) == len(preds[add.id]) + 1 and "garbage" in labels
    labels, _, _ = pixels(delete.data["frame_id"])
    assert len(labels) == len(preds[delete.id]) - 1
    after_cancel = labelled.match({"frame_id": cancelled_frame}).first()
    assert "reviewed" not in after_cancel.tags
    assert after_cancel.ground_truth == before_cancel, "a cancelled task changed the label"

    export = json.loads((root / "data" / "labels" / "labelstudio-export.json").read_text())
    assert len(export) == 8
    # predictions are never ground truth: the untouched tasks kept their original labels
    untouched = tasks[5].data["frame_id"]
    s = labelled.match({"frame_id": untouched}).first()
    assert s.ground_truth != s.predictions

    # a human label survives the next curate run
    run(project, registry, "t-label")
    assert np.allclose(pixels(move.data["frame_id"])[1], pred_pixels(move, moved), atol=1e-6)

    # a fresh database (a new clone) gets the labels back from the saved export, and the
    # training export carries them
    report, fresh = run(project, registry, "t-label-fresh")
    assert report.human_labels == 4
    again = fresh.match({"frame_id": move.data["frame_id"]}).first()
    assert "reviewed" in again.tags and again.annotator == server.username
    w, h = again.metadata.width, again.metadata.height
    boxes = np.array([d.bounding_box for d in again.ground_truth.detections]) * [w, h, w, h]
    assert np.allclose(boxes, pred_pixels(move, moved), atol=1e-6)
    if again.split in ("train", "val"):
        label_file = (
            root / "data" / "curated" / "yolo" / "labels" / again.split
        ) / f"{Path(again.filepath).stem}.txt"
        assert len(label_file.read_text().splitlines()) == len(boxes)


def test_unknown_label_is_named_and_nothing_is_written(server, labelled, project):
    root, _, _ = project
    client = connect(server)
    pid = find_project(client, TITLE).id
    task = sorted(client.tasks.list(project=pid, fields="all"), key=lambda t: t.id)[6]
    result = [
        {
            "id": "x1",
            "from_name": "label",
            "to_name": "image",
            "type": "rectanglelabels",
            "original_width": 320,
            "original_height": 180,
            "value": {
                "x": 1,
                "y": 1,
                "width": 5,
                "height": 5,
                "rotation": 0,
                "rectanglelabels": ["motorbike"],
            },
        }
    ]
    annotate(client, task.id, result)
    outside = sorted(client.tasks.list(project=pid, fields="all"), key=lambda t: t.id)[7]
    far = json.loads(json.dumps(result))
    far[0]["value"].update(x=104.0, y=120.0, rectanglelabels=["garbage"])
    annotate(client, outside.id, far)
    export = root / "data" / "labels" / "labelstudio-export.json"
    saved = export.read_bytes() if export.is_file() else None
    before = labelled.count_sample_tags()
    truth = {f: labelled.match({"frame_id": f}).first().ground_truth
             for f in (task.data["frame_id"], outside.data["frame_id"])}  # fmt: skip
    with pytest.raises(LabelStudioError) as err:
        pull(labelled, server, TITLE, CLASSES, root)
    text = str(err.value)
    assert f"task {task.id}" in text and "'motorbike'" in text
    assert f"task {outside.id}" in text and "outside the image (x 104.0%" in text
    assert "nothing was written" in text
    # neither the versioned export nor FiftyOne changed
    assert (export.read_bytes() if export.is_file() else None) == saved
    assert labelled.count_sample_tags() == before
    for frame, gt in truth.items():
        assert labelled.match({"frame_id": frame}).first().ground_truth == gt
    for t in (task, outside):
        client.annotations.delete(client.annotations.list(t.id)[0].id)
    pull(labelled, server, TITLE, CLASSES, root)  # the saved export without them again


def test_the_server_dying_mid_push_says_what_to_run_and_the_push_resumes(
    server, labelled, project, monkeypatch
):
    from ambon_cv.curate import labelstudio

    title = "ambon-cv killed mid-push"
    view = labelled.match({"source": "synthetic"}).limit(6)
    real_storages = labelstudio.ensure_storages

    def die_first(*args, **kwargs):  # the server goes down once the tasks are built
        real_storages(*args, **kwargs)
        down(server)

    monkeypatch.setattr(labelstudio, "ensure_storages", die_first)
    tags = labelled.count_sample_tags()
    try:
        with pytest.raises(LabelStudioError) as err:
            push(view, server, title, CLASSES)
    finally:
        up(server)
    text = str(err.value)
    assert "stopped answering during the push (0 of 6 new tasks sent" in text
    assert "ambon labelstudio up" in text and "\n" not in text  # one line, no traceback
    assert labelled.count_sample_tags() == tags
    monkeypatch.setattr(labelstudio, "ensure_storages", real_storages)
    again = push(view, server, title, CLASSES)
    assert again.created == 6
    assert push(view, server, title, CLASSES).created == 0, "the resumed push duplicated"


def test_server_down_wrong_token_and_deleted_project(server, labelled, project):
    root, _, _ = project
    dead = Server(root=root, port=free_port(), username="a", password="b", token="c" * 40)
    with pytest.raises(
        LabelStudioError,
        match=r"not running at http://127.0.0.1:\d+: start it with `ambon labelstudio up`",
    ):
        push(labelled, dead, TITLE, CLASSES)
    wrong = Server(
        root=root,
        port=server.port,
        username=server.username,
        password=server.password,
        token="f" * 40,
    )
    with pytest.raises(LabelStudioError, match="refused the API token"):
        pull(labelled, wrong, TITLE, CLASSES, root)
    with pytest.raises(LabelStudioError, match="no Label Studio project 'gone'"):
        pull(labelled, server, "gone", CLASSES, root)
    assert len(labelled.match_tags("reviewed")) >= 4  # nothing already pulled is lost


def test_busy_port_is_refused(project):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        s = Server(
            root=project[0], port=other.getsockname()[1], username="a", password="b", token="d" * 40
        )
        with pytest.raises(LabelStudioError, match="in use by another program"):
            up(s)
    assert os.environ.get("LABEL_STUDIO_BASE_DATA_DIR") is None


def test_frames_whose_files_moved_are_skipped_and_listed(server, labelled, tmp_path):
    sample = labelled.match({"source": "synthetic"}).skip(20).first()
    moved = tmp_path / "moved.jpg"
    Path(sample.filepath).rename(moved)
    try:
        report = push(labelled.select(sample.id), server, "ambon-cv moved files", CLASSES)
    finally:
        moved.rename(sample.filepath)
    assert report.created == 0 and report.missing_files == [sample.filepath]
    assert "file missing" in report.summary()


def test_push_sends_the_queue_in_order_every_frame_prefilled(server, project, registry, trained):
    root, _, _ = project
    _, ds = run(project, registry, "t-queue")
    weights = root / "models" / "best.pt"
    rank(ds, LabelParams(conf=0.01), weights)
    queue = ds.load_saved_view("to_label")
    title = "ambon-cv queue"
    report = push(queue, server, title, CLASSES, limit=6, view_name="to_label")
    assert report.created == report.with_predictions == 6, "a pushed frame was not pre-filled"
    client = connect(server)
    pid = find_project(client, title).id
    tasks = sorted(client.tasks.list(project=pid, fields="all"), key=lambda t: t.id)
    assert [t.data["frame_id"] for t in tasks] == queue.limit(6).values("frame_id")
    version = model_version(weights)
    sources = dict(zip(queue.values("frame_id"), queue.values("source"), strict=True))
    for t in tasks:
        made = client.predictions.list(task=t.id)[0].model_version
        # a rendered frame goes with its exact boxes: accepting them keeps them exact
        want = EXACT if sources[t.data["frame_id"]] == "synthetic" else version
        assert made.startswith(want), (t.data["frame_id"], made)

    annotate(client, tasks[0].id, [])
    annotate(client, tasks[1].id, [], cancelled=True)
    again = push(queue, server, title, CLASSES, limit=6, view_name="to_label")
    assert again.created == 0 and again.already_there == 6, "the same push made new tasks"
    assert again.in_project == {"reviewed": 1, "skipped": 1, "waiting": 4}
    text = again.summary()
    assert "0 new tasks" in text and "6 of those frames were already in Label Studio" in text
    assert "1 reviewed, 1 skipped, 4 waiting" in text


def test_a_stopped_server_is_named_at_once_by_the_cli(tmp_path):
    env = {
        **os.environ,
        "AMBON_LS_USERNAME": "a@b.c",
        "AMBON_LS_PASSWORD": "x",
        "AMBON_LS_TOKEN": "e" * 40,
        "AMBON_LS_PORT": str(free_port()),
    }
    ambon = Path(sys.executable).with_name("ambon")
    for action in ("push", "pull", "restore"):
        started = time.perf_counter()
        out = subprocess.run(
            [str(ambon), "label", action], cwd=ROOT, env=env, capture_output=True, text=True
        )
        took = time.perf_counter() - started
        print(f"ambon label {action} against a stopped server: {took:.2f} s")
        assert out.returncode != 0
        assert "not running at http://127.0.0.1:" in out.stderr + out.stdout
        assert "ambon labelstudio up" in out.stderr + out.stdout
        assert took < 10, f"{action} took {took:.1f} s to say the server is down"


def test_restore_after_the_server_lost_its_data(server, labelled, project):
    root = project[0]
    before = pull(labelled, server, TITLE, CLASSES, root)  # saves the export
    exported = read_export(root)
    annotations = [a for t in exported for a in t["annotations"]]
    want = {
        "annotations": sum(not a["was_cancelled"] for a in annotations),
        "skips": sum(bool(a["was_cancelled"]) for a in annotations),
        "predictions": sum(len(t["predictions"]) for t in exported),
    }
    assert want["annotations"] >= 4 and want["skips"] >= 1 and want["predictions"] == 8

    down(server)
    shutil.rmtree(server.data_dir)
    up(server)
    with pytest.raises(LabelStudioError, match="ambon label restore"):
        pull(labelled, server, TITLE, CLASSES, root)
    # a push to the emptied server would start over beside the annotators' work
    tags = labelled.count_sample_tags()
    with pytest.raises(LabelStudioError, match=r"has no projects, but .* run `ambon label restore"):
        push(labelled.exists("predictions"), server, TITLE, CLASSES, limit=8)
    assert find_project(connect(server), TITLE) is None and labelled.count_sample_tags() == tags

    # an export edited by hand into a bad one is refused whole, before the server is touched
    export = root / "data" / "labels" / "labelstudio-export.json"
    good = export.read_bytes()
    bad = json.loads(good)
    done = [t for t in bad if any(not a["was_cancelled"] for a in t["annotations"])]
    first = next(a for a in done[0]["annotations"] if not a["was_cancelled"])
    first["result"][0]["value"]["rectanglelabels"] = ["trash"]
    done[1]["annotations"].append(json.loads(json.dumps(done[1]["annotations"][0])))
    export.write_text(json.dumps(bad))
    try:
        with pytest.raises(LabelStudioError) as err:
            restore(server, TITLE, CLASSES, root)
    finally:
        export.write_bytes(good)
    assert "'trash'" in str(err.value) and "submitted annotations" in str(err.value)
    assert find_project(connect(server), TITLE) is None

    report = restore(server, TITLE, CLASSES, root)
    assert report.created == len(exported) and report.already_there == 0
    got = {k: getattr(report, k) for k in want}
    assert got == want, report.summary()
    client = connect(server)
    pid = find_project(client, TITLE).id
    frames = [t.data["frame_id"] for t in client.tasks.list(project=pid, fields="all")]
    assert len(frames) == len(set(frames)) == len(exported), "duplicate tasks"

    twice = restore(server, TITLE, CLASSES, root)
    assert (twice.created, twice.annotations, twice.skips, twice.predictions) == (0, 0, 0, 0)
    assert twice.already_there == len(exported)

    after = pull(labelled, server, TITLE, CLASSES, root)
    assert (after.reviewed, after.cancelled, after.boxes) == (
        before.reviewed,
        before.cancelled,
        before.boxes,
    )
    assert set(labelled.match_tags("reviewed").values("annotator")) == {server.username}
    assert push(labelled.exists("predictions"), server, TITLE, CLASSES, limit=8).created == 0


def test_restore_names_a_revision_without_an_export(project):
    with pytest.raises(LabelStudioError, match=r"no saved .* git revision nope"):
        read_export(project[0], rev="nope")


def test_the_annotator_guide_from_the_command_line(server, labelled, bench_project):
    """Steps 3 to 5 of the README's guide as an annotator types them: push, label, pull."""
    root = bench_project[0]
    env = {
        **os.environ,
        "AMBON_LS_USERNAME": server.username,
        "AMBON_LS_PASSWORD": server.password,
        "AMBON_LS_TOKEN": server.token,
        "AMBON_LS_PORT": str(server.port),
    }
    ambon = str(Path(sys.executable).with_name("ambon"))
    sets = ["-S", f"curate.dataset={labelled.name}", "-S", "label.project=ambon-cv guide"]

    def cli(*args: str) -> str:
        out = subprocess.run(
            [ambon, "label", *args, *sets], cwd=root, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout

    pushed = cli("push", "--limit", "3")
    assert "label rank:" in pushed and "3 new tasks" in pushed and "3 pre-filled" in pushed
    assert "0 new tasks" in cli("push", "--limit", "3")

    client = connect(server)
    pid = find_project(client, "ambon-cv guide").id
    first = sorted(client.tasks.list(project=pid, fields="all"), key=lambda t: t.id)[0]
    annotate(client, first.id, client.predictions.list(task=first.id)[0].result)
    pulled = cli("pull")
    assert "1 frames reviewed" in pulled
    labelled.reload()
    assert first.data["frame_id"] in labelled.load_saved_view("reviewed").values("frame_id")
    assert first.data["frame_id"] not in labelled.load_saved_view("to_label").values("frame_id")
