"""Every `ambon` command: its help, its options, the params it reads and the function it runs.

The CLI (ambon_cv.cli) is generated from `COMMANDS`; notebooks and tests run a command with
`run_command(name, params, io, **options)`. A pipeline stage (`stage=True`) declares exactly
the params of its `dvc.yaml` entry (tests/test_pipeline.py keeps the two equal), and
`StageParams` refuses it anything else (see ambon_cv.contract).

Each target is imported only when its command runs, so `ambon --help` loads no model library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, get_args

from ambon_cv.config import Camera, Params
from ambon_cv.contract import StageIO, StageParams, StageResult


@dataclass(frozen=True)
class Option:
    """One command-line option or argument, as `argparse.add_argument` takes it."""

    flags: tuple[str, ...]
    spec: dict[str, Any] = field(default_factory=dict)


def option(*flags: str, **spec: Any) -> Option:
    return Option(flags, spec)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    description: str
    target: str  # "module:function", called as function(params, io, **options)
    params: tuple[str, ...] = ()  # sections or dotted keys it reads; ("*",) for all
    options: tuple[Option, ...] = ()
    stage: bool = False  # a dvc.yaml stage: timed, and its params are its dvc.yaml entry's
    overrides: bool = True  # takes -S key=value
    pass_overrides: bool = False  # hands the -S list on (base build records it in the card)

    def function(self):
        module, _, name = self.target.partition(":")
        return getattr(import_module(module), name)

    def run(self, params: Params | None, io: StageIO, **options: Any) -> StageResult:
        view = StageParams(params if params is not None else Params(), self.params, self.name)
        return self.function()(view, io, **options)


ACTIONS = {"choices": ["up", "down", "status"], "nargs": "?", "default": "status"}
REGISTRY = option("--registry", help="camera registry (default: data/cameras.yaml)")

COMMANDS: tuple[Command, ...] = (
    Command(
        "cameras",
        "list and validate the camera registry (data/cameras.yaml)",
        "List the command center's cameras, or validate the registry with --check.",
        "ambon_cv.tools:cameras",
        options=(
            REGISTRY,
            option("--owner", choices=list(get_args(Camera.model_fields["owner"].annotation))),
            option("--check", action="store_true", help="validate and print a one-line summary"),
            option("--json", dest="json_out", action="store_true", help="print them as JSON"),
        ),
        overrides=False,
    ),
    Command(
        "params",
        "show the validated params.yaml (with -S overrides applied)",
        "Validate params.yaml and print it with defaults filled in.",
        "ambon_cv.tools:show_params",
        ("*",),
        options=(
            option("section", nargs="?", help="only this stage's section"),
            option("--params", dest="params_file", help="params file (default: params.yaml)"),
        ),
    ),
    Command(
        "footage",
        "footage stage: pull recorded clips (or render the synthetic city) + manifest",
        "pull: bring clips from params footage.source (synthetic | dir | s3) into data/footage/ "
        "and write data/footage/manifest.parquet. synth: render the synthetic city as a recorder "
        "export into --out (no manifest), e.g. to try the dir source.",
        "ambon_cv.footage.pull:run",
        ("footage",),
        (
            option("action", nargs="?", choices=["pull", "synth"], default="pull"),
            option(
                "--out",
                help="pull: a scratch folder instead of data/footage (the pipeline's footage "
                "stays as it is); synth: the target (default data/footage/synthetic-export)",
            ),
            option("--camera", action="append", help="synth: only this camera (repeatable)"),
            REGISTRY,
        ),
        stage=True,
    ),
    Command(
        "real",
        "real stage: find the real data folders (params real.root) and fingerprint them",
        "Write data/real.json: for each folder of params real.folders under real.root (default "
        "../shared/datasets), whether it is there and a hash of its files. The stages that read "
        "real data depend on it; a folder that is not there is skipped.",
        "ambon_cv.real_data:run",
        ("real",),
        stage=True,
    ),
    Command(
        "frames",
        "frames stage: sample JPEG frames from the footage, drop near-duplicates",
        "Sample the usable clips of data/footage/manifest.parquet with params frames.strategy "
        "(fixed_rate | keyframes | scene_change), drop per-camera near-duplicates, write "
        "data/frames/images/ and data/frames/frames.parquet.",
        "ambon_cv.frames.build:run",
        ("frames",),
        stage=True,
    ),
    Command(
        "curate",
        "curate stage: the FiftyOne dataset, leakage-free splits, views, YOLO export",
        "Build or update the FiftyOne dataset from data/frames and the real folders of params "
        "curate.real; assign leakage-free splits; embed with our own model and run FiftyOne "
        "Brain; save views; export data/curated/yolo; write reports/curate.md.",
        "ambon_cv.curate.dataset:run",
        ("curate", "real.root"),
        stage=True,
    ),
    Command(
        "db",
        "the project's MongoDB for FiftyOne: up, down, status",
        "Start (once, reused by every process), stop or show the project's mongod (127.0.0.1, "
        "data in data/fiftyone; port from AMBON_DB_PORT, default 27217).",
        "ambon_cv.tools:db",
        options=(option("action", **ACTIONS),),
        overrides=False,
    ),
    Command(
        "app",
        "open the FiftyOne App on 127.0.0.1 with the dataset and a saved view",
        "Serve the FiftyOne App for the curated dataset on 127.0.0.1; open the printed address "
        "in a browser. Ctrl-C stops it.",
        "ambon_cv.tools:app",
        ("curate.dataset",),
        (
            option(
                "--view",
                help="a saved view: fights, garbage, night, unreviewed, reviewed, val, hard, "
                "to_label, disagree",
            ),
            option("--port", type=int, default=5151),
            option("--no-wait", action="store_true", help="start and return (for scripts)"),
        ),
    ),
    Command(
        "labelstudio",
        "the Label Studio server (own venv, 127.0.0.1): up, down, status",
        "Start, stop or show the project's Label Studio server. User, password and API token "
        "come from the environment or .env (see .env.example); data in data/labelstudio.",
        "ambon_cv.tools:labelstudio",
        options=(
            option("action", **ACTIONS),
            option("--port", type=int, help="default: AMBON_LS_PORT or 8089"),
        ),
        overrides=False,
    ),
    Command(
        "label",
        "annotation loop: rank frames, push them to Label Studio, pull labels, restore",
        "rank: order the unreviewed frames by label.rank (view to_label), the model pre-filling "
        "those without its boxes. push: make the first --limit frames of a view (default "
        "to_label, ranked first) tasks, pre-filled, never twice. pull: bring completed "
        "annotations back into FiftyOne as ground truth, tagged reviewed, compared with the "
        "model (view disagree); the export is saved to data/labels/labelstudio-export.json "
        "(DVC). restore: rebuild the Label Studio project from that export (--rev: from an "
        "older git revision) after its data was lost. curve: val mAP50 after 50, 100, 200 human "
        "labels, ranked against random, on a synthetic city the model never saw (label.curve; "
        "reports/label_curve.png).",
        "ambon_cv.curate.loop:run",
        ("label", "curate.classes", "curate.dataset", "curate.real"),
        (
            option("action", choices=["rank", "push", "pull", "restore", "curve"]),
            option("--view", default="to_label", help="push: the saved view to send"),
            option("--limit", type=int, help="push: the first this many frames of the view"),
            option("--rev", help="restore: the git revision of the export (default: the file)"),
            option(
                "--new-project",
                action="store_true",
                help="push: start a new project on a server that has none, although a pulled "
                "export exists (otherwise: restore first)",
            ),
        ),
    ),
    Command(
        "train",
        "train stage: fine-tune the released base detector on data/curated/yolo",
        "Train the detector with params train: by default fine-tune the released base "
        "(models/base/); or a local .pt, a named start, a model .yaml from scratch; offline. "
        "Log epochs with DVCLive in dvclive/train, publish models/best.pt, last.pt, args.yaml "
        "and reports/train.json. --resume continues an interrupted run.",
        "ambon_cv.train.trainer:run",
        ("train",),
        (option("--resume", action="store_true", help="continue from runs/train/ambon/last.pt"),),
        stage=True,
    ),
    Command(
        "base",
        "the released base detector (models/base/): build and release a new version",
        "people: the people teacher (a pinned wheel, build time only) boxes the people in every "
        "real frame curation ingests, into models/base/people-labels.json (the curate stage adds "
        "them to ground truth), with a contact sheet in reports/people/ to look at. "
        "build: train with the train.base recipe of params.yaml on the curated train split, "
        "evaluate, and release models/base/ambon-base-v<N>.pt with its card. release: release "
        "models/best.pt as it stands (after ambon train and ambon evaluate). A released version "
        "is never overwritten.",
        "ambon_cv.tools:base",
        ("*",),
        (
            option("action", choices=["people", "build", "release"]),
            option("--version", type=int, help="build, release: the new base's version number"),
            option("--note", default="", help="a line for the card (why this base)"),
        ),
        pass_overrides=True,
    ),
    Command(
        "fights",
        "fights stage: the real-fight clip classifier, cross-validated by recording",
        "Learn real fights from a folder of fight/ and noFight/ clips (params fights): motion "
        "features per clip, a classifier, cross-validation grouped by source recording; writes "
        "classifiers/fight-clips/ and reports/fights.{json,md}; chooses the fight incidents' "
        "opening threshold to meet fights.budget false alerts per camera-hour.",
        "ambon_cv.fights.stage:run",
        ("fights", "real.root", "evaluate.alerts"),
        stage=True,
    ),
    Command(
        "evaluate",
        "evaluate stage: frame, event (alerts) and real-footage metrics of models/best.pt",
        "Frame metrics on the val split (stored in FiftyOne as eval), event metrics on held-out "
        "synthetic clips (rendered like footage.synthetic, with evaluate.events' own seed) "
        "through the alert logic, and real-footage checks; writes reports/evaluate.{json,md} "
        "and plots in reports/evaluate/.",
        "ambon_cv.evaluate.stage:run",
        ("evaluate", "real.root", "curate.dataset", "curate.real", "footage.synthetic"),
        (
            option(
                "--real-garbage",
                metavar="DIR",
                help="only the real-footage checks, on this YOLO-format folder of your own; "
                "written to reports/real/, the pipeline's report is left as it is",
            ),
            option(
                "--real-fights",
                metavar="DIR",
                help="only the real-footage checks, on this folder of fight/ and noFight/ "
                "clips; written to reports/real/",
            ),
        ),
        stage=True,
    ),
    Command(
        "export",
        "export stage: ONNX, OpenVINO FP16/INT8, TorchScript (TensorRT on a GPU), proven equal, "
        "timed, packaged for Triton",
        "Export models/best.pt to every format in params export.formats at the size it was "
        "trained at, check each one's val mAP50 against PyTorch (params export.parity), time "
        "them side by side, write the Triton model repository and the model card into exports/, "
        "and the report into reports/export.{json,md}. `ambon export publish` tags the "
        "committed export as ambon-detector@vX.Y.Z for `dvc artifacts get`.",
        "ambon_cv.export.stage:run",
        ("export",),
        (
            option("action", nargs="?", choices=["run", "publish"], default="run"),
            option(
                "--allow-degraded",
                action="store_true",
                help="publish exports/ even when a format misses its parity bound (marked failed)",
            ),
            option(
                "--allow-weak",
                action="store_true",
                help="publish: tag a model below the quality floor (export.floor) anyway",
            ),
            option("--version", help="publish: the version (default: params export.version)"),
        ),
        stage=True,
    ),
    Command(
        "bench",
        "bench stage: does this box hold the live load? (sweep: how many streams it holds)",
        "Replay the command center's streams (params bench: recorded clips replayed live, our "
        "RTSP server, or the cameras' URLs) against an exported model for a fixed time after a "
        "warm-up; report analysed fps against target, latency capture->result, drops, CPU, "
        "memory, time per stage and alerts, with a verdict against params bench.slo (exit 3 on "
        "FAIL). `sweep` steps the stream count for the pipeline and the naive baselines and "
        "writes reports/bench.{json,md}. Ctrl-C writes a partial report.",
        "ambon_cv.bench.stage:run",
        ("bench", "evaluate.alerts", "evaluate.gate", "curate.classes"),
        (
            option("action", nargs="?", choices=["run", "sweep"], default="run"),
            option("--streams", type=int, help="streams (default: params bench.streams)"),
            option("--source", choices=["clips", "rtsp", "cameras"], help="default: bench.source"),
            option(
                "--rtsp", dest="source", action="store_const", const="rtsp", help="--source rtsp"
            ),
            option("--model", help="an export or triton://host:port/model (default: bench.model)"),
            option("--duration", type=float, help="measured seconds (default: bench.duration_s)"),
        ),
        stage=True,
    ),
    Command(
        "serve",
        "start a Triton Inference Server for exports/triton (gRPC on 127.0.0.1)",
        "Serve the exported model with a real Triton server (dynamic batching from "
        "exports/triton/<model>/config.pbtxt) in the background, for `ambon bench --model "
        "triton://...` or other clients. --stop ends it.",
        "ambon_cv.tools:serve",
        ("export.triton",),
        (
            option("--port", type=int, help="gRPC port (default 8001, or a free one)"),
            option("--stop", action="store_true"),
            option("--status", action="store_true"),
        ),
    ),
    Command(
        "summary",
        "one screen on what the pipeline found; writes reports/index.md (end of make run)",
        "Gather every stage's headline, the checks it skipped and the time it took into one "
        "screen and reports/index.md.",
        "ambon_cv.tools:summary",
        overrides=False,
    ),
)

BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
STAGES: tuple[str, ...] = tuple(c.name for c in COMMANDS if c.stage)


def run_command(name: str, params: Params | None, io: StageIO, **options: Any) -> StageResult:
    """Run the command `name` as `ambon <name>` would, with only its declared params."""
    return BY_NAME[name].run(params, io, **options)
