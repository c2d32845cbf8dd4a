"""95% intervals for the small counts real-footage checks rest on: a rate of events in hours of
footage (exact Poisson, Garwood), and a share of clips (Wilson). One false alert in 48 s is
"75 per camera-hour", and also anything from 1.9 to 418: the interval says so.

Example:
    >>> lo, hi = rate_interval(1, 48 / 3600)
    >>> round(lo, 1), round(hi, 1)
    (1.9, 417.9)
    >>> [round(v, 3) for v in share_interval(8, 10)]
    [0.49, 0.943]
"""

from __future__ import annotations

import math


def rate_interval(events: int, hours: float, level: float = 0.95) -> tuple[float, float] | None:
    """The exact Poisson interval of `events` in `hours`, per hour; None without footage."""
    from scipy.stats import chi2

    if hours <= 0:
        return None
    a = 1 - level
    lo = chi2.ppf(a / 2, 2 * events) / 2 if events else 0.0
    hi = chi2.ppf(1 - a / 2, 2 * events + 2) / 2
    return float(lo / hours), float(hi / hours)


def share_interval(hits: int, n: int, level: float = 0.95) -> tuple[float, float] | None:
    """The Wilson interval of `hits` out of `n`; None when `n` is 0."""
    from scipy.stats import norm

    if n <= 0:
        return None
    z = float(norm.ppf(1 - (1 - level) / 2))
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def fmt_interval(bounds: tuple[float, float] | None, digits: int = 2) -> str:
    """`[lo, hi]` for a report, `n/a` for none.

    >>> fmt_interval((0.123, 4.5)), fmt_interval(None)
    ('[0.12, 4.50]', 'n/a')
    """
    return "n/a" if bounds is None else f"[{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"
