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
import time
from pathlib import Path

import numpy as np

from ambon_cv import plots
from ambon_cv.bench.harness import BenchError, run_load
from ambon_cv.bench.pipeline import PipelineConfig
from ambon_cv.bench.profiles import StreamProfile, stream_profiles
from ambon_cv.bench.streams import StreamSource
from ambon_cv.bench.summary import summarise
from ambon_cv.config import CameraRegistry, Params
from ambon_cv.machine import cpu_line
from ambon_cv.paths import under_root, write_json


def _model(params: Params, root: Path, model: str | None) -> str:
    chosen = model or params.bench.model
    if chosen.startswith("triton://"):
        return chosen
    path = under_root(chosen, root)
    if not path.exists():
        raise BenchError(f"no model at {path}: run the export stage first (dvc repro export)")
    return str(path)


def _config(params: Params, model: str, root: Path | None = None) -> PipelineConfig:
    b = params.bench
    return PipelineConfig(
        model=model,
        imgsz=b.imgsz,
        conf=b.conf,
        threads=b.threads,
        inference_workers=b.inference_workers,
        layout=b.layout,
        max_batch=b.max_batch,
        max_wait_ms=b.max_wait_ms,
        queue_size=b.queue_size,
        rules=params.evaluate.alerts,
        names=tuple(params.curate.classes),
        fights=_fights(params, root) if root else "",
    )


def _fights(params: Params, root: Path) -> str:
    """The exported fight analytic for the hot spots ('' when bench.fights is empty)."""
    if not params.bench.fights:
        return ""
    path = under_root(params.bench.fights, root)
    if not (path / "model.joblib").is_file():
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
    n = streams or b.streams
    profiles = stream_profiles(registry, n)
    duration = duration_s or b.duration_s
    config = _config(params, _model(params, root, model), root)
    with sources_for(profiles, source or b.source, registry, root, b.warmup_s + duration) as src:
        result = run_load(profiles, src, config, b.warmup_s, duration, b.workers, progress=progress)
    summary = summarise(result, b.slo)
    summary["model"] = _shown(config.model, root)
    summary["source"] = source or b.source
    summary["machine"] = cpu_line()
    if report:
        out = root / "reports" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "run.json", _public(summary))
        (out / "run.md").write_text(run_markdown(summary))
        plots.save(
            plots.latency_cdf({f"{n} streams": summary["latencies_ms"]}),
            out / "run_latency_cdf.png",
        )
    return summary


