#!/usr/bin/env bash
# A separate venv for the peer DQN implementations (their NumPy and JAX must not touch .venv):
# torch (CPU; the local wheel in /opt/wheels when present), stable-baselines3, sbx-rl, and MinAtar and
# ale-py with OpenCV for the MinAtar and Atari benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-/usr/bin/python3.11}"
[ -x .venv-peers/bin/python ] || "$PYTHON" -m venv .venv-peers
torch=(torch --index-url https://download.pytorch.org/whl/cpu)
wheel=$(ls /opt/wheels/torch-*cp311*.whl 2>/dev/null | sed -n 1p || true)
if [ -n "$wheel" ]; then
  # One pip command, so the resolver keeps the local CPU wheel (installed separately, SB3's or
  # SBX's requirements let pip pull PyPI's newer CUDA build over it).
  .venv-peers/bin/pip install -q "$wheel" stable-baselines3 sbx-rl gymnasium minatar ale-py opencv-python-headless
else
  .venv-peers/bin/python -c "import torch" 2>/dev/null || .venv-peers/bin/pip install -q "${torch[@]}"
  .venv-peers/bin/pip install -q stable-baselines3 sbx-rl gymnasium minatar ale-py opencv-python-headless
fi
