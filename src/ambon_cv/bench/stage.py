"""`ambon bench` and `ambon bench sweep`: the command center's live load against an exported
model, with a verdict.

- `bench()`: one run at params bench.streams (55: every camera of the registry), from recorded
  clips replayed live, the harness's own RTSP server (`source: rtsp`) or the cameras' real URLs
  (`source: cameras`); writes reports/bench/run.{json,md}.
- `sweep()`: the stream count stepped up for the pipeline and for the naive baseline, the most
  streams each holds within the SLO, their ratio, the costs of decoding and inference measured
  alone and the efficiency against the bound they set, and the verdict at 55 streams; writes
  reports/bench.{json,md} (DVC metrics) and plots in reports/bench/.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import numpy as np

from ambon_cv import plots
from ambon_cv.bench import costs, emulate
from ambon_cv.bench.harness import BenchError, run_load
from ambon_cv.bench.pipeline import PipelineConfig
from ambon_cv.bench.profiles import StreamProfile, stream_profiles
from ambon_cv.bench.streams import StreamSource
from ambon_cv.bench.summary import summarise
from ambon_cv.config import CameraRegistry, Params
from ambon_cv.contract import StageIO, StageParams, StageResult, stage_result
from ambon_cv.fights.analytic import incident_rules
from ambon_cv.fights.classifier import FightModel
from ambon_cv.fights.motion import live_flow_fps
from ambon_cv.machine import cpu_line
from ambon_cv.metrics import write_report, write_table
from ambon_cv.paths import project_root, under_root, write_json
from ambon_cv.redact import redact, redact_all


def _model(params: Params, root: Path, model: str | None) -> str:
    chosen = model or params.bench.model
    if chosen.startswith("triton://"):
        return chosen
    path = under_root(chosen, root)
    if not path.exists():
        raise BenchError(f"no model at {path}: run the export stage first (dvc repro export)")
    return str(path)


def input_size(model: str, names: list[str], root: Path) -> int:
    """The export's own input side: the size its detector was trained at (train.imgsz). A
    Triton server that does not publish it (PyTriton) serves our exports/triton repository,
    whose config says it."""
    from ambon_cv.inference.backends import metadata_imgsz, open_backend

    if model.startswith("triton://"):
        name = model.rpartition("/")[2]
        config = root / "exports" / "triton" / name / "config.pbtxt"
        text = config.read_text() if config.is_file() else ""
        if found := re.search(r'key: "imgsz" value: \{ string_value: "(\d+)"', text):
            return int(found.group(1))
    elif imgsz := metadata_imgsz(model):  # an OpenVINO folder says it without a model load
        return imgsz
    backend = open_backend(model, names=names)
    try:
        return backend.imgsz
    finally:
        backend.close()


def _config(params: Params, model: str, root: Path | None = None) -> PipelineConfig:
    b = params.bench
    fights = _fights(params, root) if root else ""
    rules = incident_rules(
        params.evaluate.alerts, FightModel.load(Path(fights)) if fights else None
    )
    return PipelineConfig(
        model=model,
        imgsz=input_size(model, list(params.curate.classes), root or project_root()),
        conf=b.conf,
        threads=b.threads,
        inference_workers=b.inference_workers,
        layout=b.layout,
        max_batch=b.max_batch,
        max_wait_ms=b.max_wait_ms,
        queue_size=b.queue_size,
        rules=rules,
        names=tuple(params.curate.classes),
        fights=fights,
        gate=params.evaluate.gate,
        fight_share=b.schedule.fight_share,
        budget_cores=b.schedule.budget_cores,
    )


def fight_mode(params: Params, config: PipelineConfig) -> str:
    """How the load's hot spots are analysed for fights (see bench.profiles): by the streaming
    fight analytic when bench.fights names one, by the detector when evaluate.alerts says
    fights come from it, else not at all."""
    if config.fights:
        return "analytic"
    return "detector" if params.evaluate.alerts.fight_source == "detector" else "none"


def _fights(params: Params, root: Path) -> str:
    """The exported fight analytic for the hot spots ('' when bench.fights is empty)."""
    if not params.bench.fights:
        return ""
    path = under_root(params.bench.fights, root)
    if why := FightModel.why_none(path):  # trained with no real fight clips
        print(f"bench: WARNING the hot spots run without the fight analytic: {why}")
        return ""
    if not FightModel.exists(path):
        raise BenchError(
            f"no fight analytic at {path}: run the export stage (dvc repro export), or set "
            "bench.fights to '' to load the detector alone"
        )
    return str(path)


def camera_clips(root: Path) -> dict[str, list[Path]]:
    """Recorded clips per camera, from the footage manifest."""
    import pandas as pd

    manifest = root / "data" / "footage" / "manifest.parquet"
    if not manifest.exists():
        raise BenchError(f"no footage manifest at {manifest}: run dvc repro footage")
    table = pd.read_parquet(manifest)
    if "status" in table:
        table = table[table["status"] == "ok"]  # the pull stage's verdict on each clip
    clips: dict[str, list[Path]] = {}
    for camera, path in zip(table["camera"], table["path"], strict=True):
        clips.setdefault(camera, []).append(under_root(path, root))
    if not clips:
        raise BenchError(f"{manifest} lists no usable clips")
    return clips


def _clip_for(profile: StreamProfile, clips: dict[str, list[Path]], k: int) -> Path:
    own = clips.get(profile.camera)
    if own:
        return own[k % len(own)]
    pool = [c for cs in clips.values() for c in cs]
    return pool[k % len(pool)]


def _warmup_most(b) -> float:
    """The longest a load run's warm-up may last (its sources must play that long too)."""
    return max(b.warmup_s, b.warmup_most_s)


