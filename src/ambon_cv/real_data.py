"""The real data beside the project: where it is, and what DVC knows of it.

Real photos and clips live outside the repository (`real.root`, by default
`../shared/datasets`, the team's shared folder; never copied in). `dvc.yaml` cannot depend on a
folder that may not exist on another machine, so the `real` stage (`ambon real`, run on every
`dvc repro`) writes `data/real.json`: for each folder of `real.folders`, whether it is there and
a fingerprint of its files. The stages that read real data depend on that file: they run again
when the data changes, and a clone with no real data runs the synthetic pipeline, each stage
skipping its real checks and saying how to add them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ambon_cv.config import RealParams
from ambon_cv.contract import StageIO, StageParams, StageResult
from ambon_cv.errors import AmbonError
from ambon_cv.paths import under_root, write_json

FINGERPRINT = Path("data") / "real.json"
HASHES = Path(".cache") / "real-hashes.json"  # md5 by file, reused while size and mtime hold


def checkout_home(root: Path) -> Path:
    """The checkout a DVC experiment was started from, when `root` is its temporary copy
    (`dvc exp run --temp` and `--queue` run in `<checkout>/.dvc/tmp/exps/...`); else `root`.

    Example:
        >>> checkout_home(Path("/work/ambon/.dvc/tmp/exps/tmpab12cd")).as_posix()
        '/work/ambon'
        >>> checkout_home(Path("/work/ambon")).as_posix()
        '/work/ambon'
    """
    parts = root.parts
    for k in range(len(parts) - 2):
        if parts[k : k + 3] == (".dvc", "tmp", "exps"):
            return Path(*parts[:k])
    return root


def in_experiment(root: Path) -> bool:
    """Whether this runs inside a DVC experiment's temporary copy."""
    return checkout_home(root) != root or bool(os.environ.get("DVC_EXP_NAME"))


def real_root(p: RealParams, root: Path) -> Path:
    """real.root: absolute as given, else relative to the checkout (the one an experiment was
    started from, so `../shared/datasets` means the same in `dvc exp run --temp`)."""
    return under_root(p.root, checkout_home(root))


def real_folder(p: RealParams, root: Path, name: str) -> Path | None:
    """The folder `name` of real.root (an absolute `name` as given); None for an empty name
    (that check is switched off)."""
    return under_root(name, real_root(p, root)) if name else None


def how_to_add(what: str, folder: Path) -> str:
    """The line a skipped real check prints: what is missing, and how to add it."""
    return (
        f"{what}: no real data at {folder}; put the folder there (docs/concepts.md, 'Real "
        "data'), or "
        "point real.root at where it is, then `dvc repro`"
    )


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(p: RealParams, root: Path, progress: bool = True) -> dict:
    """Write data/real.json (see the module doc) and return it. Each file is hashed once; a
    file whose size and modification time are unchanged reuses its hash."""
    from tqdm import tqdm

    cache_path = root / HASHES
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    folders = {}
    for name in p.folders:
        folder = real_folder(p, root, name)
        if not folder.is_dir():
            if in_experiment(root):  # an experiment never "runs" with its real checks skipped
                raise AmbonError(
                    f"real: no real data at {folder} inside this DVC experiment, so the "
                    "stages that read it would be skipped and its figures empty: give "
                    "real.root absolutely (-S real.root=/abs/path/to/datasets)"
                )
            folders[name] = {"present": False, "path": str(folder)}
            continue
        files = sorted(f for f in folder.rglob("*") if f.is_file())
        lines, total = [], 0
        for f in tqdm(files, desc=f"real {name}", unit="file", disable=not progress):
            st = f.stat()
            key = str(f.resolve())
            seen = cache.get(key)
            if not seen or seen[:2] != [st.st_size, st.st_mtime_ns]:
                seen = cache[key] = [st.st_size, st.st_mtime_ns, _md5(f)]
            lines.append(f"{f.relative_to(folder).as_posix()}\t{seen[2]}\n")
            total += st.st_size
        folders[name] = {
            "present": True,
            "path": str(folder),
            "files": len(files),
            "bytes": total,
            "md5": hashlib.md5("".join(lines).encode()).hexdigest(),
        }
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_path.with_name(cache_path.name + f".{os.getpid()}")
    tmp.write_text(json.dumps(cache))
    tmp.replace(cache_path)
    # the fingerprint names no absolute path: the same data gives the same file on any machine
    out = {
        "root": p.root,
        "folders": {
            n: {k: v for k, v in f.items() if k != "path"} for n, f in sorted(folders.items())
        },
    }
    (root / FINGERPRINT).parent.mkdir(parents=True, exist_ok=True)
    write_json(root / FINGERPRINT, out)
    return {**out, "paths": {n: f["path"] for n, f in folders.items()}}


def run(params: StageParams, io: StageIO) -> StageResult:
    """`ambon real`: fingerprint the real folders into data/real.json."""
    out = fingerprint(params.real, io.root, progress=io.progress)
    lines = []
    for name, f in out["folders"].items():
        if f["present"]:
            lines.append(
                f"real: {name}: {f['files']} files, {f['bytes'] / 1e6:.1f} MB ({f['md5'][:12]})"
            )
        else:
            lines.append(f"real: WARNING {how_to_add(name, Path(out['paths'][name]))}")
    return StageResult("real", [*lines, f"real: fingerprint in {FINGERPRINT}"], out)
