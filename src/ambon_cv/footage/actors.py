"""What moves and stays in the synthetic city: people (articulated figures that walk, stand,
fight), motorbikes and cars, bins that overflow, garbage piles that grow.

Every actor draws itself twice with the same primitives: in colour on the frame and with its
object id on the object-id mask, so ground-truth boxes come from the pixels actually drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from ambon_cv.footage.scene import Scene

AA = cv2.LINE_AA
SHIRTS = [
    (40, 40, 180),
    (180, 60, 40),
    (230, 230, 230),
    (30, 30, 30),
    (40, 140, 40),
    (0, 160, 220),
    (120, 40, 120),
    (200, 170, 60),
    (90, 90, 90),
]
PANTS = [(40, 30, 20), (70, 60, 50), (120, 90, 40), (30, 30, 30), (150, 150, 140)]
SKIN = [(60, 90, 140), (80, 120, 170), (50, 75, 110), (90, 130, 190)]
BAGS = [(30, 30, 30), (50, 50, 45), (200, 200, 200), (40, 40, 160), (150, 110, 40), (60, 110, 60)]


def _line(img, mask, oid, p, q, color, thick) -> None:
    p = (int(round(p[0])), int(round(p[1])))
    q = (int(round(q[0])), int(round(q[1])))
    t = max(1, int(round(thick)))
    cv2.line(img, p, q, color, t, AA)
    cv2.line(mask, p, q, oid, t, cv2.LINE_8)


def _circle(img, mask, oid, c, r, color) -> None:
    c = (int(round(c[0])), int(round(c[1])))
    r = max(1, int(round(r)))
    cv2.circle(img, c, r, color, -1, AA)
    cv2.circle(mask, c, r, oid, -1, cv2.LINE_8)


def _ellipse(img, mask, oid, c, axes, angle, color) -> None:
    c = (int(round(c[0])), int(round(c[1])))
    axes = (max(1, int(round(axes[0]))), max(1, int(round(axes[1]))))
    cv2.ellipse(img, c, axes, angle, 0, 360, color, -1, AA)
    cv2.ellipse(mask, c, axes, angle, 0, 360, oid, -1, cv2.LINE_8)


def _rect(img, mask, oid, p, q, color) -> None:
    p = (int(round(p[0])), int(round(p[1])))
    q = (int(round(q[0])), int(round(q[1])))
    cv2.rectangle(img, p, q, color, -1)
    cv2.rectangle(mask, p, q, oid, -1)


def _limb(origin, angle_deg, length):
    a = math.radians(angle_deg)
    return (origin[0] + length * math.sin(a), origin[1] + length * math.cos(a))


@dataclass
class Look:
    shirt: tuple
    pants: tuple
    skin: tuple
    size: float  # relative body height

    @classmethod
    def random(cls, rng: np.random.Generator) -> Look:
        pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
        return cls(pick(SHIRTS), pick(PANTS), pick(SKIN), float(rng.uniform(0.85, 1.08)))


def draw_person(
    img,
    mask,
    oid,
    x,
    y,
    height,
    look: Look,
    pose: str,
    phase: float,
    facing: int,
    lean: float = 0.0,
) -> None:
    """An articulated figure with feet at (x, y).

    pose: "walk" (legs and arms swing with `phase`), "stand", or "fight" (arms raised and
    flailing, wide stance, leaning by `lean` toward the opponent).
    """
    h = height * look.size
    hip = (x + lean * 0.10 * h, y - 0.50 * h)
    neck = (x + lean * 0.25 * h, y - 0.82 * h)
    head = (neck[0] + lean * 0.03 * h, neck[1] - 0.09 * h)
    limb_w, torso_w = 0.055 * h, 0.13 * h
    thigh = shin = 0.25 * h
    upper, fore = 0.17 * h, 0.16 * h
    s = math.sin(phase)
    if pose == "walk":
        legs = [(28 * s, 10 + 12 * max(0, s)), (-28 * s, 10 + 12 * max(0, -s))]
        arms = [(-24 * s, 10), (24 * s, 10)]
    elif pose == "fight":
        f1, f2 = math.sin(phase * 3.1), math.sin(phase * 2.3 + 1.0)
        legs = [(22 + 6 * f1, 8), (-22 - 6 * f2, 8)]
        arms = [
            (facing * (120 + 50 * f1), facing * (60 + 40 * f2)),
            (facing * (95 + 60 * f2), facing * (40 + 50 * f1)),
        ]
    else:
        legs = [(6, 2), (-6, 2)]
        arms = [(-8 + 4 * s, 6), (8 - 4 * s, 6)]
    for thigh_a, knee_bend in legs:  # legs first (behind the torso)
        knee = _limb(hip, facing * thigh_a, thigh)
        foot = _limb(knee, facing * (thigh_a - knee_bend), shin)
        _line(img, mask, oid, hip, knee, look.pants, limb_w * 1.3)
        _line(img, mask, oid, knee, foot, look.pants, limb_w * 1.1)
    _line(img, mask, oid, hip, neck, look.shirt, torso_w)
    for shoulder_a, elbow_bend in arms:
        shoulder = (neck[0], neck[1] + 0.03 * h)
        elbow = _limb(shoulder, shoulder_a, upper)
        hand = _limb(elbow, shoulder_a + elbow_bend, fore)
        _line(img, mask, oid, shoulder, elbow, look.shirt, limb_w)
        _line(img, mask, oid, elbow, hand, look.skin, limb_w * 0.9)
    _circle(img, mask, oid, head, 0.075 * h, look.skin)
    _ellipse(img, mask, oid, (head[0], head[1] - 0.04 * h), (0.075 * h, 0.04 * h), 0, (25, 25, 30))


# --- actors --------------------------------------------------------------------------------------


@dataclass
class Walker:
    """A passer-by crossing the view along a straight path, at a walking pace."""

    oid: int
    t0: float
    start: tuple[float, float]
    end: tuple[float, float]
    speed: float  # body heights per second
    look: Look
    stop_at: float | None = None  # fraction of the path where it pauses (dumping garbage)
    stop_for: float = 0.0
    cls: str | None = "person"

    def _length_s(self, scene: Scene) -> float:
        dist = math.dist(self.start, self.end)
        mean_h = scene.person_height((self.start[1] + self.end[1]) / 2)
        return dist / max(1e-6, self.speed * mean_h)

    def where(self, t: float, scene: Scene) -> tuple[float, float, str] | None:
        walk_s = self._length_s(scene)
        u = t - self.t0
        if u < 0 or u > walk_s + self.stop_for:
            return None
        pose = "walk"
        if self.stop_at is not None:
            stop_start = self.stop_at * walk_s
            if stop_start <= u < stop_start + self.stop_for:
                u, pose = stop_start, "stand"
            elif u >= stop_start + self.stop_for:
                u -= self.stop_for
        frac = u / walk_s
        x = self.start[0] + (self.end[0] - self.start[0]) * frac
        y = self.start[1] + (self.end[1] - self.start[1]) * frac
        return x, y, pose

    def depth(self, t: float, scene: Scene) -> float | None:
        pos = self.where(t, scene)
        return None if pos is None else pos[1]

    def draw(self, img, mask, t: float, scene: Scene) -> None:
        pos = self.where(t, scene)
        if pos is None:
            return
        x, y, pose = pos
        facing = 1 if self.end[0] >= self.start[0] else -1
        phase = (t - self.t0) * 2 * math.pi * 1.8
        draw_person(
            img, mask, self.oid, x, y, scene.person_height(y), self.look, pose, phase, facing
        )


@dataclass
class Vehicle:
    """A motorbike (with rider) or a car driving across the view."""

    oid: int
    t0: float
    row: float
    direction: int
    speed: float  # widths per second
    kind: str
    color: tuple
    rider: Look
    cls: str | None = None

    def _x(self, t: float, scene: Scene) -> float | None:
        u = t - self.t0
        length = scene.person_height(self.row) * (2.2 if self.kind == "car" else 1.0)
        span = scene.width + 2 * length
        if u < 0 or u * self.speed * scene.width > span:
            return None
        pos = -length + u * self.speed * scene.width
        return pos if self.direction > 0 else scene.width - pos

    def depth(self, t: float, scene: Scene) -> float | None:
        return None if self._x(t, scene) is None else self.row

    def draw(self, img, mask, t: float, scene: Scene) -> None:
        x = self._x(t, scene)
        if x is None:
            return
        y, ph = self.row, scene.person_height(self.row)
        if self.kind == "car":
            length, height = 2.2 * ph, 0.75 * ph
            _rect(
                img,
                mask,
                self.oid,
                (x - length / 2, y - 0.55 * height),
                (x + length / 2, y - 0.12 * height),
                self.color,
            )
            _rect(
                img,
                mask,
                self.oid,
                (x - length * 0.28, y - height),
                (x + length * 0.25, y - 0.5 * height),
                self.color,
            )
            cv2.rectangle(
                img,
                (int(x - length * 0.24), int(y - 0.95 * height)),
                (int(x + length * 0.21), int(y - 0.6 * height)),
                (70, 60, 50),
                -1,
            )
            for wx in (x - 0.32 * length, x + 0.32 * length):
                _circle(img, mask, self.oid, (wx, y - 0.12 * height), 0.13 * height, (20, 20, 20))
        else:
            r = 0.16 * ph
            for wx in (x - 0.38 * ph, x + 0.38 * ph):
                _circle(img, mask, self.oid, (wx, y - r), r, (25, 25, 25))
            _line(
                img,
                mask,
                self.oid,
                (x - 0.35 * ph, y - 1.6 * r),
                (x + 0.4 * ph, y - 2.2 * r),
                self.color,
                0.14 * ph,
            )
            seat = (x - 0.05 * ph, y - 0.45 * ph)
            _line(
                img,
                mask,
                self.oid,
                seat,
                (seat[0], seat[1] - 0.38 * ph),
                self.rider.shirt,
                0.12 * ph,
            )
            _circle(img, mask, self.oid, (seat[0], seat[1] - 0.47 * ph), 0.08 * ph, (30, 30, 160))


@dataclass
class Bin:
    """A street bin; from `overflow_at` on it is overfull, with waste heaped on and around it."""

    oid: int
    spot: tuple[float, float]
    color: tuple
    overflow_at: float = math.inf
    heap: list = field(default_factory=list)

    def overflowing(self, t: float) -> bool:
        return t >= self.overflow_at

    @property
    def cls(self) -> str:
        return "garbage_bin"

    def class_at(self, t: float) -> str:
        return "overflow" if self.overflowing(t) else "garbage_bin"

    def depth(self, t: float, scene: Scene) -> float:
        return self.spot[1]

    def draw(self, img, mask, t: float, scene: Scene) -> None:
        x, y = self.spot
        ph = scene.person_height(y)
        bw, bh = 0.32 * ph, 0.45 * ph
        _rect(img, mask, self.oid, (x - bw / 2, y - bh), (x + bw / 2, y), self.color)
        dark = tuple(int(c * 0.6) for c in self.color)
        cv2.rectangle(
            img, (int(x - bw / 2), int(y - bh)), (int(x + bw / 2), int(y - bh + 3)), dark, -1
        )
        if self.overflowing(t):
            for dx, dy, rx, ry, color in self.heap:
                _ellipse(
                    img,
                    mask,
                    self.oid,
                    (x + dx * bw, y - bh + dy * bh),
                    (rx * bw, ry * bh),
                    0,
                    color,
                )


@dataclass
class Pile:
    """Garbage dumped at a spot: bags appear one by one and stay until collected."""

    oid: int
    spot: tuple[float, float]
    bags: list  # (appear_t, dx, dy, rx, ry, angle, color)
    collected_at: float = math.inf
    cls: str = "garbage"

    def visible(self, t: float) -> bool:
        return t < self.collected_at and any(b[0] <= t for b in self.bags)

    def depth(self, t: float, scene: Scene) -> float | None:
        return self.spot[1] if self.visible(t) else None

    def draw(self, img, mask, t: float, scene: Scene) -> None:
        if not self.visible(t):
            return
        x, y = self.spot
        ph = scene.person_height(y)
        for appear, dx, dy, rx, ry, angle, color in self.bags:
            if appear <= t:
                c = (x + dx * ph, y + dy * ph)
                _ellipse(img, mask, self.oid, c, (rx * ph, ry * ph), angle, color)
                knot = (c[0], c[1] - ry * ph)
                _circle(
                    img,
                    mask,
                    self.oid,
                    knot,
                    max(1.0, 0.03 * ph),
                    tuple(int(v * 0.7) for v in color),
                )


@dataclass
class Fighter:
    """One person in a fight: walks in, grapples and flails near the others, walks off."""

    oid: int
    home: tuple[float, float]  # where it comes from and goes back to
    post: tuple[float, float]  # where it stands during the fight
    arrive: float
    fight_start: float
    fight_end: float
    leave_end: float
    look: Look
    role: str  # "fighter" or "onlooker"
    seed: float
    center_x: float  # the fight's centre, which everyone faces
    cls: str = "person"

    def where(self, t: float) -> tuple[float, float, str] | None:
        if t < self.arrive or t > self.leave_end:
            return None
        if t < self.fight_start:
            u = (t - self.arrive) / max(1e-6, self.fight_start - self.arrive)
            a, b, pose = self.home, self.post, "walk"
        elif t <= self.fight_end:
            if self.role == "onlooker":
                return self.post[0], self.post[1], "stand"
            j = 0.06 * math.sin(3.3 * t + self.seed), 0.03 * math.sin(2.1 * t + 2 * self.seed)
            return self.post[0] + j[0] * 40, self.post[1] + j[1] * 20, "fight"
        else:
            u = (t - self.fight_end) / max(1e-6, self.leave_end - self.fight_end)
            a, b, pose = self.post, self.home, "walk"
        return a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, pose

    def depth(self, t: float, scene: Scene) -> float | None:
        pos = self.where(t)
        return None if pos is None else pos[1]

    def draw(self, img, mask, t: float, scene: Scene) -> None:
        center_x = self.center_x
        pos = self.where(t)
        if pos is None:
            return
        x, y, pose = pos
        if pose == "fight":
            facing = 1 if center_x >= x else -1
            lean = facing * (0.4 + 0.3 * math.sin(4.0 * t + self.seed))
            phase = 2 * math.pi * 2.6 * t + self.seed
        else:
            target = self.post if t < self.fight_start else self.home
            facing = 1 if target[0] >= x else -1
            if pose == "stand":
                facing = 1 if center_x >= x else -1
            lean, phase = 0.0, 2 * math.pi * 1.8 * t
        draw_person(
            img, mask, self.oid, x, y, scene.person_height(y), self.look, pose, phase, facing, lean
        )