def sweep(params: Params, registry: CameraRegistry, root: Path, progress: bool = True) -> dict:
    """The capacity sweep (see the module docstring); returns reports/bench.json's content."""
    from ambon_cv.bench import costs
    from ambon_cv.inference.backends import open_backend

    b = params.bench
    s = b.sweep
    config = _config(params, _model(params, root, None), root)
    weights = root / "models" / "best.pt"
    if s.baseline_streams and not weights.exists():
        raise BenchError(f"the naive baseline needs {weights}: run dvc repro train")
    started = time.perf_counter()
    # naive: a thread per stream with ultralytics on the PyTorch weights (a first attempt);
    # naive_export: the same loop on the very export the pipeline runs, so the report tells
    # what the backend buys from what the pipeline buys
    points: dict[str, list[dict]] = {"pipeline": [], "naive": [], "naive_export": []}
    plan = [("pipeline", n) for n in sorted(set(s.streams) | {b.streams})]
    plan += [("naive", n) for n in sorted(set(s.baseline_streams))]
    if not config.model.startswith("triton://"):
        plan += [("naive_export", n) for n in sorted(set(s.baseline_streams))]
    interrupted = False
    for mode, n in plan:
        profiles = stream_profiles(registry, n)
        with sources_for(profiles, b.source, registry, root, b.warmup_s + s.duration_s) as src:
            naive = {"naive": str(weights), "naive_export": config.model}.get(mode)
            result = run_load(
                profiles, src, config, b.warmup_s, s.duration_s, b.workers,
                naive_weights=naive, progress=progress,
            )  # fmt: skip
        point = summarise(result, b.slo)
        point["mode"] = mode
        points[mode].append(point)
        if progress:
            verdict = (
                "PASS" if point["slo"]["pass"] else "FAIL " + "; ".join(point["slo"]["failed"])
            )
            print(
                f"bench: {mode} {n} streams: {point['analysed_fps']} of {point['target_fps']} "
                f"frames/s, p95 {point['latency_ms']['p95']} ms -> {verdict}",
                flush=True,
            )
        if result.interrupted:
            interrupted = True
            break

    # the costs alone, in this same run, and the bound they set: decoding measured on every
    # clip the load replays, in the decode mode of the stream that replays it (cameras differ:
    # a busy hot spot's frames cost twice a quiet street's)
    clips = camera_clips(root)
    sample = [c for cs in clips.values() for c in cs][:3]
    measured: dict[tuple[Path, str], float] = {}

    def stream_decode(n: int) -> list[float]:
        out = []
        for k, prof in enumerate(stream_profiles(registry, n)):
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
    hot_clip = next(
        (
            _clip_for(prof, clips, k)
            for k, prof in enumerate(stream_profiles(registry, b.streams))
            if "fight" in prof.kinds
        ),
        None,
    )
    fight_s = costs.fight_cost(hot_clip, Path(config.fights)) if config.fights and hot_clip else 0
    for p in points["pipeline"]:
        profiles = stream_profiles(registry, p["streams"])
        analytic = [fight_s if "fight" in prof.kinds else 0.0 for prof in profiles]
        decoding = [d + a for d, a in zip(per_stream[p["streams"]], analytic, strict=True)]
        bnd = costs.bound(profiles, decoding, frame_s)
        p["bound"] = bnd
        p["efficiency"] = (
            round(p["analysed_fps"] / bnd["analysed_fps"], 3) if bnd["analysed_fps"] else None
        )

    def best(mode: str) -> int:
        ok = [p["streams"] for p in points[mode] if p["slo"]["pass"]]
        return max(ok, default=0)

    at_default = next((p for p in points["pipeline"] if p["streams"] == b.streams), None)
    saturated = [p for p in points["pipeline"] if p["bound"]["cpu_needed"] > p["bound"]["cores"]]
    # efficiency where the load first needs more than the cores: the first point past the bound
    eff_point = (
        min(saturated, key=lambda p: p["streams"])
        if saturated
        else (points["pipeline"] or [None])[-1]
    )

    def need(n: int, rate_scale: float) -> float:
        profiles = stream_profiles(registry, n)
        analytic = sum(fight_s for prof in profiles if "fight" in prof.kinds)
        analysed = sum(prof.rate_fps for prof in profiles) * rate_scale
        return sum(stream_decode(n)) + analytic + analysed * frame_s

    fits = costs.what_fits(need, costs.cores(), b.streams)
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
        "interrupted": interrupted,
        "seconds": round(time.perf_counter() - started, 1),
    }
    reports = root / "reports"
    (reports / "bench").mkdir(parents=True, exist_ok=True)
    plots.save(plots.capacity(out), reports / "bench" / "sweep.png")
    curves = {f"{p['mode']} x{p['streams']}": p["latencies_ms"] for m in points.values() for p in m}
    plots.save(plots.latency_cdf(curves), reports / "bench" / "latency_cdf.png")
    write_json(reports / "bench.json", out)
    (reports / "bench.md").write_text(sweep_markdown(out))
    return out


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
        f"(ratio {s['analysed_ratio']}), drop rate {s['drop_rate']}",
        f"- latency capture->result p50/p95/p99: {s['latency_ms']['p50']} / "
        f"{s['latency_ms']['p95']} / {s['latency_ms']['p99']} ms",
        f"- per frame (ms): {s['stage_ms']}; mean batch {s['mean_batch']}",
        f"- CPU {s['cpu_percent']} %, peak memory {s['peak_memory_gb']} GB; decoded "
        f"{s['decoded_fps']} frames/s",
        f"- reconnects {s['reconnects']}, stream errors {s['stream_errors']}; alerts {s['alerts']}",
        f"- fight analytic in the load: {s.get('fight_analytic')}",
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
        f"baseline on the PyTorch weights {o['max_streams']['naive']} -> {o['x_naive']}x, "
        f"naive baseline on the same export {o['max_streams'].get('naive_export')} -> "
        f"{o.get('x_naive_export')}x (what the pipeline buys beyond the backend)",
        f"- what fits this box (costs alone, at most {o['what_fits']['headroom']:.0%} of its "
        f"cores): {o['what_fits']['most_streams']} cameras at the default profile (the sweep "
        f"held {o['max_streams']['pipeline']}); {o['verdict']['streams']} cameras need "
        f"{o['what_fits']['cores_needed']} cores at the default profile"
        + (
            f", or fit here at {o['what_fits']['rate_scale_for_all']:.0%} of the default "
            "analysis rates"
            if o["what_fits"]["rate_scale_for_all"]
            else ", and do not fit here even at a tenth of the analysis rates"
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
