"""The FiftyOne App on 127.0.0.1, opened on the curated dataset and a saved view."""

from __future__ import annotations

from ambon_cv.curate.db import connect
from ambon_cv.errors import AmbonError
from ambon_cv.paths import project_root


def launch(dataset: str, view: str | None = None, port: int = 5151, wait: bool = True) -> int:
    fo = connect(project_root())
    if not fo.dataset_exists(dataset):
        raise AmbonError(
            f"no dataset '{dataset}' yet: run the curate stage first (dvc repro curate)"
        )
    ds = fo.load_dataset(dataset)
    shown = ds
    if view:
        if not ds.has_saved_view(view):
            raise AmbonError(
                f"no saved view '{view}'; saved views: {', '.join(ds.list_saved_views())}"
            )
        shown = ds.load_saved_view(view)
    session = fo.launch_app(shown, address="127.0.0.1", port=port, auto=False)
    print(
        f"FiftyOne App: http://127.0.0.1:{port}/datasets/{dataset} "
        f"({len(shown)} samples{', view ' + view if view else ''})",
        flush=True,
    )
    if wait:
        session.wait(-1)
    return 0
