"""The real-person check: how well the detector finds real people, per real source, on val
frames from recordings and photos it never trained on, against the teacher's boxes at
`curate.people.check_conf` (where the teacher is nearly always right; see the base's card
for a look at them). Figures come from the frame evaluation's one validation pass.
"""

from __future__ import annotations

from pathlib import Path

from ambon_cv.config import Params
from ambon_cv.real_data import real_folder

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def real_sets(images: list[Path], params: Params, root: Path) -> dict[str, list[Path]]:
    """The real val images of the curated export by the real set they came from: a clip
    set's frames are named `<set>_<clip>_<frame>`, a photo set's keep their own stem.

    Example:
        >>> from ambon_cv.config import load_params
        >>> p = load_params()
        >>> sets = real_sets([Path("surveillance-fights_fi005_000003.jpg")], p, Path("."))
        >>> {k: [i.name for i in v] for k, v in sets.items()}
        {'surveillance-fights': ['surveillance-fights_fi005_000003.jpg']}
    """
    out: dict[str, list[Path]] = {}
    left = list(images)
    for s in params.curate.real:
        if s.kind == "clips":
            mine = [p for p in left if p.name.startswith(f"{s.name}_")]
        else:
            folder = real_folder(params.real, root, s.path) / "images"
            stems = (
                {f.stem for f in folder.glob("*/*") if f.suffix.lower() in IMAGE_SUFFIXES}
                if folder.is_dir()
                else set()
            )
            mine = [p for p in left if p.stem in stems]
        if mine:
            out[s.name] = mine
            left = [p for p in left if p not in set(mine)]
    if left:
        out["camera-footage"] = left  # real footage of the registry's cameras, pulled
    return out


def person_figures(groups: dict[str, dict], sets: dict[str, list[Path]]) -> dict:
    """The person class's figures for each real set, from `headline`'s per-group figures."""
    out = {}
    for name in sets:
        figures = groups.get(name, {})
        person = figures.get("per_class", {}).get("person")
        out[name] = {"images": figures.get("images", len(sets[name]))} | (
            {k: person[k] for k in ("instances", "mAP50", "recall", "precision")}
            if person
            else {"instances": 0, "mAP50": None, "recall": None, "precision": None}
        )
    return out