@contextlib.contextmanager
def sources_for(
    profiles: list[StreamProfile], source: str, registry: CameraRegistry, root: Path, seconds: float
):
    """Yields one StreamSource per profile (starting and stopping the RTSP server for `rtsp`)."""
    if source == "cameras":
        yield [
            StreamSource("rtsp", registry[p.camera].streams[p.stream].resolved_url())
            for p in profiles
        ]
        return
    clips = camera_clips(root)
    chosen = [_clip_for(p, clips, k) for k, p in enumerate(profiles)]
    if source == "clips":
        yield [StreamSource("clip", str(c)) for c in chosen]
        return
    from ambon_cv.bench.rtsp import RtspServer

    mounts = {f"s{k}": c for k, c in enumerate(chosen)}
    with RtspServer(mounts, seconds + 30, root / ".cache" / "rtsp") as server:
        yield [StreamSource("rtsp", server.url(f"s{k}")) for k in range(len(profiles))]


@contextlib.contextmanager
def emulated(e, config: PipelineConfig, progress: bool = True):
    """Inside, the load runs on an emulated slower CPU as params bench.emulate asks (nothing
    when it asks nothing); yields the CPU quota to put the load's processes in (or None) and
    the timing that proves the emulation took effect (or None). An instruction set is the
    process's own: `run` starts the bench in a process under it (`emulate.run_under`)."""
    if e.isa and emulate.emulated_isa() != e.isa:
        raise emulate.EmulationError(
            f"bench.emulate.isa={e.isa} needs the bench started under it: run it through "
            "`ambon bench` (ambon_cv.bench.stage.run), which does"
        )
    with contextlib.ExitStack() as stack:
        quota = (
            stack.enter_context(emulate.CpuQuota(e.core_share, costs.cores()))
            if e.core_share
            else None
        )
        check = (
            emulate.check(e.core_share, e.isa, config.model, config.imgsz, costs.cores())
            if (e.core_share or e.isa) and not config.model.startswith("triton://")
            else None
        )
        if check and progress:
            print(f"bench: emulating a slower CPU: {check}", flush=True)
        yield quota, check


def bench(
    params: Params,
    registry: CameraRegistry,
    root: Path,
    streams: int | None = None,
    source: str | None = None,
    model: str | None = None,
    duration_s: float | None = None,
    progress: bool = True,
    report: bool = True,
) -> dict:
    """One load run; returns its summary (written to reports/bench/run.{json,md})."""
    b = params.bench
    n = b.streams if streams is None else streams
    if n < 1:
        raise BenchError(f"bench: --streams {n}: a load needs at least 1 stream")
    duration = duration_s or b.duration_s
    config = _config(params, _model(params, root, model), root)
    profiles = stream_profiles(registry, n, fight_mode(params, config))
    with (
        emulated(b.emulate, config, progress) as (quota, emulation),
        sources_for(
            profiles, source or b.source, registry, root, _warmup_most(b) + duration
        ) as src,
    ):
        result = run_load(
            profiles, src, config, b.warmup_s, duration, b.workers, progress=progress,
            quota=quota, warmup_most_s=b.warmup_most_s,
        )  # fmt: skip
    summary = summarise(result, b.slo)
    summary["model"] = _shown(config.model, root)
    summary["source"] = source or b.source
    summary["machine"] = cpu_line()
    mode = fight_mode(params, config)
    cores_here = costs.cores() * (b.emulate.core_share or 1.0)

    def fits(fights: str) -> dict:
        need = costs.run_need(summary, lambda k: stream_profiles(registry, k, fights))
        return costs.what_fits(need, cores_here, b.streams)

    summary["what_fits"] = fits(mode)
    if mode == "analytic":  # the other profile there is: hot spots at keyframes
        summary["what_fits"]["without_fight_analytic"] = fits("none")
    summary["emulation"] = emulation
    if report:
        out = root / "reports" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "run.json", redact_all(_public(summary)))
        (out / "run.md").write_text(redact(run_markdown(summary)))
        plots.save(
            plots.latency_cdf({f"{n} streams": summary["latencies_ms"]}),
            out / "run_latency_cdf.png",
        )
    return summary


