"""One scheduler per worker: what its core spends on decoding, on the fight analytic and on
the detector, so a box past its capacity analyses as much as it can, fairly, instead of
decoding everything and analysing nothing.

Each plan (every `PLAN_EVERY_S`) takes the costs the worker measured on itself (a keyframe
decoded, a hot spot's full decoding plus its fight analytic per second, a detector frame from
conversion to detections) and its budget (`budget_cores` of its core, lowered while the worker
falls behind and raised back while it keeps up), and decides:

1. **The fight analytic**, on the hot spots in order of the registry's priority, as long as
   together they take what the detector at its full rates leaves of the budget, or
   `fight_share` of it when that is more (past capacity both cannot have all they ask); a hot
   spot left out is decoded at keyframes only until it is taken back (at its next keyframe),
   and counted as not covered.
2. **The detector's share**: every stream is analysed at the same fraction of its target rate,
   the most the rest of the budget pays for (1.0 when it all fits). Equal fractions are the
   fair share: no stream starves while another gets all it asks. Within one pass over the
   due slots the hot spots come first, then the registry's priority.
3. **A worker with time to spare takes more**: a detector slot's cost moves with the share
   itself (at a higher share a view changes less between slots, so more slots reuse their
   last detections, at a tenth of the cost), so the costs measured at a low share plan too
   low a share, and the worker sleeps past capacity. While it sleeps more than `IDLE` of a
   plan and keeps up, the share planned on costs is boosted, a little each plan; falling
   behind at two plans running, or a full frame queue, takes the boost back down (one late
   plan is a burst: at 440 streams on 2 cores a quarter of the plans were, and cutting the
   boost for each left the workers asleep 6-9% of the time, 82-89 frames/s analysed against
   90-99 when only a lasting lag cuts it). In single runs on 2 cores it
   raised the frames analysed at 210 streams from 29-35 to 42-49 a second, and at 128 from
   34-38 to mostly 41-55.
4. **No decoding nobody needs**: a keyframes-only stream decodes a keyframe only for an
   analysis slot, one per slot (at a share of 0.25, one keyframe in four), and a slot whose
   keyframe is decoded keeps its time when the share moves (`streams.Decoding`).
5. **The share moves by at most `STEP` of itself a plan** towards what the costs ask. The
   costs a plan measures move with the share (the gate, the batch sizes), and a share that
   followed them at once swung plan to plan at 440 streams on 2 cores (0.23 to 0.89 within
   seconds), moving every stream's slots each time (the frames taken for analysis still come
   in waves at 440 with the limit: README). Limited to 10% a plan, four single runs each,
   alternated with the unlimited share on an Intel Xeon (2026-12-07), analysed 96.0-120.85
   frames/s at 440 streams (mean 110.4) against 89.85-100.55 (95.1), and 87.25-102.65 at
   210 (98.1) against 92.95-101.45 (97.7).

Example:
    >>> from ambon_cv.bench.profiles import StreamProfile
    >>> quiet = StreamProfile("a", "a", "sub", "keyframes", 0.5, ("garbage",))
    >>> hot = StreamProfile("b", "b", "sub", "all", 0.5, ("garbage", "fight"), fight=True)
    >>> plan = Scheduler([quiet, hot] * 50, budget_cores=1.0, fight_share=0.5)
    >>> plan.plan(Costs(frame_s=0.01, keyframe_s=0.002, fight_s=0.05))
    >>> sum(plan.fight_on), round(plan.wanted, 2)  # 10 hot spots fit in half the budget
    (10, 0.85)
    >>> round(plan.share, 2)  # from 1.0, by at most 10% a plan
    0.9
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ambon_cv.bench.profiles import StreamProfile

PLAN_EVERY_S = 0.5
IDLE = 0.15  # past capacity, a worker asleep for more of a plan than this takes more slots
MOST_BOOST = 4.0  # the most the share may go above what the measured costs plan
STEP = 0.1  # the most a plan moves the detector's share, as a share of itself, either way


@dataclass
class Costs:
    """CPU seconds, as this worker measured them on itself."""

    frame_s: float  # one detector frame: BGR conversion, fit, inference, post-processing
    keyframe_s: float  # decoding one keyframe
    fight_s: float  # one hot spot, per second: decoding every frame + the fight analytic


class RecentCost:
    """A cost per unit over the last `plans` plans: the seconds they spent over the units
    they bought (CPU seconds per detector slot, per keyframe, per second of a hot spot). One
    plan's own figure is too noisy to plan on: the detector's CPU comes in batches, and a
    plan's half second holds one or two of them.

    Example:
        >>> cost = RecentCost(plans=4)
        >>> [round(cost.add(s, n, 0.01), 3) for s, n in [(0.0, 0), (0.27, 16), (0.01, 10)]]
        [0.01, 0.017, 0.011]
    """

    def __init__(self, plans: int = 8) -> None:
        self._recent: deque[tuple[float, float]] = deque(maxlen=plans)

    def add(self, seconds: float, units: float, estimate: float) -> float:
        """One plan's `seconds` spent on `units`; returns the cost per unit over the recent
        plans (`estimate` while none bought any)."""
        self._recent.append((seconds, units))
        bought = sum(n for _, n in self._recent)
        return sum(s for s, _ in self._recent) / bought if bought > 0 else estimate


class Scheduler:
    def __init__(
        self,
        profiles: list[StreamProfile],
        budget_cores: float = 0.9,
        fight_share: float = 0.6,
        detector_here: bool = True,
    ) -> None:
        self.profiles = profiles
        self.budget_cores, self.fight_share = budget_cores, fight_share
        self.detector_here = detector_here  # False: another process infers (central layout)
        self.pressure = 1.0  # the share of the budget the worker can really use (feedback)
        self._behind = 0  # plans running at which the worker was behind
        self.boost = 1.0  # past capacity, the detector's share over what the costs plan (3.)
        self.share = 1.0  # what the streams get now: it moves towards `wanted` (5.)
        self.wanted = 1.0  # what the costs, the budget and the boost ask for
        self.fight_on = [p.fight for p in profiles]
        # the order slots are served in a pass, and hot spots taken for the fight analytic
        self.order = sorted(
            range(len(profiles)), key=lambda i: (not profiles[i].fight, -profiles[i].priority, i)
        )

    def plan(self, costs: Costs) -> None:
        """Decide the fight analytic's hot spots and the detector's share from `costs`."""
        budget = self.budget_cores * self.pressure
        full = self._detector_need(costs, [p.fight for p in self.profiles])
        fight_budget = max(budget * self.fight_share, budget - full)
        spent = 0.0
        for i in self.order:
            if not self.profiles[i].fight:
                continue
            self.fight_on[i] = spent + costs.fight_s <= fight_budget
            spent += costs.fight_s if self.fight_on[i] else 0.0
        if not self.detector_here:
            self.share = 1.0
            return
        per_target = self._detector_need(costs, self.fight_on)
        left = max(0.0, budget - spent)
        if per_target <= left:
            self.wanted = 1.0
        else:
            self.wanted = min(1.0, max(0.01, self.boost * left / per_target))
        self.share = min(max(self.wanted, self.share * (1 - STEP)), self.share * (1 + STEP))

    def _detector_need(self, costs: Costs, fight_on: list[bool]) -> float:
        """Cores the detector needs at every stream's full rate; a detector frame of a stream
        decoded at keyframes only also pays for its keyframe (a hot spot decoded in full for
        its fight analytic has its frames decoded already)."""
        return sum(
            p.rate_fps * (costs.frame_s + (0.0 if on else costs.keyframe_s))
            for p, on in zip(self.profiles, fight_on, strict=True)
        )

    def feedback(self, behind: bool, idle: float = 0.0, crowded: bool = False) -> None:
        """`behind`: the worker's frames came later than they were due since the last plan;
        `idle`: the share of the plan it slept; `crowded`: frames were dropped on a full queue.
        Lower the usable budget while it falls behind, raise it back while it keeps up.
        Behind is the one sign that holds whatever the cause: costs above the estimates, a
        core shared with others, a CPU quota (then the worker is behind without being busy).
        Only a worker behind at two plans running is lowered, its budget and its boost: one
        late plan is a burst (a big batch, keyframes coming together), and shedding a hot
        spot for it costs its fight analytic seconds of motion to refill its window.

        Example:
            >>> s = Scheduler([])
            >>> s.feedback(True); s.pressure  # one late plan: a burst
            1.0
            >>> s.feedback(True); s.pressure  # still behind: lower the budget
            0.85
        """
        self._behind = self._behind + 1 if behind else 0
        if self._behind >= 2:
            self.pressure = max(0.05, self.pressure * 0.85)
        elif not behind:
            self.pressure = min(1.0, self.pressure * 1.1)
        if self._behind >= 2 or crowded:
            self.boost = max(1.0, self.boost * 0.9)
        elif idle > IDLE and self.wanted < 1.0:  # past capacity with time to spare
            self.boost = min(MOST_BOOST, self.boost * (1.0 + idle / 4))

    @property
    def fights_covered(self) -> int:
        return sum(self.fight_on)
