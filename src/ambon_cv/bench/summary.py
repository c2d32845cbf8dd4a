"""A load run in numbers, and whether it meets the service level (params bench.slo)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ambon_cv.bench.harness import LoadResult
from ambon_cv.bench.records import FrameRecord


def _delta(end: dict, start: dict, key: str) -> float:
    return float(end.get(key, 0)) - float(start.get(key, 0))


def slots_in(origin: float, period: float, lo: float, hi: float) -> int:
    """How many of the slots origin, origin + period, ... fall in [lo, hi).

    >>> slots_in(0.0, 2.0, 1.0, 4.0), slots_in(0.0, 2.0, 0.5, 3.5), slots_in(5.0, 2.0, 0.0, 9.0)
    (1, 1, 2)
    """
    first = max(0, math.ceil((lo - origin) / period - 1e-9))
    last = math.ceil((hi - origin) / period - 1e-9)  # the first at or past hi
    return max(0, last - first)


def _targets(profile, end: dict, window: tuple[float, float], seconds: float) -> float:
    """The stream's slots at its full target rate inside the measured window: an exact count
    from its slot grid (the rate times the seconds where the worker did not report one)."""
    period = float(end.get("period") or 0.0)
    if period > 0 and window[1] > window[0]:
        return float(slots_in(float(end["origin"]), period, *window))
    return profile.rate_fps * seconds


def summarise(result: LoadResult, slo) -> dict:
    """Per-stream and overall figures of one run; `slo` is params bench.slo."""
    seconds = max(result.seconds, 1e-9)
    fields = len(FrameRecord._fields)
    recs = np.array(result.records, dtype=np.float64).reshape(-1, fields)
    sid, captured, queued, started, done, infer_s, post_s, batch, _ = (
        recs.T if len(recs) else [np.zeros(0)] * fields
    )
    per_stream = []
    totals = Counter()
    for i, p in enumerate(result.profiles):
        end = result.stats_end.get(p.name, {})
        start = result.stats_start.get(p.name, {})
        d = {k: _delta(end, start, k) for k in ("due", "missed", "full", "sent", "decoded",
                                                "decode_s", "convert_s", "overwritten",
                                                "reconnects", "errors", "fight_s",
                                                "fight_windows", "fight_alerts", "reused",
                                                "fight_off_s", "skipped_keyframes",
                                                "late_skips")}  # fmt: skip
        totals.update(d)
        analysed = int((sid == i).sum())
        targets = _targets(p, end, result.window, seconds)
        totals["targets"] += targets
        per_stream.append(
            {
                "stream": p.name,
                "camera": p.camera,
                "decode": p.decode,
                "target_fps": p.rate_fps,
                "analysed_fps": round(analysed / seconds, 3),
                # of the slots its target rate put in the window (where none fell in it, it
                # got all it was due)
                "ratio": round(analysed / targets, 3) if targets else 1.0,
                "reconnects": int(d["reconnects"]),
                "errors": int(d["errors"]),
                "last_error": end.get("last_error", ""),
                "dropped": int(d["missed"] + d["full"]),
                "due": int(d["due"]),
                "reused": int(d["reused"]),
                # CPU-seconds per second it would cost beside the detector when served in
                # full: decoding and the fight analytic, over the time its analytic ran (a
                # hot spot) or scaled up from the share of slots it was given (keyframes)
                "fixed_core": round(_full_cost(p, d, seconds, end.get("share", 1.0)), 5),
                "share": end.get("share", 1.0),
                # a hot spot: the share of the window its fight analytic ran (not shed)
                "fight_coverage": (
                    round(max(0.0, 1 - d["fight_off_s"] / seconds), 3) if p.fight else None
                ),
                "fight_windows": int(d["fight_windows"]),
            }
        )
    latency = (done - captured) * 1000
    inferred = batch > 0  # a gated slot reused its last detections (batch 0)
    served = totals["sent"] + totals["reused"]
    ratios = [p["ratio"] for p in per_stream]
    target = sum(p.rate_fps for p in result.profiles)
    analysed_fps = len(recs) / seconds
    due = totals["due"]
    out = {
        "mode": result.mode,
        "streams": len(result.profiles),
        "seconds": round(result.seconds, 1),
        "warmup_s": result.warmup_s,  # until every stream had settled (harness.settled)
        "interrupted": result.interrupted,
        "target_fps": round(target, 2),
        "analysed_fps": round(analysed_fps, 2),
        # analysed over the slots the target rates put in the window, every stream together
        "analysed_ratio": round(len(recs) / totals["targets"], 4) if totals["targets"] else None,
        "drop_rate": round((totals["missed"] + totals["full"]) / due, 4) if due else None,
        "dropped": {"missed": int(totals["missed"]), "queue_full": int(totals["full"])},
        "latency_ms": {
            f"p{q}": round(float(np.percentile(latency, q)), 1) if len(latency) else None
            for q in (50, 95, 99)
        },
        "stage_ms": {
            "decode": _per(totals["decode_s"], totals["decoded"]),
            "convert": _per(totals["convert_s"], totals["sent"]),
            "queue": _mean_ms(started - queued, inferred),
            "infer": _mean_ms(infer_s, inferred),
            "post": _mean_ms(post_s, inferred),
        },
        "mean_batch": round(float(np.mean(batch[inferred])), 2) if inferred.any() else None,
        # CPU-seconds per analysis slot served: looked at, converted, and inferred when changed
        "slot_s": (
            round((totals["convert_s"] + float(np.sum(infer_s + post_s))) / len(recs), 6)
            if len(recs)
            else None
        ),
        "gated_share": round(totals["reused"] / served, 4) if served else None,
        "least_served_ratio": min(ratios) if ratios else None,
        "most_served_ratio": max(ratios) if ratios else None,
        "decoded_fps": round(totals["decoded"] / seconds, 1),
        "late_skipped_fps": round(totals["late_skips"] / seconds, 1),
        "cpu_percent": round(float(np.mean(result.cpu_percent)), 1) if result.cpu_percent else None,
        "peak_memory_gb": _peak_gb(result.memory_bytes),  # the load's processes (PSS)
        "controller_memory_gb": _peak_gb(result.controller_bytes),  # the harness, beside it
        "reconnects": int(totals["reconnects"]),
        "stream_errors": int(totals["errors"]),
        "alerts": {
            **dict(Counter(a.kind for a in result.alerts)),
            **({"fight": int(totals["fight_alerts"])} if totals["fight_windows"] else {}),
        },
        "fight_analytic": _fight_load(result, totals, seconds),
        "per_stream": per_stream,
        "latencies_ms": latency.round(1).tolist(),
    }
    out["slo"] = verdict(out, slo)
    return out


def _full_cost(profile, d: dict, seconds: float, share: float) -> float:
    if profile.fight:
        return (d["decode_s"] + d["fight_s"]) / max(seconds - d["fight_off_s"], 0.1 * seconds)
    return d["decode_s"] / seconds / max(share, 0.05)


def _mean_ms(values: np.ndarray, keep: np.ndarray) -> float | None:
    return round(float(np.mean(values[keep])) * 1000, 2) if keep.any() else None


def _fight_load(result: LoadResult, totals: Counter, seconds: float) -> dict | None:
    """The streaming fight analytic in this run: its hot-spot streams, the windows it scored,
    what it cost in CPU-cores per hot-spot stream (beside their decoding), and the share of
    hot-spot time it ran (the rest was shed by an overloaded worker's scheduler)."""
    hot = [p for p in result.profiles if p.fight]
    if not hot or not (totals["fight_windows"] or totals["fight_off_s"]):
        return None  # no fight analytic in this load
    return {
        "streams": len(hot),
        "windows_per_s": round(totals["fight_windows"] / seconds, 2),
        "core_per_stream": round(totals["fight_s"] / seconds / len(hot), 4),
        "coverage": round(max(0.0, 1 - totals["fight_off_s"] / (seconds * len(hot))), 4),
    }


def _peak_gb(samples: list[int]) -> float | None:
    return round(max(samples) / 2**30, 3) if samples else None


def _per(total_s: float, count: float) -> float | None:
    return round(total_s / count * 1000, 3) if count else None


def verdict(s: dict, slo) -> dict:
    checks = {
        "p95_latency": (s["latency_ms"]["p95"], slo.p95_latency_ms, "<="),
        "analysed_ratio": (s["analysed_ratio"], slo.min_analysed_ratio, ">="),
        "drop_rate": (s["drop_rate"], slo.max_drop_rate, "<="),
        "memory_gb": (s["peak_memory_gb"], slo.max_memory_gb, "<="),
    }
    if s.get("fight_analytic"):  # the hot spots' fight analytic is analysis too
        checks["fight_coverage"] = (s["fight_analytic"]["coverage"], slo.min_analysed_ratio, ">=")
    failed = []
    for name, (value, bound, op) in checks.items():
        ok = value is not None and (value <= bound if op == "<=" else value >= bound)
        if not ok:
            failed.append(f"{name} {value} (needs {op} {bound})")
    if s["interrupted"]:
        failed.append("interrupted")
    return {"pass": not failed, "failed": failed}