def sweep(params: Params, registry: CameraRegistry, root: Path, progress: bool = True) -> dict:
    """The capacity sweep (see the module docstring); returns reports/bench.json's content."""
    from ambon_cv.inference.backends import open_backend

    b = params.bench
    s = b.sweep
    config = _config(params, _model(params, root, None), root)
    mode_of_fights = fight_mode(params, config)
    weights = root / "models" / "best.pt"
    if s.baseline_streams and not weights.exists():
        raise BenchError(f"the naive baseline needs {weights}: run dvc repro train")
    started = time.perf_counter()
    with emulated(b.emulate, config, progress) as (quota, emulation):
        points, not_run, interrupted = _sweep_points(
            params, registry, root, config, mode_of_fights, weights, quota, progress
        )
    if not points["pipeline"]:
        raise BenchError(f"no pipeline run of the sweep started: {not_run[0]['error']}")
    cores_here = costs.cores() * (b.emulate.core_share or 1.0)

    # the costs alone, in this same run, and the bound they set: decoding measured on every
    # clip the load replays, in the decode mode of the stream that replays it (cameras differ:
    # a busy hot spot's frames cost twice a quiet street's)
    clips = camera_clips(root)
    sample = [c for cs in clips.values() for c in cs][:3]
    measured: dict[tuple[Path, str], float] = {}

    def stream_decode(n: int, fights: str = mode_of_fights) -> list[float]:
        out = []
        for k, prof in enumerate(stream_profiles(registry, n, fights)):
            key = (_clip_for(prof, clips, k), prof.decode)
            if key not in measured:
                measured[key] = costs.decode_cost(*key, max_frames=200)
            out.append(measured[key])
        return out

    per_stream = {p["streams"]: stream_decode(p["streams"]) for p in points["pipeline"]}
    decode_s = {
        m: float(np.mean([v for (_, mode), v in measured.items() if mode == m] or [0.0]))
        for m in ("all", "keyframes")
    }
    backend = open_backend(config.model, threads=config.threads or None)
    frames = _sample_frames(sample[0], 16)
    unit = costs.inference_cost(backend, config.imgsz, config.max_batch, frames)
    backend.close()
    unit["bgr_s"] = float(np.mean([costs.bgr_cost(c) for c in sample]))
    frame_s = unit["bgr_s"] + unit["convert_s"] + unit["infer_s"] + unit["post_s"]
    gate = params.evaluate.gate
    look_s = costs.gate_cost(frames, gate) if gate.enabled else 0.0
    unit["gate_look_s"] = look_s
    hot_clip = next(
        (
            _clip_for(prof, clips, k)
            for k, prof in enumerate(stream_profiles(registry, b.streams, mode_of_fights))
            if prof.fight
        ),
        None,
    )
    fight_s = costs.fight_cost(hot_clip, Path(config.fights)) if config.fights and hot_clip else 0

    def served_s(gated_share: float | None) -> float:
        """CPU seconds per analysis slot: every slot is looked at, the changed ones inferred."""
        return look_s + (1 - (gated_share or 0.0)) * frame_s

    for p in points["pipeline"]:
        profiles = stream_profiles(registry, p["streams"], mode_of_fights)
        bnd = costs.bound(
            profiles, per_stream[p["streams"]], served_s(p.get("gated_share")), cores_here,
            fight_s, b.schedule.fight_share,
        )  # fmt: skip
        p["bound"] = bnd
        p["efficiency"] = (
            round(p["analysed_fps"] / bnd["analysed_fps"], 3) if bnd["analysed_fps"] else None
        )

    def best(mode: str) -> int:
        ok = [p["streams"] for p in points[mode] if p["slo"]["pass"]]
        return max(ok, default=0)

    at_default = next((p for p in points["pipeline"] if p["streams"] == b.streams), None)
    eff_point = efficiency_point(points["pipeline"])

    # at the gated share the default load saw: what gating saves is part of what fits
    slot_s = served_s(at_default.get("gated_share") if at_default else None)

    least_flows = live_flow_fps(FightModel.load(Path(config.fights)).features) if fight_s else 0

    def need(
        n: int, rate_scale: float, fights: str = mode_of_fights, camera_rates: bool = False
    ) -> float:
        """CPU-s a second the first `n` streams need: at the clips' frame rates, or scaled to
        the rates their cameras send (`camera_rates`)."""
        profiles = stream_profiles(registry, n, fights)
        total = sum(prof.rate_fps for prof in profiles) * rate_scale * slot_s
        for k, (prof, decode) in enumerate(zip(profiles, stream_decode(n, fights), strict=True)):
            clip = _clip_for(prof, clips, k)
            grow = (
                costs.camera_rate_scale(prof.fps, costs.clip_fps(clip), prof.decode, least_flows)
                if camera_rates
                else (1.0, 1.0)
            )
            total += decode * grow[0] + (fight_s * grow[1] if prof.fight else 0.0)
        return total

    fits = costs.what_fits(need, cores_here, b.streams)
    # checked by the run at the default load: what the harness used against the costs alone
    # (the rest is the loop, the alert engines, the harness itself), and what fits at that
    used = (at_default or {}).get("cpu_percent")
    if used and need(b.streams, 1.0) > 0:
        overhead = used / 100 / need(b.streams, 1.0)
        checked = costs.what_fits(lambda n, scale: overhead * need(n, scale), cores_here, b.streams)
        fits["checked_by_run"] = {"cpu_over_costs_alone": round(overhead, 3), **checked}
    if mode_of_fights == "analytic":  # the other profile there is: hot spots at keyframes
        fits["without_fight_analytic"] = costs.what_fits(
            lambda n, scale: need(n, scale, "none"), cores_here, b.streams
        )
    rates = {
        "camera_fps": sorted({p.fps for p in stream_profiles(registry, b.streams, mode_of_fights)}),
        "clip_fps": sorted({round(costs.clip_fps(c), 2) for cs in clips.values() for c in cs}),
    }
    if rates["camera_fps"] != rates["clip_fps"]:  # the clips replay slower or faster
        fits["at_camera_rates"] = {
            **rates,
            **costs.what_fits(lambda n, s: need(n, s, camera_rates=True), cores_here, b.streams),
        }
    out = {
        "model": _shown(config.model, root),
        "source": b.source,
        "machine": cpu_line(),
        "slo": b.slo.model_dump(),
        "verdict": {
            "streams": b.streams,
            "pass": bool(at_default and at_default["slo"]["pass"]),
            "failed": at_default["slo"]["failed"] if at_default else ["not measured"],
        },
        "max_streams": {m: best(m) for m in points},
        "x_naive": round(best("pipeline") / best("naive"), 2) if best("naive") else None,
        "x_naive_export": (
            round(best("pipeline") / best("naive_export"), 2) if best("naive_export") else None
        ),
        "efficiency": eff_point.get("efficiency") if eff_point else None,
        "overload": overload(points["pipeline"]),
        "gated_share": at_default.get("gated_share") if at_default else None,
        "emulation": emulation,
        "cores": cores_here,
        "what_fits": fits,
        "efficiency_at_streams": eff_point["streams"] if eff_point else None,
        "costs_alone": {
            "decode_cpu_s_per_video_s": {k: round(v, 4) for k, v in decode_s.items()},
            "per_frame_ms": {k.removesuffix("_s"): round(v * 1000, 3) for k, v in unit.items()},
            # decode is counted above; this is convert + features + classifier
            "fight_analytic_core_per_stream": round(fight_s, 4),
            "fight_stream_core_per_stream": round(fight_s + decode_s["all"], 4),
        },
        "points": {m: [_public(p) for p in ps] for m, ps in points.items()},
        "not_run": not_run,
        "interrupted": interrupted,
        "seconds": round(time.perf_counter() - started, 1),
    }
    reports = root / "reports"
    (reports / "bench").mkdir(parents=True, exist_ok=True)
    plots.save(plots.capacity(out), reports / "bench" / "sweep.png")
    plots.save(plots.fair_share(out), reports / "bench" / "fair_share.png")
    curves = {f"{p['mode']} x{p['streams']}": p["latencies_ms"] for m in points.values() for p in m}
    plots.save(plots.latency_cdf(curves), reports / "bench" / "latency_cdf.png")
    write_sweep_tables(out, reports / "bench" / "sweep")
    write_report(root, "bench", redact_all(out))
    (reports / "bench.md").write_text(redact(sweep_markdown(out)))
    return out


