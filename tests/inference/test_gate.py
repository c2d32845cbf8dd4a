"""Change-gated inference: an unchanged view skips the detector, a change that stays
triggers it, a passer-by does not, and every view is inferred again now and then."""

from __future__ import annotations

import numpy as np

from ambon_cv.config import ChangeGating
from ambon_cv.inference.gate import ChangeGate, thumbnail


def _street(seed: int = 0) -> np.ndarray:
    """A 360p BGR street with sensor noise (different every frame, never a change)."""
    rng = np.random.default_rng(seed)
    base = np.tile(np.linspace(40, 200, 640, dtype=np.float32), (360, 1))
    noise = rng.normal(0, 4, (360, 640))
    grey = np.clip(base + noise, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _with_pile(image: np.ndarray, x: int = 300, size: int = 24) -> np.ndarray:
    out = image.copy()
    out[200 : 200 + size, x : x + size] = (10, 30, 20)  # dark bags on a lighter street
    return out


def test_an_unchanged_view_skips_and_a_pile_that_stays_triggers():
    gate = ChangeGate(ChangeGating())
    assert gate.needs_inference("cam", 0.0, _street(0))  # first sight: inferred
    assert not gate.needs_inference("cam", 2.0, _street(1))  # noise only
    assert not gate.needs_inference("cam", 4.0, _with_pile(_street(2)))  # new: seen once
    assert gate.needs_inference("cam", 6.0, _with_pile(_street(3)))  # still there
    assert not gate.needs_inference("cam", 8.0, _with_pile(_street(4)))  # the new reference
    assert gate.needs_inference("cam", 10.0, _street(5)) is False  # gone, seen once
    assert gate.needs_inference("cam", 12.0, _street(6))  # still gone: inferred
    assert gate.skipped == 4 and gate.checked == 7


def test_a_passer_by_is_not_a_change():
    gate = ChangeGate(ChangeGating())
    gate.needs_inference("cam", 0.0, _street(0))
    walked = [_with_pile(_street(k), x=40 + 120 * k) for k in range(1, 5)]  # somewhere else
    assert not any(gate.needs_inference("cam", 2.0 * k, f) for k, f in enumerate(walked, 1))


def test_without_persistence_any_change_triggers():
    gate = ChangeGate(ChangeGating(persistent=False))
    gate.needs_inference("cam", 0.0, _street(0))
    assert gate.needs_inference("cam", 2.0, _with_pile(_street(1)))


def test_every_view_is_inferred_again_after_refresh_s():
    gate = ChangeGate(ChangeGating(refresh_s=10))
    assert gate.needs_inference("cam", 0.0, _street(0))
    assert not gate.needs_inference("cam", 9.0, _street(1))
    assert gate.needs_inference("cam", 10.5, _street(2))


def test_a_frame_the_detector_never_saw_is_not_the_reference():
    gate = ChangeGate(ChangeGating(persistent=False))
    gate.saw(gate.look("cam", 0.0, _street(0)))
    look = gate.look("cam", 2.0, _with_pile(_street(1)))
    assert look.changed  # ... but dropped before inference: not recorded with `saw`
    assert gate.look("cam", 4.0, _with_pile(_street(2))).changed  # still a change


def test_streams_are_gated_apart_and_off_means_always():
    gate = ChangeGate(ChangeGating())
    gate.needs_inference("a", 0.0, _street(0))
    assert gate.needs_inference("b", 0.0, _street(0))  # another camera: its own first sight
    off = ChangeGate(ChangeGating(enabled=False))
    assert all(off.needs_inference("a", float(t), _street(0)) for t in range(3))


def test_the_thumbnail_is_the_same_from_bgr_or_the_luma_plane():
    image = _street(0)
    grey = image[..., 0]
    a, b = thumbnail(image, 160), thumbnail(grey, 160)
    assert a.shape == b.shape == (90, 160)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
