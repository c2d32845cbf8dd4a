"""The evaluate stage end to end on a tiny project: a real (tiny) model, frame metrics stored
in FiftyOne, events on held-out clips, real garbage photos and real fight clips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ambon_cv.evaluate.detector import DetectorError
from ambon_cv.evaluate.real import RealDataError
from ambon_cv.evaluate.stage import evaluate
from tests.stages import run_stage


@pytest.mark.slow
def test_evaluate_writes_every_part(project, registry, trained):
    root, fo, real = project

    def state(folder):
        return {p: p.stat().st_mtime_ns for p in folder.rglob("*")}

    before = [state(Path(r.path)) for r in real]
    m = run_stage("evaluate", trained, root, registry).details  # only its declared params
    after = [state(Path(r.path)) for r in real]
    assert before == after, "evaluation wrote into a real-data folder"
    assert 0 <= m["frame"]["mAP50"] <= 1 and m["frame"]["images"] > 0
    assert set(m["frame"]["fiftyone"]["by"]) == {"camera", "dataset_tag", "time_of_day"}
    for kind in ("fight", "garbage"):
        e = m["event"][kind]
        assert e["incidents"] >= 1 and set(e) >= {
            "incident_recall",
            "alert_precision",
            "false_alerts_per_camera_hour",
        }
    # the fight alerts over the hot spots' own held-out footage (6 s each here), opened at the
    # threshold the fights stage chose for the budget, with counts and intervals
    h = m["fight_hours"]
    hot = [c for c in registry.cameras if c.analytic("fight") is not None]
    assert h["clips"] == len(hot) and h["hours"] == pytest.approx(len(hot) * 6 / 3600, abs=1e-3)
    assert h["open"] == m["fight_rule"]["open"] and h["false_alerts_per_camera_hour_95"]
    assert (root / "reports" / "evaluate" / "fight_hours.tsv").is_file()
    assert "camera-hours (held-out hot spots)" in (root / "reports" / "evaluate.md").read_text()
    g = m["real"]["garbage"]
    assert 0 <= g["mAP50"] <= 1 and g["images"] == 4
    f = m["real"]["fights"]
    assert f["clips"] == 6 and 0 <= f["accuracy"] <= 1
    c = m["real"]["fights_classifier"]  # its own training folder: out-of-fold scores only
    assert c["clips"] == 6 and c["source"].startswith("out-of-fold")
    assert "clip classifier" in (root / "reports" / "evaluate.md").read_text()
    saved = json.loads((root / "reports" / "evaluate.json").read_text())
    assert saved["event"]["fight"]["incidents"] == m["event"]["fight"]["incidents"]
    assert "## Events" in (root / "reports" / "evaluate.md").read_text()
    plots = root / "reports" / "evaluate"
    assert (plots / "alert_timeline.png").is_file() and list(plots.glob("*confusion*.png"))
    ds = fo.load_dataset("t-eval")
    assert "eval" in ds.list_evaluations() and ds.has_sample_field("mistakenness")
    assert ds.has_saved_view("hard") and ds.info["model_version"].startswith("best.pt@")


def test_no_model_and_bad_folders_say_what_to_do(project, registry, trained, tmp_path):
    params = trained
    with pytest.raises(DetectorError, match="run the train stage first"):
        evaluate(params, registry, tmp_path, progress=False)
    from ambon_cv.evaluate.real import garbage_map

    (tmp_path / "photos").mkdir()
    with pytest.raises(RealDataError, match=r"no data\.yaml"):
        garbage_map(tmp_path / "x.pt", tmp_path / "photos", 64, "cpu")


@pytest.mark.slow
def test_a_folder_of_your_own_gets_its_own_report(project, trained):
    """`ambon evaluate --real-fights DIR`: the real checks on that folder, in reports/real/,
    and the pipeline's report left as it was."""
    from ambon_cv.evaluate.stage import evaluate_folders

    root, _, real = project
    clips = next(Path(r.path) for r in real if r.kind == "clips")
    pipeline = root / "reports" / "evaluate.json"
    before = pipeline.stat().st_mtime_ns if pipeline.exists() else None
    out, path = evaluate_folders(trained, root, real_fights=str(clips), progress=False)
    assert path == root / "reports" / "real" / f"{clips.name}.json"
    saved = json.loads(path.read_text())
    assert saved["real"]["fights"]["clips"] == out["real"]["fights"]["clips"] == 6
    assert "garbage" not in saved["real"] and saved["folders"]["fights"] == str(clips.resolve())
    assert "fight clips" in path.with_suffix(".md").read_text()
    assert (pipeline.stat().st_mtime_ns if pipeline.exists() else None) == before
    with pytest.raises(DetectorError, match="--real-fights DIR"):
        evaluate_folders(trained, root)