def _sweep_points(params, registry, root, config, fights, weights, quota, progress) -> tuple:
    """The sweep's runs: the pipeline up the grid from the default count until it fails twice
    in a row (`next_pipeline_count`), one run at sweep.overload_x times the most it held (the
    overload figure), then the naive baselines, each stepped up until it fails
    (`baseline_counts`). Returns the summaries per mode, the runs that could
    not start, and whether Ctrl-C cut it short.

    A run that cannot start (its process not ready in time, a model that fails to load) is
    tried once more, then recorded as not run with the reason, and the sweep goes on: one
    stuck baseline must not throw away the minutes of runs before it."""
    b, s = params.bench, params.bench.sweep
    not_run: list[dict] = []
    # naive: a thread per stream with ultralytics on the PyTorch weights (a first attempt);
    # naive_export: the same loop on the very export the pipeline runs, so the report tells
    # what the backend buys from what the pipeline buys
    points: dict[str, list[dict]] = {"pipeline": [], "naive": [], "naive_export": []}

    def run(mode: str, n: int, seconds: float, extra: dict) -> tuple[dict | None, bool]:
        """One run of `n` streams in `mode`: its summary (None: it could not start), and
        whether Ctrl-C cut it short."""
        profiles = stream_profiles(registry, n, fights)
        naive = {"naive": str(weights), "naive_export": config.model}.get(mode)
        result = None
        for attempt in (1, 2):
            try:
                longest = _warmup_most(b) + seconds
                with sources_for(profiles, b.source, registry, root, longest) as src:
                    result = run_load(
                        profiles, src, config, b.warmup_s, seconds, b.workers,
                        naive_weights=naive, progress=progress, quota=quota,
                        warmup_most_s=b.warmup_most_s,
                    )  # fmt: skip
                break
            except BenchError as exc:
                if progress:
                    print(f"bench: {mode} {n} streams did not run (try {attempt}): {exc}")
                if attempt == 2:
                    not_run.append({"mode": mode, "streams": n, "error": str(exc)})
        if result is None:
            return None, False
        point = summarise(result, b.slo)
        point["mode"] = mode
        point.update(extra)
        points[mode].append(point)
        if progress:
            verdict = (
                "PASS" if point["slo"]["pass"] else "FAIL " + "; ".join(point["slo"]["failed"])
            )
            print(
                f"bench: {mode} {n} streams: {point['analysed_fps']} of {point['target_fps']} "
                f"frames/s, p95 {point['latency_ms']['p95']} ms, least-served stream "
                f"{point['least_served_ratio']} -> {verdict}",
                flush=True,
            )
        return point, result.interrupted

    grid = sorted(set(s.streams) | {b.streams})
    results: dict[int, bool] = {}
    while (n := next_pipeline_count(results, grid, b.streams, s.fails_to_stop)) is not None:
        p, interrupted = run("pipeline", n, s.duration_s, {})
        if interrupted:
            return points, not_run, True
        results[n] = bool(p and p["slo"]["pass"])
    held = max((p["streams"] for p in points["pipeline"] if p["slo"]["pass"]), default=0)
    if s.overload_x:
        capacity = held or min(s.streams)
        n = round(s.overload_x * capacity)
        if run("pipeline", n, s.overload_duration_s, {"overload_of": capacity})[1]:
            return points, not_run, True
    naive_modes = ["naive"] + ([] if config.model.startswith("triton://") else ["naive_export"])
    for mode in naive_modes:
        counts = sorted(set(s.baseline_streams))
        tried: dict[int, bool] = {}
        while counts:
            n = counts.pop(0)
            p, interrupted = run(mode, n, s.duration_s, {})
            if interrupted:
                return points, not_run, True
            tried[n] = bool(p and p["slo"]["pass"])
            if not counts:  # the list is done: up while it holds, down while none held
                counts = baseline_counts(tried, grid, held)
    return points, not_run, False


