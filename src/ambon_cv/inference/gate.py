"""Change-gated inference: a view that has not changed since the detector last saw it keeps
that frame's detections instead of being inferred again.

Garbage is persistent change: a pile that appears changes the view and is inferred; a pile
that stays does not change it, and its reused detections keep feeding the alert engine at
every analysis slot, so presence and alerts go on exactly as if it had been inferred. Each
frame is reduced to a small blurred grey thumbnail (the luma plane is all it needs; a decoded
video frame hands it over without a colour conversion); a frame is "changed" when more than
`min_changed` of its thumbnail's pixels differ by more than `pixel_delta` grey levels from the
thumbnail of the last frame the detector saw.

With `persistent` (the default) a pixel counts only when it differed in the previous frame
looked at too: a passer-by is somewhere else one analysis period later, a pile is still there,
so people walking through a street do not each cost an inference, and a new pile is inferred
one analysis period after it appeared. A view is inferred again at least every `refresh_s`
whatever happens, so a drift below the threshold cannot hide for long.

Example:
    >>> import numpy as np
    >>> from ambon_cv.config import ChangeGating
    >>> gate = ChangeGate(ChangeGating())
    >>> street = np.full((360, 640), 90, np.uint8)
    >>> gate.needs_inference("cam", 0.0, street), gate.needs_inference("cam", 2.0, street)
    (True, False)
    >>> street[100:140, 300:340] = 200  # something new, 40 px across ...
    >>> gate.needs_inference("cam", 4.0, street)  # ... seen once: perhaps a passer-by
    False
    >>> gate.needs_inference("cam", 6.0, street)  # still there
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ambon_cv.config import ChangeGating


def thumbnail(image: np.ndarray, width: int) -> np.ndarray:
    """A blurred grey copy `width` pixels wide (BGR or grey in), in the image's proportions."""
    import cv2

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    small = cv2.resize(grey, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (3, 3), 0)  # sensor and compression noise is not change


@dataclass
class Look:
    """One frame as the gate saw it: whether the detector must see it."""

    stream: str
    t: float
    thumb: np.ndarray
    changed: bool


@dataclass
class ChangeGate:
    """Per-stream memory of what the detector last saw. `look(stream, t, image)` says whether
    a frame must be inferred; `saw(look)` records a frame the detector did take (a frame
    dropped before inference must not become the reference)."""

    settings: ChangeGating
    views: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)  # reference, when
    previous: dict[str, np.ndarray] = field(default_factory=dict)  # the last frame looked at
    checked: int = 0
    skipped: int = 0

    def look(self, stream: str, t: float, image: np.ndarray) -> Look:
        s = self.settings
        self.checked += 1
        if not s.enabled:  # every frame is inferred: nothing to compare
            return Look(stream, t, np.empty((0, 0), np.uint8), True)
        thumb = thumbnail(image, s.width)
        seen = self.views.get(stream)
        before = self.previous.get(stream)
        self.previous[stream] = thumb
        if seen is None or seen[0].shape != thumb.shape:
            return Look(stream, t, thumb, True)
        if t - seen[1] >= s.refresh_s:
            return Look(stream, t, thumb, True)
        moved = _absdiff(thumb, seen[0]) > s.pixel_delta
        if s.persistent and before is not None and before.shape == thumb.shape:
            moved &= _absdiff(before, seen[0]) > s.pixel_delta
        changed = float(np.mean(moved)) > s.min_changed
        self.skipped += not changed
        return Look(stream, t, thumb, changed)

    def saw(self, look: Look) -> None:
        self.views[look.stream] = (look.thumb, look.t)

    def needs_inference(self, stream: str, t: float, image: np.ndarray) -> bool:
        """`look`, and `saw` when it must be inferred (for callers that infer what it asks)."""
        look = self.look(stream, t, image)
        if look.changed:
            self.saw(look)
        return look.changed

    @property
    def skipped_share(self) -> float | None:
        return round(self.skipped / self.checked, 4) if self.checked else None


def _absdiff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.absdiff(a, b)
