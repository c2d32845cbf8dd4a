"""A contact sheet of the teacher's people on real frames, to look at before trusting them:
green boxes at or above the check threshold, yellow down to the train threshold, thin red
below it (kept in the labels file, used by neither)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ambon_cv.config import PeopleParams
from ambon_cv.people.labels import PeopleLabels

TILE = (320, 240)  # width, height of one frame on the sheet
GREEN, YELLOW, RED = (60, 200, 60), (0, 210, 240), (40, 40, 230)  # BGR


def contact_sheet(
    records: list, labels: PeopleLabels, out: Path, people: PeopleParams,
    frames: int = 24, columns: int = 6, seed: int = 0,
) -> Path:  # fmt: skip
    """`frames` real records drawn at random (the same each run for a seed), each source in
    proportion, with the teacher's boxes; written to `out` (a JPEG keeps it small for git)."""
    import cv2

    rng = np.random.default_rng(seed)
    seen = [r for r in records if r.frame_id in labels.frames]
    pick = sorted(rng.choice(len(seen), size=min(frames, len(seen)), replace=False).tolist())
    tiles = []
    for k in pick:
        r = seen[k]
        image = cv2.imread(str(r.filepath))
        if image is None:
            continue
        for x1, y1, x2, y2, conf in labels.frames[r.frame_id]:
            colour, width = (
                (GREEN, 2) if conf >= people.check_conf
                else (YELLOW, 2) if conf >= people.train_conf
                else (RED, 1)
            )  # fmt: skip
            cv2.rectangle(image, (int(x1), int(y1)), (int(x2), int(y2)), colour, width)
            cv2.putText(image, f"{conf:.2f}", (int(x1), max(12, int(y1) - 3)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)  # fmt: skip
        tile = _fit(image)
        cv2.putText(tile, r.frame_id[-38:], (4, TILE[1] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                    (255, 255, 255), 1)  # fmt: skip
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.zeros((TILE[1], TILE[0], 3), np.uint8))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet = np.vstack(rows) if rows else np.zeros((*TILE[::-1], 3), np.uint8)
    cv2.imwrite(str(out), sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return out


def _fit(image: np.ndarray) -> np.ndarray:
    """The image scaled into one tile, letterboxed in black."""
    import cv2

    h, w = image.shape[:2]
    s = min(TILE[0] / w, TILE[1] / h)
    small = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))))
    tile = np.zeros((TILE[1], TILE[0], 3), np.uint8)
    y, x = (TILE[1] - small.shape[0]) // 2, (TILE[0] - small.shape[1]) // 2
    tile[y : y + small.shape[0], x : x + small.shape[1]] = small
    return tile