def next_pipeline_count(
    results: dict[int, bool], grid: list[int], start: int, fails_to_stop: int
) -> int | None:
    """The pipeline's next stream count in a sweep, given whether each count run so far held
    (`results`): up the grid from the default count (`start`, bench.streams) until
    `fails_to_stop` counts in a row fail, then, only if none held, down the grid until one
    does; None when done. The counts below the default say nothing a held default does not,
    and past the bound the most the box analyses comes within a step or two (the overload run
    goes on to 4x): on a slow AVX2 box the full grid spent 17 runs, most of them where nothing
    more was learnt.

    Example:
        >>> grid = [16, 32, 55, 80, 110, 150, 210]
        >>> def walk(holds):  # holds: the most streams this box holds
        ...     results = {}
        ...     while (n := next_pipeline_count(results, grid, 55, 2)) is not None:
        ...         results[n] = n <= holds
        ...     return list(results)
        >>> walk(110), walk(55), walk(20)
        ([55, 80, 110, 150, 210], [55, 80, 110], [55, 80, 32, 16])
    """
    streak = 0
    for n in (n for n in grid if n >= start):
        if n not in results:
            return n
        streak = 0 if results[n] else streak + 1
        if streak >= fails_to_stop:
            break
    if any(results.values()):
        return None
    return next((n for n in reversed(grid) if n < start and n not in results), None)


