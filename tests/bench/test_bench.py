"""The live-load harness against real exports of the tiny project: recorded clips replayed
live, real RTSP from our GStreamer server (with an outage), the naive baseline, a corrupt clip,
the sweep, and Ctrl-C."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ambon_cv.bench.harness import BenchError, run_load
from ambon_cv.bench.profiles import StreamProfile, stream_profiles
from ambon_cv.bench.stage import _config, bench, camera_clips
from ambon_cv.bench.streams import StreamSource
from ambon_cv.bench.summary import summarise
from ambon_cv.config import ConfigError
from tests.stages import run_stage

REPO = Path(__file__).resolve().parents[2]


def test_a_run_from_clips_meets_its_targets_and_reports(bench_project, registry):
    root, params = bench_project
    s = run_stage("bench", params, root, registry).details  # only its declared params
    assert s["streams"] == 6 and not s["interrupted"]
    assert s["analysed_ratio"] >= 0.9 and s["drop_rate"] <= 0.1, s
    assert 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["p95"] <= s["latency_ms"]["p99"]
    assert all(v is not None and v >= 0 for v in s["stage_ms"].values())
    assert s["cpu_percent"] > 0 and 0 < s["peak_memory_gb"] < 3
    assert s["stream_errors"] == 0 and s["reconnects"] == 0
    # a hot spot: decoded in full for its fight analytic, the detector at the garbage rate
    hot = next(p for p in s["per_stream"] if p["decode"] == "all")
    assert hot["target_fps"] == 0.5 and hot["fight_windows"] > 0
    assert s["fight_analytic"]["coverage"] == 1.0 and s["fight_analytic"]["streams"] == 4
    assert s["least_served_ratio"] >= 0.6 and s["gated_share"] is not None
    assert s["what_fits"]["most_streams"] > 0
    # the other profile there is: the hot spots at keyframes, without their fight analytic
    plain = s["what_fits"]["without_fight_analytic"]
    assert plain["most_streams"] >= s["what_fits"]["most_streams"]
    assert plain["cores_needed"] < s["what_fits"]["cores_needed"]
    run = json.loads((root / "reports" / "bench" / "run.json").read_text())
    assert run["slo"] == s["slo"] and "latencies_ms" not in run
    report = (root / "reports" / "bench" / "run.md").read_text()
    assert "| stream |" in report and "with the hot spots at keyframes only" in report


def test_a_corrupt_clip_is_reported_and_the_others_go_on(bench_project, registry, tmp_path):
    root, params = bench_project
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    good = next(iter(camera_clips(root).values()))[0]
    profiles = [
        StreamProfile(f"s{k}", "pemkot-02", "sub", "all", 5.0, ("fight",)) for k in range(3)
    ]
    sources = [StreamSource("clip", str(bad)), StreamSource("clip", str(good)),
               StreamSource("clip", str(good))]  # fmt: skip
    result = run_load(profiles, sources, _config(params, str(root / "exports/model.onnx")), 1, 3)
    s = summarise(result, params.bench.slo)
    broken, *others = s["per_stream"]
    assert broken["errors"] >= 1 and "broken.mp4" in broken["last_error"]
    assert broken["analysed_fps"] == 0
    assert all(p["ratio"] >= 0.9 and p["errors"] == 0 for p in others), others


def test_the_window_opens_once_every_stream_has_had_two_slots(bench_project, registry):
    # a stream's first slot is always inferred (its gate has nothing to compare with): past
    # capacity slots come seldom, and a window opened after a fixed warm-up measured the start
    root, params = bench_project
    clip = next(iter(camera_clips(root).values()))[0]
    profiles = [
        StreamProfile(f"s{k}", "pemkot-02", "sub", "keyframes", 0.5, ("garbage",)) for k in range(2)
    ]
    sources = [StreamSource("clip", str(clip))] * 2
    config = _config(params, str(root / "exports/model.onnx"))
    slow = run_load(profiles, sources, config, warmup_s=0.5, duration_s=1, progress=False)
    assert slow.warmup_s >= 1.9  # a 0.5 fps stream's second slot comes 2 s after its first
    due = {name: c["due"] for name, c in slow.stats_start.items()}
    assert all(due[p.name] >= 2 for p in profiles), due  # the counters it opened at
    assert all(slow.window[0] <= r.captured < slow.window[1] for r in slow.records)
    capped = run_load(
        profiles, sources, config, warmup_s=0.5, duration_s=1, progress=False, warmup_most_s=1
    )
    assert 0.9 <= capped.warmup_s <= 1.6  # ... but never longer than warmup_most_s
    assert summarise(capped, params.bench.slo)["warmup_s"] == capped.warmup_s


def test_the_central_layout_feeds_inference_through_shared_memory(bench_project, registry):
    root, params = bench_project
    config = _config(params, str(root / "exports/int8_openvino_model"))
    config = dataclasses.replace(config, layout="central", inference_workers=2)
    profiles = stream_profiles(registry, 4)
    clips = camera_clips(root)
    pool = [c for cs in clips.values() for c in cs]
    sources = [StreamSource("clip", str(pool[k % len(pool)])) for k in range(4)]
    result = run_load(profiles, sources, config, warmup_s=1.5, duration_s=4, workers=2)
    s = summarise(result, params.bench.slo)
    assert {r.stream for r in result.records} == {0, 1, 2, 3}  # both inference processes answered
    assert s["analysed_ratio"] >= 0.9 and s["drop_rate"] <= 0.1, s
    assert s["stream_errors"] == 0


def test_the_analyser_warms_the_batch_sizes_it_infers_before_the_load(bench_project, monkeypatch):
    # a dynamic OpenVINO model sets itself up on the first call at each batch size (hundreds
    # of ms): a worker that met them mid-run stalled its decoding and shed its hot spots
    import ambon_cv.inference.backends as backends
    from ambon_cv.bench.pipeline import Analyser

    root, params = bench_project
    sizes: list[int] = []
    real_open = backends.open_backend

    def recording(*args, **kwargs):
        backend = real_open(*args, **kwargs)
        infer = backend.infer
        backend.infer = lambda x: sizes.append(len(x)) or infer(x)
        return backend

    monkeypatch.setattr(backends, "open_backend", recording)
    config = _config(params, str(root / "exports/int8_openvino_model"))
    analyse = Analyser(config, ["pemkot-01"])
    assert analyse.max_batch == params.bench.max_batch
    assert sizes == [1, 2, 4] == analyse.sizes  # (batch_sizes(16): 1, 2, 4, 8, 16)
    # and a batch only ever takes one of those sizes: 7 waiting go as 4, then 2, then 1
    assert [analyse.batch_size(n) for n in (7, 3, 1, 40)] == [4, 2, 1, 4]
    analyse.close()


@pytest.mark.parametrize("layout", ["per_core", "central"])
def test_a_model_that_does_not_fit_the_load_is_named_before_it_starts(
    bench_project, registry, layout
):
    root, params = bench_project
    model = root / "exports/int8_openvino_model"
    config = dataclasses.replace(_config(params, str(model)), imgsz=96, layout=layout)
    clip = next(iter(camera_clips(root).values()))[0]
    with pytest.raises(BenchError, match=r"did not load.*int8_openvino_model.*set up for 96 px"):
        run_load(stream_profiles(registry, 2), [StreamSource("clip", str(clip))] * 2, config, 0, 1)


@pytest.mark.slow
def test_rtsp_outage_reconnects_with_backoff_and_spares_other_streams(bench_project, registry):
    from ambon_cv.bench.rtsp import RtspServer

    root, params = bench_project
    clip = next(iter(camera_clips(root).values()))[0]
    profiles = [StreamProfile("live", "pemkot-02", "sub", "all", 5.0, ("fight",)),
                StreamProfile("recorded", "pemkot-04", "sub", "all", 5.0, ("fight",))]  # fmt: skip
    streaming = threading.Event()
    with RtspServer({"live": clip}, 40, root / ".cache" / "rtsp") as server:
        sources = [StreamSource("rtsp", server.url("live")), StreamSource("clip", str(clip))]

        def outage():  # 2 s into the streaming, once the models are loaded and warmed
            streaming.wait(120)
            time.sleep(2.0)
            server.stop()
            time.sleep(3)
            server.start()

        t = threading.Thread(target=outage)
        t.start()
        config = _config(params, str(root / "exports/int8_openvino_model"))
        result = run_load(
            profiles, sources, config, warmup_s=1.5, duration_s=12, streaming=streaming
        )
        t.join()
    s = summarise(result, params.bench.slo)
    live, recorded = s["per_stream"]
    assert live["reconnects"] >= 1 and live["errors"] >= 1 and live["last_error"]
    assert live["dropped"] > 0  # the outage's slots were missed, and counted
    restart = max(r.captured for r in result.records if r.stream == 0) - 2
    assert any(r.stream == 0 and r.captured > restart for r in result.records), (
        "no frames after restart"
    )
    assert recorded["ratio"] >= 0.9 and recorded["errors"] == 0


@pytest.mark.slow
def test_real_rtsp_mode_through_the_stage(bench_project, registry):
    root, params = bench_project
    # an RTSP session takes about a second to open and the shared media starts on first play
    params = params.model_copy(update={"bench": params.bench.model_copy(update={"warmup_s": 4})})
    s = bench(params, registry, root, streams=3, source="rtsp", duration_s=6, progress=False)
    assert s["source"] == "rtsp" and s["analysed_ratio"] >= 0.85, s
    assert s["stream_errors"] == 0


@pytest.mark.slow
def test_the_sweep_compares_with_the_naive_baseline(bench_project, registry):
    root, params = bench_project
    o = run_stage("bench", params, root, registry, action="sweep").details
    assert o["verdict"]["streams"] == 6 and isinstance(o["verdict"]["pass"], bool)
    # and the overload run, at twice the most streams held (bench.sweep.overload_x)
    ov = o["overload"]
    assert ov["streams"] == 2 * ov["capacity"] and ov["capacity"] in (3, 6)
    # the pipeline starts at the default count (6) and goes below it only when that failed
    grid = [p for p in o["points"]["pipeline"] if "overload_of" not in p]
    held_6 = grid[0]["streams"] == 6 and grid[0]["slo"]["pass"]
    assert [p["streams"] for p in grid] == ([6] if held_6 else [6, 3])
    assert 0 < ov["ratio_to_max"] <= 1
    assert isinstance(ov["pass"], bool) and "overload:" in (root / "reports/bench.md").read_text()
    naive = o["points"]["naive"][0]
    assert naive["mode"] == "naive" and naive["analysed_fps"] > 0
    # the same naive loop on the very export the pipeline runs (a fair baseline)
    same_export = o["points"]["naive_export"][0]
    assert same_export["mode"] == "naive_export" and same_export["analysed_fps"] > 0
    # each baseline ran its listed 3 streams, then 6 only while it held, and only where the
    # pipeline held 6: its most held is never the last count it happened to be asked; where
    # 3 failed, 1 (half of it) next
    for mode in ("naive", "naive_export"):
        first = o["points"][mode][0]["slo"]["pass"]
        stepped = ([3, 6] if held_6 else [3]) if first else [3, 1]
        assert [p["streams"] for p in o["points"][mode]] == stepped
    assert set(o["max_streams"]) == {"pipeline", "naive", "naive_export"}
    assert o["max_streams"]["pipeline"] >= 3
    for p in o["points"]["pipeline"]:
        assert p["bound"]["analysed_fps"] > 0 and p["efficiency"] > 0
    assert o["costs_alone"]["fight_analytic_core_per_stream"] > 0  # the hot spots' analytic
    costs = o["costs_alone"]
    # (on these 6-s test clips opening the file outweighs decoding: only the default city's
    # 30-s clips show keyframes-only far cheaper, 0.0014 against 0.004 CPU-s per video-s)
    assert all(v > 0 for v in costs["decode_cpu_s_per_video_s"].values())
    assert all(v > 0 for v in costs["per_frame_ms"].values())
    fits = o["what_fits"]
    assert fits["most_streams"] > 0 and fits["cores_needed"] > 0
    assert "what fits this box" in (root / "reports" / "bench.md").read_text()
    # the test clips replay at 5 fps, the registry's streams send 20-25: the hot spots cost more
    faster = fits["at_camera_rates"]
    assert max(faster["clip_fps"]) < min(faster["camera_fps"]) and max(faster["camera_fps"]) == 25
    assert faster["cores_needed"] > fits["cores_needed"]
    report = (root / "reports" / "bench.md").read_text()
    assert "at the frame rates the registry's streams send" in report
    saved = json.loads((root / "reports" / "bench.json").read_text())
    assert saved["max_streams"] == o["max_streams"]
    for png in ("sweep.png", "latency_cdf.png"):
        assert (root / "reports" / "bench" / png).stat().st_size > 0


@pytest.mark.slow
def test_ctrl_c_writes_the_partial_report(bench_project):
    root, _ = bench_project
    report = root / "reports" / "bench" / "run.json"
    report.unlink(missing_ok=True)
    env = dict(os.environ, AMBON_ROOT=str(root))
    ambon = str(Path(sys.executable).with_name("ambon"))
    command = [ambon, "bench", "--streams", "3", "--duration", "60"]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seen: list[str] = []

    def pump() -> None:  # the progress bar ends its lines with \r: read it as it comes
        for char in iter(lambda: proc.stdout.read(1), ""):
            seen.append(char)

    reader = threading.Thread(target=pump)
    reader.start()
    deadline = time.monotonic() + 180  # start-up and model load (warmed at each batch size)
    while "streams:" not in "".join(seen) and time.monotonic() < deadline:
        time.sleep(0.5)  # the progress bar: the streams have started
    time.sleep(4)  # past the warm-up: measuring has begun
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    reader.join(10)
    out = "".join(seen)
    assert proc.returncode == 130, out
    saved = json.loads(report.read_text())
    assert saved["interrupted"] is True and saved["slo"]["pass"] is False
    assert "interrupted" in saved["slo"]["failed"]


def test_camera_urls_need_their_credentials(bench_project, registry, monkeypatch):
    from ambon_cv.bench.stage import sources_for

    root, _ = bench_project
    for var in ("AMBON_PEMKOT_USER", "AMBON_PEMKOT_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    with (
        pytest.raises(ConfigError, match="AMBON_PEMKOT_USER"),
        sources_for(stream_profiles(registry, 2), "cameras", registry, root, 5),
    ):
        pass


@pytest.mark.slow
def test_triton_serves_the_export_and_the_harness_drives_it(bench_project, registry):
    import numpy as np
    import onnxruntime as ort

    from ambon_cv.bench import serve
    from ambon_cv.inference.backends import open_backend

    root, params = bench_project
    venv = root / ".venv-triton"
    if not venv.exists():
        venv.symlink_to(REPO / ".venv-triton")
    info = serve.start(root, "ambon-detector")
    try:
        assert serve.status(root)["grpc_port"] == info["grpc_port"]
        backend = open_backend(info["url"], names=params.curate.classes, imgsz=64)
        x = np.random.default_rng(1).random((5, 3, 64, 64), np.float32)
        onnx = ort.InferenceSession(str(root / "exports/triton/ambon-detector/1/model.onnx"))
        assert np.allclose(backend.infer(x), onnx.run(None, {"images": x})[0], atol=1e-4)
        s = bench(
            params, registry, root, streams=3, model=info["url"], duration_s=3, progress=False
        )
        assert s["analysed_ratio"] >= 0.85 and s["model"] == info["url"], s
    finally:
        assert serve.stop(root)
    assert serve.status(root) is None
    shutil.rmtree(root / ".cache" / "triton", ignore_errors=True)


def test_a_missing_fight_analytic_says_what_to_do(bench_project):
    from ambon_cv.config import load_params

    root, _ = bench_project
    model = str(root / "exports/model.onnx")
    missing = load_params(root / "params.yaml", {"bench.fights": "exports/nowhere"})
    with pytest.raises(BenchError, match=r"no fight analytic at .*nowhere: run the export"):
        _config(missing, model, root)
    alone = load_params(root / "params.yaml", {"bench.fights": ""})
    assert _config(alone, model, root).fights == ""
    on = load_params(root / "params.yaml", {"bench.fights": "exports/fight-clips"})
    config = _config(on, model, root)
    assert config.fights.endswith("fight-clips") and config.imgsz == 64  # the export's own size


@pytest.mark.slow
def test_an_emulated_slower_cpu_is_checked_by_timing_and_shrinks_what_fits(bench_project, registry):
    from ambon_cv.bench.emulate import CpuQuota, EmulationError

    try:
        with CpuQuota(0.5, 1):
            pass
    except EmulationError as exc:
        pytest.skip(str(exc))
    root, params = bench_project
    b = params.bench
    emulate = b.emulate.model_copy(update={"core_share": 0.25})
    slow = params.model_copy(update={"bench": b.model_copy(update={"emulate": emulate})})
    s = bench(slow, registry, root, progress=False)
    check = s["emulation"]
    assert 0.18 <= check["busy_loop_core_share"] <= 0.32, check
    assert check["cores_available"] == pytest.approx(0.25 * len(os.sched_getaffinity(0)))
    fast = bench(params, registry, root, progress=False)
    assert s["what_fits"]["most_streams"] < fast["what_fits"]["most_streams"]


@pytest.mark.slow
def test_an_emulated_avx2_cpu_runs_the_whole_bench_on_avx2_kernels(bench_project, registry):
    """`ambon bench` with bench.emulate.isa=avx2 runs in a process that sees no AVX-512, VNNI
    or AMX: the model is compiled to AVX2 kernels there (and to the CPU's own natively), the
    report names the emulation, and the stage function alone refuses to run it unmasked."""
    from ambon_cv.bench import emulate

    if not emulate.can_fault_cpuid():
        pytest.skip("this kernel or CPU cannot make CPUID fault")
    root, params = bench_project
    b = params.bench
    isa = b.emulate.model_copy(update={"isa": "avx2"})
    old = params.model_copy(update={"bench": b.model_copy(update={"emulate": isa})})
    s = run_stage("bench", old, root, registry, streams=3).details
    check = s["emulation"]
    assert set(check["kernels"]["avx2"]) <= {"avx2", "avx", "sse42", "ref"}, check
    assert check["kernels"]["avx2"].get("avx2", 0) > 0
    assert set(check["features_seen"]["avx2"]) == {"AVX2", "FMA3"}
    if "AVX512F" in emulate.features_seen():  # natively this CPU compiles it to more
        assert set(check["kernels"]["native"]) & {"avx512", "amx"}, check
    assert check["infer_ms_per_frame"]["avx2"] > 0 and s["analysed_fps"] > 0
    assert "emulated avx2 CPU" in s["machine"]
    with pytest.raises(emulate.EmulationError, match="ambon bench"):
        bench(old, registry, root, streams=3, progress=False)


@pytest.mark.slow
def test_a_sweep_run_that_cannot_start_is_named_and_the_runs_before_it_are_kept(
    bench_project, registry, tmp_path
):
    """A naive baseline whose weights will not load: tried twice, recorded as not run with
    the reason, and the sweep goes on with what it measured (a stuck run once threw away
    fourteen minutes of them)."""
    from ambon_cv.bench.stage import _model, _sweep_points, fight_mode
    from ambon_cv.config import load_params

    root, _ = bench_project
    params = load_params(
        root / "params.yaml",
        {"bench.warmup_s": 1.5, "bench.streams": 3, "bench.max_batch": 4,
         "bench.sweep.streams": [3], "bench.sweep.baseline_streams": [1],
         "bench.sweep.duration_s": 3, "bench.sweep.overload_x": 0},
    )  # fmt: skip
    broken = tmp_path / "best.pt"
    broken.write_bytes(b"not a checkpoint")
    config = _config(params, _model(params, root, None), root)
    points, not_run, interrupted = _sweep_points(
        params, registry, root, config, fight_mode(params, config), broken, None, False
    )
    assert not interrupted and [p["streams"] for p in points["pipeline"]] == [3]
    assert points["naive"] == [] and points["naive_export"][0]["analysed_fps"] > 0
    # the export's naive loop steps up from its listed count while it holds, to the most the
    # pipeline held and no further
    first, held = points["naive_export"][0], points["pipeline"][0]["slo"]["pass"]
    stepped = [1, 3] if first["slo"]["pass"] and held else [1]
    assert [p["streams"] for p in points["naive_export"]] == stepped
    (failed,) = not_run
    assert failed["mode"] == "naive" and failed["streams"] == 1
    assert "naive" in failed["error"] and "ready" in failed["error"]


def test_stream_counts_under_one_are_refused(bench_project, registry):
    root, params = bench_project
    for n in (0, -3):
        with pytest.raises(BenchError, match=rf"--streams {n}: a load needs at least 1 stream"):
            bench(params, registry, root, streams=n, progress=False)


def test_a_refused_camera_is_named_and_its_password_is_written_nowhere(
    bench_project, tmp_path, monkeypatch
):
    """Cameras whose streams refuse the connection (a closed port on loopback): the run
    names each camera and what to check, and the password is in no report or summary."""
    import yaml

    from ambon_cv.config import load_cameras
    from ambon_cv.services import free_port

    root, params = bench_project
    password = "Pw-4-test-cam-9d2f"
    for owner in ("PEMKOT", "POLDA"):
        monkeypatch.setenv(f"AMBON_{owner}_USER", "operator")
        monkeypatch.setenv(f"AMBON_{owner}_PASSWORD", password)
    cameras = yaml.safe_load((REPO / "data" / "cameras.yaml").read_text())
    port = free_port()  # nothing listens there
    for cam in cameras["cameras"]:
        owner = cam["owner"].upper()
        for stream in cam["streams"].values():
            stream["url"] = (
                f"rtsp://${{AMBON_{owner}_USER}}:${{AMBON_{owner}_PASSWORD}}@127.0.0.1:{port}"
                f"/{cam['id']}"
            )
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump(cameras))
    s = bench(params, load_cameras(path), root, streams=2, source="cameras", duration_s=2,
              progress=False)  # fmt: skip
    assert not s["slo"]["pass"]
    errors = [p["last_error"] for p in s["per_stream"]]
    assert all(e.startswith(f"camera {p['camera']}:") for e, p in zip(errors, s["per_stream"],
               strict=True)), errors  # fmt: skip
    assert all("rtsp://***@127.0.0.1" in e and "credentials in .env" in e for e in errors)
    written = [root / "reports" / "bench" / "run.json", root / "reports" / "bench" / "run.md"]
    for f in written:
        assert password not in f.read_text(), f"the password is in {f}"
    assert password not in json.dumps(s, default=str)
