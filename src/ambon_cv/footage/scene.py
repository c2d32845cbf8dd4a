"""Fixed CCTV views of the synthetic city: the static background of one camera, its perspective,
and the places where things happen (walkways, road, bins, dumping spots, a fight hot spot).

A scene is built once per camera from its registry `view` (street, alley, market, office_front)
and a seeded generator, so the same camera always looks the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

SIGN_FONT = cv2.FONT_HERSHEY_SIMPLEX  # Hershey fonts are built into OpenCV: nothing to download


@dataclass
class Scene:
    """One camera's fixed view."""

    width: int
    height: int
    horizon: float  # image row of the vanishing line
    vanish_x: float
    plate: np.ndarray  # the empty view, BGR uint8, in daylight
    walk_rows: tuple[float, float]  # foot rows where people walk
    road_rows: tuple[float, float] | None  # foot rows where vehicles drive (None: no road)
    bin_spots: list[tuple[float, float]] = field(default_factory=list)
    dump_spots: list[tuple[float, float]] = field(default_factory=list)
    fight_spot: tuple[float, float] = (0.0, 0.0)
    lamps: list[tuple[float, float]] = field(default_factory=list)
    crowd: float = 1.0  # how busy the place is

    def person_height(self, foot_y: float) -> float:
        """Height in pixels of a standing adult whose feet are at image row `foot_y`."""
        return max(4.0, 0.50 * self.height * (foot_y - self.horizon) / (self.height - self.horizon))


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int, amp: float) -> np.ndarray:
    small = rng.normal(0, amp, (max(2, h * cells // w), cells)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _texture(rng, h, w, base, amp_low=14.0, amp_high=6.0) -> np.ndarray:
    """A procedural surface: the base colour, low-frequency blotches, fine grain."""
    low = _smooth_noise(rng, h, w, 12, amp_low)
    grain = rng.normal(0, amp_high, (h, w)).astype(np.float32)
    tex = np.asarray(base, np.float32)[None, None, :] + (low + grain)[..., None]
    return np.clip(tex, 0, 255).astype(np.uint8)


def _facades(rng, img, top, bottom, x0, x1, palette) -> None:
    x = x0
    while x < x1:
        bw = int(rng.integers(50, 130))
        bh_top = int(top + rng.integers(0, max(1, (bottom - top) // 2)))
        color = palette[int(rng.integers(len(palette)))]
        img[bh_top:bottom, x : min(x + bw, x1)] = _texture(
            rng, bottom - bh_top, min(x + bw, x1) - x, color, 8, 4
        )
        for wy in range(bh_top + 8, bottom - 14, 22):  # windows and shop fronts
            for wx in range(x + 6, min(x + bw, x1) - 12, 20):
                shade = int(rng.integers(30, 90))
                cv2.rectangle(img, (wx, wy), (wx + 9, wy + 12), (shade, shade, shade + 10), -1)
        cv2.line(img, (x, bh_top), (x, bottom), (40, 40, 40), 1)
        x += bw


def _ground(rng, img, horizon, color) -> None:
    h, w = img.shape[:2]
    img[horizon:] = _texture(rng, h - horizon, w, color, 10, 7)


def _perspective_lines(img, vx, horizon, xs_bottom, color, thickness=2, dashed=False) -> None:
    h = img.shape[0]
    for xb in xs_bottom:
        if not dashed:
            cv2.line(img, (int(vx), horizon), (int(xb), h), color, thickness, cv2.LINE_AA)
            continue
        for t0 in np.arange(0.05, 1.0, 0.12):
            t1 = t0 + 0.06
            p0 = (int(vx + (xb - vx) * t0), int(horizon + (h - horizon) * t0))
            p1 = (int(vx + (xb - vx) * t1), int(horizon + (h - horizon) * t1))
            cv2.line(img, p0, p1, color, thickness, cv2.LINE_AA)


def build_scene(view: str, width: int, height: int, rng: np.random.Generator, sign: str) -> Scene:
    """The empty view of one camera.

    Args:
        view: the registry's view kind: street, alley, market or office_front.
        sign: text painted on the scene (an office's name board), Latin letters.
    """
    w, h = width, height
    sky = _texture(rng, h, w, (200, 180, 150), 10, 2)  # BGR: hazy tropical sky
    img = sky.copy()
    palette = [(170, 190, 210), (120, 150, 190), (200, 200, 180), (150, 170, 120), (180, 140, 160)]

    if view == "alley":
        horizon = int(h * rng.uniform(0.30, 0.38))
        vx = w * rng.uniform(0.42, 0.58)
        _ground(rng, img, horizon, (95, 100, 105))
        left = np.array(
            [
                [0, 0],
                [int(vx - 0.06 * w), 0],
                [int(vx - 0.04 * w), horizon + 4],
                [int(0.20 * w), h],
                [0, h],
            ]
        )
        right = np.array(
            [
                [w, 0],
                [int(vx + 0.06 * w), 0],
                [int(vx + 0.04 * w), horizon + 4],
                [int(0.80 * w), h],
                [w, h],
            ]
        )
        for poly in (left, right):
            wall = _texture(rng, h, w, palette[int(rng.integers(len(palette)))], 16, 6)
            stencil = np.zeros((h, w), np.uint8)
            cv2.fillPoly(stencil, [poly], 255)
            img[stencil > 0] = wall[stencil > 0]
        _perspective_lines(img, vx, horizon, [0.2 * w, 0.8 * w], (60, 60, 60), 2)
        walk = (horizon + 0.25 * (h - horizon), h - 4.0)
        road = None
        bins = [(0.27 * w, horizon + 0.78 * (h - horizon))]
        dumps = [(0.70 * w, horizon + 0.70 * (h - horizon))]
        fight = (vx, horizon + 0.55 * (h - horizon))
        lamps = [(0.22 * w, horizon * 0.6), (0.76 * w, horizon * 0.9)]
        crowd = 0.8
    else:
        horizon = int(h * rng.uniform(0.28, 0.36))
        vx = w * rng.uniform(0.35, 0.65)
        _facades(rng, img, int(horizon * 0.15), horizon + 6, 0, w, palette)
        _ground(rng, img, horizon, (105, 108, 110))
        # sidewalk (near band) and the road behind it, drawn as perspective bands
        side_top = horizon + int(0.55 * (h - horizon))
        img[side_top:] = _texture(rng, h - side_top, w, (150, 160, 165), 6, 6)
        cv2.line(img, (0, side_top), (w, side_top), (90, 95, 100), 2)
        for xs in range(0, w, 36):  # paving joints
            cv2.line(img, (xs, side_top), (int(vx + (xs - vx) * 1.6), h), (125, 132, 138), 1)
        mid = horizon + int(0.28 * (h - horizon))
        for x0 in range(-w, 2 * w, 90):  # road centre dashes
            cv2.line(img, (x0, mid), (x0 + 40, mid), (210, 215, 215), 2)
        walk = (side_top + 6.0, h - 4.0)
        road = (horizon + 0.12 * (h - horizon), side_top - 4.0)
        bins = [(w * rng.uniform(0.08, 0.25), side_top + 0.30 * (h - side_top))]
        dumps = [(w * rng.uniform(0.60, 0.85), side_top + 0.55 * (h - side_top))]
        fight = (w * rng.uniform(0.40, 0.60), side_top + 0.35 * (h - side_top))
        lamps = [(x, horizon * 0.55) for x in np.linspace(0.1 * w, 0.9 * w, 3)]
        crowd = 1.0
        if view == "market":
            crowd = 1.8
            for x0 in range(0, w, 70):  # stalls with striped awnings along the facades
                a = (int(x0), int(horizon - 6))
                colors = [(40, 40, 200), (200, 200, 200), (40, 160, 40), (200, 120, 40)]
                for k in range(4):
                    cv2.rectangle(
                        img,
                        (a[0] + k * 16, a[1] - 16),
                        (a[0] + k * 16 + 15, a[1]),
                        colors[(k + x0 // 70) % len(colors)],
                        -1,
                    )
                cv2.rectangle(img, (a[0] + 4, a[1]), (a[0] + 58, a[1] + 12), (60, 90, 120), -1)
        elif view == "office_front":
            crowd = 0.7
            top = int(horizon * 0.25)
            x0, x1 = int(0.15 * w), int(0.85 * w)
            img[top : horizon + 6, x0:x1] = _texture(
                rng, horizon + 6 - top, x1 - x0, (215, 225, 230), 5, 3
            )
            cv2.rectangle(img, (x0 + 10, top + 6), (x1 - 10, top + 26), (90, 60, 20), -1)
            scale = 0.45 * w / 640
            cv2.putText(
                img,
                sign[:38],
                (x0 + 16, top + 22),
                SIGN_FONT,
                scale,
                (240, 240, 240),
                1,
                cv2.LINE_AA,
            )
            for fx in range(x0, x1, 8):  # fence
                cv2.line(img, (fx, horizon - 10), (fx, horizon + 6), (50, 60, 60), 1)
            bins = [
                (0.20 * w, side_top + 0.25 * (h - side_top)),
                (0.32 * w, side_top + 0.25 * (h - side_top)),
            ]
            dumps = [
                (0.45 * w, side_top + 0.45 * (h - side_top)),
                (0.75 * w, side_top + 0.60 * (h - side_top)),
            ]
    return Scene(
        width=w,
        height=h,
        horizon=float(horizon),
        vanish_x=float(vx),
        plate=img,
        walk_rows=walk,
        road_rows=road,
        bin_spots=bins,
        dump_spots=dumps,
        fight_spot=fight,
        lamps=lamps,
        crowd=crowd,
    )