def baseline_counts(tried: dict[int, bool], grid: list[int], held: int) -> list[int]:
    """The next stream count a naive baseline runs after its listed counts
    (`sweep.baseline_streams`), given whether each count it ran held (`tried`, in the order
    run): while the last still holds, the pipeline's next count up to the most the pipeline
    held (past that its "most held" would be the pipeline's own, and stopping at the list
    would report a floor as its most: it held 32 streams at 92% CPU, and 32 was simply the
    last count asked); while none held, half the fewest it tried (on a slow AVX2 box the
    PyTorch loop failed at 8 and 16, and its ratio had nothing to divide by).

    Example:
        >>> grid = [16, 32, 55, 80, 110, 150]
        >>> baseline_counts({8: True, 16: True}, grid, 110)  # holds: one step up
        [32]
        >>> baseline_counts({16: False}, grid, 110)  # none held: half the fewest
        [8]
        >>> baseline_counts({8: True, 16: False}, grid, 110)  # held, then failed: done
        []
        >>> baseline_counts({110: True}, grid, 110)  # as many as the pipeline held: done
        []
        >>> baseline_counts({8: False, 16: False, 4: False, 2: False, 1: False}, grid, 110)
        []
    """
    last = next(reversed(tried))
    if tried[last]:
        return [n for n in grid if last < n <= held][:1]
    fewest = min(tried)
    return [fewest // 2] if not any(tried.values()) and fewest > 1 else []


def sweep_rows(points: list[dict]) -> list[dict]:
    """One layout's sweep as a table, one row per stream count, for `dvc plots`.

    Example:
        >>> sweep_rows([{"streams": 16, "analysed_ratio": 1.0, "analysed_fps": 8.0,
        ...     "target_fps": 8.0, "latency_ms": {"p95": 52.8}, "drop_rate": 0.0,
        ...     "cpu_percent": 54.4, "peak_memory_gb": 0.97}])[0]["p95_latency_ms"]
        52.8
    """
    return [
        {
            "streams": p["streams"],
            "analysed_ratio": p["analysed_ratio"],
            "analysed_fps": p["analysed_fps"],
            "target_fps": p["target_fps"],
            "p95_latency_ms": p["latency_ms"]["p95"],
            "drop_rate": p["drop_rate"],
            "cpu_percent": p["cpu_percent"],
            "peak_memory_gb": p["peak_memory_gb"],
        }
        for p in sorted(points, key=lambda p: p["streams"])
    ]


def write_sweep_tables(out: dict, folder: Path) -> None:
    """reports/bench/sweep/<layout>.tsv for each layout the sweep ran."""
    for mode, points in out["points"].items():
        write_table(folder / f"{mode}.tsv", sweep_rows(points))


def efficiency_point(points: list[dict]) -> dict | None:
    """The sweep point the harness's efficiency is read at: the first whose costs alone need
    more than the cores, else the largest; the overload run, far past the bound, is judged by
    its own ratio and is never the one.

    Example:
        >>> def p(n, need, **kw):
        ...     return {"streams": n, "bound": {"cpu_needed": need, "cores": 2}, **kw}
        >>> efficiency_point([p(55, 1.0), p(110, 1.9), p(440, 8.0, overload_of=110)])["streams"]
        110
        >>> efficiency_point([p(55, 1.0), p(110, 2.5), p(220, 5.0)])["streams"]
        110
    """
    sweep = [p for p in points if not p.get("overload_of")]
    saturated = [p for p in sweep if p["bound"]["cpu_needed"] > p["bound"]["cores"]]
    if saturated:
        return min(saturated, key=lambda p: p["streams"])
    return sweep[-1] if sweep else None


def against_naive(o: dict, mode: str) -> str:
    """The most streams a naive baseline held and the pipeline's multiple of it, as the
    sweep report says it; a baseline the sweep did not run, or that held none, says so, and
    one that still held at the largest count it ran (the pipeline's most) says that its most
    is a floor and the multiple a ceiling.

    Example:
        >>> o = {"max_streams": {"pipeline": 110, "naive": 16, "naive_export": 0},
        ...      "x_naive": 6.88, "x_naive_export": None,
        ...      "points": {"naive": [{"streams": 16, "slo": {"pass": True}},
        ...                           {"streams": 32, "slo": {"pass": False}}],
        ...                 "naive_export": []}}
        >>> against_naive(o, "naive"), against_naive(o, "naive_export")
        ('16 -> 6.88x', 'not run')
        >>> o["points"]["naive"].pop()  # it never failed: 16 is a floor
        {'streams': 32, 'slo': {'pass': False}}
        >>> against_naive(o, "naive")
        '16 or more (it held the most it ran) -> 6.88x at most'
    """
    run = o.get("points", {}).get(mode)
    if not run:
        return "not run"
    held = o["max_streams"].get(mode)
    if not held:
        return "0 (it held none of the counts run)"
    if max(run, key=lambda p: p["streams"])["slo"]["pass"]:
        return f"{held} or more (it held the most it ran) -> {o['x_' + mode]}x at most"
    return f"{held} -> {o['x_' + mode]}x"


def overload(points: list[dict]) -> dict | None:
    """The overload figure: the run at `overload_x` times the most streams held (the point
    marked `overload_of`, the capacity it multiplied), against the most frames/s any run of
    the sweep analysed, and how fairly it shared them.

    Example:
        >>> p = lambda n, fps, lo, hi, **k: {"streams": n, "analysed_fps": fps,
        ...     "least_served_ratio": lo, "most_served_ratio": hi, **k}
        >>> overload([p(55, 27.5, 1, 1), p(110, 50, .8, 1), p(220, 48, .4, .5, overload_of=55)])
        ... # doctest: +ELLIPSIS
        {'streams': 220, 'capacity': 55, 'x_capacity': 4.0, ..., 'pass': True}
    """
    run = next((p for p in points if p.get("overload_of")), None)
    if run is None:
        return None
    capacity = run["overload_of"]
    best = max(p["analysed_fps"] for p in points)
    ratio = run["analysed_fps"] / best if best else 0.0
    # starved: a stream below half its target while another gets all of it
    starved = run["least_served_ratio"] < 0.5 and run["most_served_ratio"] >= 0.99
    return {
        "streams": run["streams"],
        "capacity": capacity,
        "x_capacity": round(run["streams"] / capacity, 2),
        "analysed_fps": run["analysed_fps"],
        "max_analysed_fps": best,
        "ratio_to_max": round(ratio, 3),
        "least_served_ratio": run["least_served_ratio"],
        "most_served_ratio": run["most_served_ratio"],
        "fight_coverage": (run.get("fight_analytic") or {}).get("coverage"),
        "pass": ratio >= 0.9 and not starved,
    }


def _other_fits(o: dict) -> list[str]:
    """What fits checked by the run, and without the fight analytic, when the sweep has them."""
    fits, n = o["what_fits"], o["verdict"]["streams"]
    labels = {
        "checked_by_run": lambda c: (
            f"checked by the run at {n} streams (it used {c['cpu_over_costs_alone']}x the CPU "
            "of the costs alone: the loop, alert engines, the harness)"
        ),
        "without_fight_analytic": lambda c: (
            "with the hot spots at keyframes only (no fight analytic)"
        ),
        "at_camera_rates": lambda c: (
            f"at the frame rates the registry's streams send ({_fps(c['camera_fps'])} fps; the "
            f"clips replay at {_fps(c['clip_fps'])}), decoding every frame scaled with the rate "
            "and the fight analytic with the frames it takes"
        ),
    }
    return [
        f"- {label(fits[key])}: {fits[key]['most_streams']} cameras fit; {n} need "
        f"{fits[key]['cores_needed']} cores"
        for key, label in labels.items()
        if fits.get(key)
    ]


def _fps(rates: list[float]) -> str:
    return ", ".join(f"{r:g}" for r in rates)


def _fits_here(fits: dict) -> str:
    """The share of the default analysis rates at which the streams fit, as a clause."""
    scale = fits["rate_scale_for_all"]
    if scale:
        return f", or fit here at {scale:.0%} of the default analysis rates"
    return ", and do not fit here even at a tenth of the analysis rates"


def _run_fits(fits: dict | None) -> list[str]:
    """A single run's what-fits lines: the most cameras at the default profile, the cores the
    55 need, the share of the analysis rates at which they fit here, and the same with the hot
    spots at keyframes only.

    Example:
        >>> fits = {"headroom": 0.85, "streams": 55, "most_streams": 24, "cores_needed": 1.2,
        ...     "rate_scale_for_all": None, "without_fight_analytic": {"headroom": 0.85,
        ...     "streams": 55, "most_streams": 80, "cores_needed": 0.4, "rate_scale_for_all": 1.0}}
        >>> first, plain = _run_fits(fits)
        >>> first.split("; ")[1]
        '55 need 1.2 cores, and do not fit here even at a tenth of the analysis rates'
        >>> plain.split(": ")[1]
        '80 cameras fit; 55 need 0.4 cores, or fit here at 100% of the default analysis rates'
    """
    if not fits:
        return []
    lines = [
        f"- what fits (this run's own costs, at most {fits['headroom']:.0%} of the cores): "
        f"{fits['most_streams']} cameras at the default profile; {fits['streams']} need "
        f"{fits['cores_needed']} cores{_fits_here(fits)}"
    ]
    if plain := fits.get("without_fight_analytic"):
        lines.append(
            "- with the hot spots at keyframes only (no fight analytic): "
            f"{plain['most_streams']} cameras fit; {plain['streams']} need "
            f"{plain['cores_needed']} cores{_fits_here(plain)}"
        )
    return lines


def _overload_lines(o: dict) -> list[str]:
    ov = o.get("overload")
    if not ov:
        return []
    return [
        f"- overload: {ov['streams']} streams ({ov['x_capacity']}x the {ov['capacity']} held) "
        f"analysed {ov['analysed_fps']} frames/s, {ov['ratio_to_max']} of the sweep's most "
        f"({ov['max_analysed_fps']}); least-served stream {ov['least_served_ratio']} of its "
        f"target, most-served {ov['most_served_ratio']}; fight analytic on "
        f"{ov['fight_coverage']} of hot-spot time -> {'PASS' if ov['pass'] else 'FAIL'} "
        "(needs >= 0.9 of the most, and no stream under half while another gets all)"
    ]


def _shown(model: str, root: Path) -> str:
    """A model path as the reports show it: relative to the project when inside it."""
    try:
        return str(Path(model).relative_to(root))
    except ValueError:
        return model


def _sample_frames(clip: Path, n: int) -> list[np.ndarray]:
    import av

    frames = []
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="bgr24"))
            if len(frames) >= n:
                break
    return frames


