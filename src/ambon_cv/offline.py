"""Offline-safe runtime, applied once on `import ambon_cv`.

The command center's machines reach no internet, and a tool that phones home either hangs on a
timeout or fails. Every switch that keeps ultralytics, DVC, FiftyOne, OpenVINO/NNCF, Label
Studio and the Hugging Face hub quiet lives here, so there is one place to audit. Values already
set in the environment win (`os.environ.setdefault`), so a person can still override one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ambon_cv.paths import cache_dir, project_root

# Environment switches; each one confirmed with a network audit (see SETUP-NOTES).
OFFLINE_ENV: dict[str, str] = {
    # ultralytics: no online checks, no pip auto-install of missing packages
    "YOLO_OFFLINE": "1",
    "YOLO_AUTOINSTALL": "0",
    "YOLO_VERBOSE": "False",
    # DVC and DVC Studio: no analytics, no Studio live updates
    "DVC_NO_ANALYTICS": "1",
    "DVC_STUDIO_OFFLINE": "1",
    "ITERATIVE_DO_NOT_TRACK": "1",
    # FiftyOne: no usage tracking
    "FIFTYONE_DO_NOT_TRACK": "true",
    # Label Studio server (its own venv inherits this environment)
    "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
    "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
    "SENTRY_DSN": "",
    "FRONTEND_SENTRY_DSN": "",
    # Hugging Face hub (pulled in by some optional libraries): never download
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    # a generic opt-out that several libraries honour
    "DO_NOT_TRACK": "1",
}

# ultralytics settings.json values: integrations that would reach a service stay off.
# DVCLive logging is switched on explicitly by the training stage, not globally.
ULTRALYTICS_SETTINGS: dict[str, object] = {
    "sync": False,
    "clearml": False,
    "comet": False,
    "dvc": False,
    "mlflow": False,
    "raytune": False,
    "tensorboard": False,
    "wandb": False,
    "vscode_msg": False,
    "openvino_msg": False,
}

# ultralytics wants these fonts and downloads them when absent, even with plots off.
_ULTRALYTICS_FONTS = ("Arial.ttf", "Arial.Unicode.ttf")


def ultralytics_config_dir() -> Path:
    """The project-local ultralytics config dir (`$YOLO_CONFIG_DIR/Ultralytics`)."""
    return Path(os.environ.get("YOLO_CONFIG_DIR", cache_dir())) / "Ultralytics"


def _place_fonts(folder: Path) -> None:
    missing = [name for name in _ULTRALYTICS_FONTS if not (folder / name).is_file()]
    if not missing:
        return
    try:
        import matplotlib
    except ImportError:  # the light install has no matplotlib, and then no ultralytics either
        return
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in missing:
        (folder / name).write_bytes(dejavu.read_bytes())


def _write_ultralytics_settings(folder: Path) -> None:
    """Merge our values into settings.json; ultralytics keeps them when it fills in the rest."""
    file = folder / "settings.json"
    root = project_root()
    wanted = {
        **ULTRALYTICS_SETTINGS,
        "runs_dir": str(root / "runs"),
        "weights_dir": str(root / "models" / "weights"),
        "datasets_dir": str(root / "data"),
    }
    try:
        current = json.loads(file.read_text()) if file.is_file() else {}
    except (OSError, json.JSONDecodeError):
        current = {}
    if all(current.get(k) == v for k, v in wanted.items()):
        return
    file.write_text(json.dumps({**current, **wanted}, indent=2))


def _openvino_telemetry_off() -> None:
    # OpenVINO/NNCF read this file; their own opt-out command itself phones home.
    marker = Path.home() / "intel" / "openvino_telemetry"
    if marker.is_file() and marker.read_text().strip() == "0":
        return
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("0")


def apply() -> None:
    """Switch every known phone-home off for this process and its children.

    Idempotent and cheap (no heavy imports): it sets environment variables, writes the
    project-local ultralytics settings and fonts, and the OpenVINO telemetry opt-out.

    Example:
        >>> apply()
        >>> os.environ["YOLO_OFFLINE"]
        '1'
    """
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("YOLO_CONFIG_DIR", str(cache_dir()))
    os.environ.setdefault("MPLCONFIGDIR", str(cache_dir() / "matplotlib"))
    folder = ultralytics_config_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _place_fonts(folder)
        _write_ultralytics_settings(folder)
        _openvino_telemetry_off()
    except OSError as err:  # a read-only checkout still runs, it just cannot cache settings
        import warnings

        warnings.warn(
            f"ambon_cv: could not write offline settings in {folder}: {err}", stacklevel=2
        )
