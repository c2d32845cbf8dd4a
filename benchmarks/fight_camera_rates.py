"""What a fight hot spot costs at the frame rates its camera sends. The synthetic city records
at 10 fps, the registry's sub streams send 20-25: the city's hot-spot cameras are rendered
again at each rate (360p, as the footage stage renders them, into a scratch folder), and each
clip's decoding (every frame) and the streaming fight analytic are timed alone, as the live
load runs them, taking every frame and at the live flow rate (`fights.stream.flow_fps`), the
rates and options in turn for `--rounds` rounds.

Run: .venv/bin/python benchmarks/fight_camera_rates.py [--cameras pemkot-02 pemkot-04]
     [--rates 10 20 25] [--rounds 3] [--out reports/experiments/2026-12-07-fights-camera-rates.md]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ambon_cv.bench.costs import decode_cost, fight_cost
from ambon_cv.config import load_cameras, load_params
from ambon_cv.fights.motion import flows_a_second
from ambon_cv.footage.synth import render_city
from ambon_cv.machine import cpu_line

MODEL = Path("exports/fight-clips")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", nargs="+", default=["pemkot-02", "pemkot-04"])
    ap.add_argument("--rates", nargs="+", type=float, default=[10.0, 20.0, 25.0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--out", type=Path, default=Path("reports/experiments/2026-12-07-fights-camera-rates.md")
    )
    args = ap.parse_args()
    params = load_params(Path("params.yaml"))
    least = params.fights.stream.flow_fps
    city = params.footage.synthetic
    cameras = load_cameras(Path("data/cameras.yaml")).select(args.cameras)
    spent: dict[tuple[float, float, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        clips = {}
        for fps in args.rates:
            cfg = city.model_copy(update={"fps": fps, "cameras": args.cameras})
            rendered = render_city(cameras, cfg, Path(scratch) / f"{fps:g}")
            clips[fps] = [c.path for c in rendered]
        for _ in range(args.rounds):
            for fps, paths in clips.items():
                for taken in (0.0, least):
                    for path in paths:
                        key = (fps, taken, path.name.split("_")[0])
                        cost = decode_cost(path, "all"), fight_cost(path, MODEL, flow_fps=taken)
                        spent.setdefault(key, []).append(cost)
                        print(f"{fps:g} fps, {taken:g} least flows, {key[2]}: {cost}", flush=True)

    def span(values: list[float]) -> str:
        return f"{min(values):.4f}-{max(values):.4f}"

    lines = [
        "# A fight hot spot's cost at the frame rates its camera sends",
        "",
        f"The synthetic city's hot-spot cameras {', '.join(args.cameras)} rendered at "
        f"{', '.join(f'{r:g}' for r in args.rates)} fps, {city.width}x{city.height}, "
        f"{city.clip_seconds} s each; decoding every frame (one thread) and the streaming fight "
        f"analytic (`{MODEL}`: grey copy, motion, classifier) timed alone, CPU-seconds per second "
        f"of video, {args.rounds} rounds (the range over rounds). Measured on {cpu_line()}.",
        "",
        "| camera fps | frames taken | flows a second | camera | decoding | fight analytic "
        "| hot spot in all |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {fps:g} | {'every frame' if not taken else f'at least {taken:g} a second'} | "
            f"{flows_a_second(fps, taken):g} | {camera} | {span([d for d, _ in v])} | "
            f"{span([f for _, f in v])} | {span([d + f for d, f in v])} |"
            for (fps, taken, camera), v in sorted(spent.items())
        ],
        "",
        f"Shipped: `fights.stream.flow_fps: {least:g}`. The budget is 0.04 core a 360p hot spot "
        "(decoding, features and classifier).",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