def _public(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "latencies_ms"}


def run_markdown(s: dict) -> str:
    v = "PASS" if s["slo"]["pass"] else "FAIL: " + "; ".join(s["slo"]["failed"])
    lines = [
        f"# Live load: {s['streams']} streams ({s['source']}) on `{s.get('model', '')}`",
        "",
        f"**{v}**" + (" (interrupted: partial)" if s["interrupted"] else ""),
        "",
        f"Measured on {s.get('machine', 'n/a')}.",
        "",
        f"- analysed {s['analysed_fps']} of {s['target_fps']} frames/s "
        f"(ratio {s['analysed_ratio']}), drop rate {s['drop_rate']}, in {s['seconds']} s "
        f"measured after a {s.get('warmup_s')} s warm-up (until every stream had had two "
        "analysis slots)",
        f"- latency capture->result p50/p95/p99: {s['latency_ms']['p50']} / "
        f"{s['latency_ms']['p95']} / {s['latency_ms']['p99']} ms",
        f"- per frame (ms): {s['stage_ms']}; mean batch {s['mean_batch']}",
        f"- CPU {s['cpu_percent']} %, peak memory of the load {s['peak_memory_gb']} GB PSS "
        f"(the harness's controller beside it {s.get('controller_memory_gb')} GB); decoded "
        f"{s['decoded_fps']} frames/s",
        f"- reconnects {s['reconnects']}, stream errors {s['stream_errors']}; alerts {s['alerts']}",
        f"- fight analytic in the load: {s.get('fight_analytic')}",
        f"- change-gated inference: {s.get('gated_share')} of the slots reused an unchanged "
        "view's detections",
        f"- least / most served stream: {s.get('least_served_ratio')} / "
        f"{s.get('most_served_ratio')} of its target",
        *_run_fits(s.get("what_fits")),
        "",
        "| stream | decode | target fps | analysed fps | ratio | dropped | reconnects "
        "| last error |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {p['stream']} | {p['decode']} | {p['target_fps']} | {p['analysed_fps']} | "
            f"{p['ratio']} | {p['dropped']} | {p['reconnects']} | {p['last_error'][:60]} |"
            for p in s["per_stream"]
        ],
    ]
    return "\n".join(lines) + "\n"


