#!/usr/bin/env bash
# Sets up swift-distill on a fresh Debian 12 machine with the Swift toolchain:
#   1. Debian packages python3-dev python3-numpy python3-venv (installed directly when root),
#   2. .venv made by the interpreter the Swift binary embeds, with gymnasium (and test tools),
#   3. the release build of `distill` and of the Python extension, `pip install -e python`
#      (and, with SETUP_TEST_TOOLS=1, pytest, notebook tools and the debug test build;
#      with SETUP_BENCH_TOOLS=1, OpenBLAS for the matrix-product benchmark).
# The interpreter is $PYTHON (default: Debian's /usr/bin/python3.11). The same interpreter's
# libpython is linked into the binary, so the packages it imports always match it.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-/usr/bin/python3.11}"
export PATH="/opt/swift/usr/bin:$PATH"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# --- 1. Debian packages -------------------------------------------------------------------
missing=()
packages=(python3-dev python3-numpy python3-venv python3-yaml pkg-config)
# OpenBLAS only as the reference `distill bench gemm` measures against (SETUP_BENCH_TOOLS=1).
[ "${SETUP_BENCH_TOOLS:-0}" = 1 ] && packages+=(libopenblas0-pthread)
# Cross compilers and qemu for the exported C students' build checks: a Cortex-M4 object and an
# aarch64 program run under qemu-aarch64 (SETUP_TEST_TOOLS=1).
[ "${SETUP_TEST_TOOLS:-0}" = 1 ] && packages+=(gcc-arm-none-eabi qemu-user crossbuild-essential-arm64)
for pkg in "${packages[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    say "installing Debian packages with sudo: ${missing[*]}"
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "missing Debian packages; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

if [ ! -x "$PYTHON" ]; then
  say "PYTHON=$PYTHON is not an executable Python; point PYTHON at a python3 that has a shared libpython."
  exit 1
fi

# --- 2. The virtual environment -------------------------------------------------------------
want_version=$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
if [ -x .venv/bin/python ]; then
  have_version=$(.venv/bin/python -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo none)
  have_base=$(.venv/bin/python -c 'import sys; print(sys._base_executable)' 2>/dev/null || echo none)
  if [ "$have_version" != "$want_version" ]; then
    say ".venv was made by Python $have_version ($have_base), not $PYTHON ($want_version); recreating it"
    rm -rf .venv
  fi
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PYTHON (with system site packages, for Debian's numpy)"
  "$PYTHON" -m venv --system-site-packages .venv
fi
reqs=(gymnasium)
check='import gymnasium, numpy'
if [ "${SETUP_TEST_TOOLS:-0}" = 1 ]; then
  # pytest for the tests; nbclient/ipykernel/matplotlib to execute the notebooks; tqdm for progress
  # bars; onnx/onnxruntime for the export tests (the package's optional "export" extra); optuna for
  # the study tests and ray for the cluster test (the "tune" and "ray" extras); tensorboard to
  # read the event files back in a test; Box2D (pybox2d's wheel: gymnasium[box2d]'s box2d-py needs
  # swig to build) and pygame for LunarLander (the "box2d" extra).
  # minatar for the grid-observation tests; ale-py (Atari, ROMs included) and OpenCV (Gymnasium's
  # AtariPreprocessing resizes with it) for the pixel tests (the "atari" extra).
  # mkdocs-material, mkdocstrings and mkdocs-jupyter build the documentation site (the package's "docs" extra).
  reqs+=(pytest nbclient nbformat ipykernel ipywidgets matplotlib tqdm onnx onnxruntime optuna ray tensorboard "Box2D>=2.3.10" pygame minatar
         ale-py opencv-python-headless mkdocs-material "mkdocstrings[python]" mkdocs-jupyter mypy)
  check="$check, pytest, nbclient, nbformat, ipykernel, ipywidgets, matplotlib, tqdm, onnx, onnxruntime, optuna, ray, tensorboard, Box2D, pygame, minatar, ale_py, cv2, mkdocs, material, mkdocstrings_handlers.python, mkdocs_jupyter, mypy"
fi
# Keep the NumPy the venv already sees (Debian's, through the system site packages): a later
# install (matplotlib for the notebooks) must not swap it, or the same seed would give other
# environment trajectories, and so other weights, before and after `make test`.
constraints=()
if numpy_version=$(.venv/bin/python -c 'import numpy; print(numpy.__version__)' 2>/dev/null); then
  printf 'numpy==%s\n' "$numpy_version" > .venv/constraints.txt
  constraints=(-c .venv/constraints.txt)
fi
if ! .venv/bin/python -c "$check" 2>/dev/null; then
  say "installing Python packages into .venv: ${reqs[*]}"
  .venv/bin/python -m pip install -q "${constraints[@]}" "${reqs[@]}"
fi
# The PyTorch and Stable-Baselines3 export tests need torch. PyPI's torch wheel is the CUDA build
# (gigabytes of nvidia libraries), so the test tools take a CPU wheel from a wheel directory
# (SETUP_WHEELS, /opt/wheels by default) when one is there, and SB3 from PyPI beside it;
# without one those tests are skipped and say so.
wheels="${SETUP_WHEELS:-/opt/wheels}"
if [ "${SETUP_TEST_TOOLS:-0}" = 1 ] && ! .venv/bin/python -c 'import torch, stable_baselines3' 2>/dev/null; then
  torch_wheel=$(ls "$wheels"/torch-*+cpu-cp311-*.whl 2>/dev/null | sed -n 1p || true)
  if [ -n "$torch_wheel" ]; then
    say "installing PyTorch (CPU, $torch_wheel) and stable-baselines3 into .venv for the export tests"
    .venv/bin/python -m pip install -q "${constraints[@]}" "$torch_wheel" stable-baselines3
  else
    say "no CPU torch wheel in $wheels: the PyTorch and SB3 export tests will be skipped"
  fi
fi
# The old `gym` package (0.26), for the test that opens an id registered only there. Kept out of
# the venv's site-packages (importing it prints a deprecation notice): the test puts
# .venv/oldgym on PYTHONPATH for its own runs.
if [ "${SETUP_TEST_TOOLS:-0}" = 1 ] && [ ! -d .venv/oldgym/gym ]; then
  say "installing the old gym package into .venv/oldgym for the old-registry test"
  .venv/bin/python -m pip install -q --no-deps --target .venv/oldgym gym==0.26.2 gym_notices
fi

# --- 3. Build --------------------------------------------------------------------------------
say "building distill (release)"
scripts/swift.sh build -c release --product distill
say "building the Python extension (swiftdistill._core) and installing python/ into .venv"
scripts/build-python-module.sh
if ! .venv/bin/python -m pip show -q swiftdistill >/dev/null 2>&1 || [ ! -x .venv/bin/distill ]; then
  .venv/bin/python -m pip install -q "${constraints[@]}" -e python
fi
if [ "${SETUP_TEST_TOOLS:-0}" = 1 ]; then
  say "building tests (debug)"
  scripts/swift.sh build --build-tests
fi
say "ready: .venv ($("$PYTHON" --version)), .build/release/distill"
