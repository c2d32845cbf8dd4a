"""Benchmark of the footage and frames stages, measured side by side in one run.

1. Render the default synthetic city (every camera of the registry, params.yaml's
   footage.synthetic): wall time and frames/s. Target: at most 2 minutes for all 55 cameras.
2. On the same clips, our frame sampling against the ffmpeg CLI:
   - keyframes (PyAV, skip_frame=NONKEY, JPEGs written) vs
     `ffmpeg -skip_frame nokey -i CLIP -vsync 0 OUT/%04d.jpg`;       target ratio >= 0.8
   - fixed rate 1 fps (every frame decoded, sampled ones written as JPEG) vs
     ffmpeg's full decode `ffmpeg -i CLIP -f null -`;                target ratio >= 0.8
   A ratio is ffmpeg's time divided by ours (above 1: we are faster). Both run one clip at a
   time with their default decoder threading, alternating, best of --repeat rounds.

Run: .venv/bin/python benchmarks/footage_frames.py [--cameras N] [--real DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from ambon_cv.config import load_cameras, load_params
from ambon_cv.footage.synth import render_city
from ambon_cv.frames.sample import sample_clip


def ours(clips: list[Path], strategy: str) -> tuple[float, int]:
    kept = 0
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for clip in clips:
            for f in sample_clip(clip, strategy, rate_fps=1.0):
                cv2.imwrite(f"{tmp}/{kept}.jpg", f.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
                kept += 1
        return time.perf_counter() - start, kept


def ffmpeg(clips: list[Path], mode: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for i, clip in enumerate(clips):
            if mode == "keyframes":
                args = [
                    "-skip_frame",
                    "nokey",
                    "-i",
                    str(clip),
                    "-vsync",
                    "0",
                    "-q:v",
                    "3",
                    f"{tmp}/{i}_%04d.jpg",
                ]
            else:
                args = ["-i", str(clip), "-f", "null", "-"]
            subprocess.run(["ffmpeg", "-v", "error", "-nostdin", *args], check=True)
        return time.perf_counter() - start


def compare(label: str, clips: list[Path], repeat: int) -> list[str]:
    rows = []
    for strategy, mode, target in (
        ("keyframes", "keyframes", "ffmpeg -skip_frame nokey"),
        ("fixed_rate", "full", "ffmpeg full decode"),
    ):
        best_ours, best_ff, kept = float("inf"), float("inf"), 0
        for _ in range(repeat):
            t, kept = ours(clips, strategy)
            best_ours = min(best_ours, t)
            best_ff = min(best_ff, ffmpeg(clips, mode))
        ratio = best_ff / best_ours
        verdict = "PASS" if ratio >= 0.8 else "FAIL"
        rows.append(
            f"| {label} | {strategy} | {len(clips)} | {kept} | {best_ours:.2f} | "
            f"{target} {best_ff:.2f} | **{ratio:.2f}x** {verdict} |"
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=0, help="render only the first N cameras")
    parser.add_argument("--real", type=Path, help="also compare on the clips of this folder")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    cfg = load_params().footage.synthetic
    cameras = load_cameras().select(cfg.cameras)
    if args.cameras:
        cameras = cameras[: args.cameras]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        clips = render_city(cameras, cfg, Path(tmp))
        took = time.perf_counter() - start
        frames = sum(c.frames for c in clips)
        print(
            f"\nrender: {len(cameras)} cameras, {len(clips)} clips, {frames} frames at "
            f"{cfg.width}x{cfg.height} in {took:.1f} s = {frames / took:.0f} frames/s "
            f"({'PASS' if took <= 120 or len(cameras) < 55 else 'FAIL'}: target 120 s for 55)"
        )
        rows = [
            "| clips | strategy | n | frames kept | ours s | baseline s | ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        rows += compare("synthetic", [c.path for c in clips], args.repeat)
        if args.real:
            real = sorted(args.real.rglob("*.mp4"))
            rows += compare(f"real ({args.real.name})", real, args.repeat)
    print("\n".join(["", *rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