def sweep_markdown(o: dict) -> str:
    v = o["verdict"]
    lines = [
        f"# Live-load sweep on `{o['model']}` ({o['source']})",
        "",
        f"Measured on {o.get('machine', 'n/a')}.",
        "",
        f"**{v['streams']} streams: {'PASS' if v['pass'] else 'FAIL'}**"
        + ("" if v["pass"] else " (" + "; ".join(v["failed"]) + ")"),
        "",
        f"- most streams within the SLO: pipeline {o['max_streams']['pipeline']}, naive "
        f"baseline on the PyTorch weights {against_naive(o, 'naive')}, naive baseline on the "
        f"same export {against_naive(o, 'naive_export')} (what the pipeline buys beyond the "
        "backend)",
        f"- what fits this box (costs alone, at most {o['what_fits']['headroom']:.0%} of its "
        f"cores): {o['what_fits']['most_streams']} cameras at the default profile (the sweep "
        f"held {o['max_streams']['pipeline']}); {o['verdict']['streams']} cameras need "
        f"{o['what_fits']['cores_needed']} cores at the default profile"
        + _fits_here(o["what_fits"]),
        *_other_fits(o),
        *_overload_lines(o),
        *[
            f"- **not run**: {r['mode']} at {r['streams']} streams, twice: {r['error']} (the "
            "most it holds above is of the runs that ran)"
            for r in o.get("not_run", [])
        ],
        (
            f"- change-gated inference at {v['streams']} streams: {o['gated_share']:.0%} of the "
            "analysis slots found their view unchanged and reused its last detections"
            if o.get("gated_share") is not None
            else "- change-gated inference: off (evaluate.gate.enabled)"
        ),
        *(
            [f"- emulated slower CPU (bench.emulate), checked by timing: {o['emulation']}"]
            if o.get("emulation")
            else []
        ),
        "- efficiency (analysed frames/s over the bound from costs measured alone) at the "
        f"first point past the bound, {o['efficiency_at_streams']} streams: {o['efficiency']}",
        f"- costs alone: decode CPU-s per video-s {o['costs_alone']['decode_cpu_s_per_video_s']}, "
        f"per analysed frame (ms) {o['costs_alone']['per_frame_ms']}",
        (
            f"- the streaming fight analytic alone, per hot-spot stream: "
            f"{o['costs_alone'].get('fight_analytic_core_per_stream')} core (convert + motion "
            f"+ classifier), {o['costs_alone'].get('fight_stream_core_per_stream')} with "
            "decoding every frame"
            if o["costs_alone"].get("fight_analytic_core_per_stream")
            else "- the streaming fight analytic: not in this load (bench.fights is empty)"
        ),
        f"- SLO: {o['slo']}",
        "",
        "| mode | streams | target fps | analysed fps | p50 / p95 ms | drop rate | CPU % | "
        "memory GB | bound fps | efficiency | SLO |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, ps in o["points"].items():
        for p in ps:
            lines.append(
                f"| {mode} | {p['streams']} | {p['target_fps']} | {p['analysed_fps']} | "
                f"{p['latency_ms']['p50']} / {p['latency_ms']['p95']} | {p['drop_rate']} | "
                f"{p['cpu_percent']} | {p['peak_memory_gb']} | "
                f"{p.get('bound', {}).get('analysed_fps', '-')} | {p.get('efficiency', '-')} | "
                f"{'pass' if p['slo']['pass'] else 'FAIL'} |"
            )
    lines += ["", "Plots: `reports/bench/sweep.png`, `reports/bench/latency_cdf.png`."]
    if o["interrupted"]:
        lines += ["", "Interrupted: the sweep is partial."]
    return "\n".join(lines) + "\n"


def run(
    params: StageParams,
    io: StageIO,
    action: str = "run",
    streams: int | None = None,
    source: str | None = None,
    model: str | None = None,
    duration: float | None = None,
) -> StageResult:
    """`ambon bench`: one load run (exit 3 on FAIL); `sweep` is the stage: how many streams
    this box holds, what fits, the overload figure and the verdict for the 55. With
    bench.emulate.isa, all of it runs in a process that sees only that instruction set."""
    isa = params.bench.emulate.isa
    if isa and emulate.emulated_isa() != isa:
        cache = io.root / ".cache" / "emulate"
        args = (action, streams, source, model, duration)
        return emulate.run_under(isa, cache, run, params, io, *args)
    registry = io.cameras()
    if action == "sweep":
        o = sweep(params, registry, io.root, io.progress)
        v, fits, ov = o["verdict"], o["what_fits"], o.get("overload") or {}
        line = (
            f"bench sweep on {o['machine']}: {v['streams']} streams "
            f"{'PASS' if v['pass'] else 'FAIL'}; most streams within the SLO: pipeline "
            f"{o['max_streams']['pipeline']}, naive on the same export "
            f"{against_naive(o, 'naive_export')}, naive PyTorch {against_naive(o, 'naive')}; "
            f"what fits: {fits['most_streams']} "
            f"cameras ({(fits.get('checked_by_run') or {}).get('most_streams')} checked by the "
            f"run), {v['streams']} need {fits['cores_needed']} cores; overload "
            f"{ov.get('x_capacity')}x: {ov.get('ratio_to_max')} of the most frames/s, "
            f"least-served stream {ov.get('least_served_ratio')}; efficiency "
            f"{o['efficiency']}; report in reports/bench.md"
        )
        return stage_result("bench", o, line, exit_code=130 if o["interrupted"] else 0)
    s = bench(
        params,
        registry,
        io.root,
        streams=streams,
        source=source,
        model=model,
        duration_s=duration,
        progress=io.progress,
    )
    verdict = "PASS" if s["slo"]["pass"] else "FAIL (" + "; ".join(s["slo"]["failed"]) + ")"
    line = (
        f"bench on {s['machine']}: {s['streams']} streams {verdict}: {s['analysed_fps']} of "
        f"{s['target_fps']} frames/s, p95 {s['latency_ms']['p95']} ms, drops {s['drop_rate']}, "
        f"peak memory {s['peak_memory_gb']} GB; what fits: {s['what_fits']['most_streams']} "
        f"cameras, {s['what_fits']['streams']} need {s['what_fits']['cores_needed']} cores; "
        "report in reports/bench/run.md"
    )
    code = 130 if s["interrupted"] else (0 if s["slo"]["pass"] else 3)
    # one run, not the stage (the sweep): the summary's stage time stays the sweep's
    return StageResult("bench", [line], _public(s), exit_code=code, timed=False)
