#!/usr/bin/env bash
# Runs every benchmark after set-up and prints their tables. Each benchmark measures its own
# baseline in the same run (a pure-Python loop; PyTorch on one thread when it is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_BENCH_TOOLS=1 scripts/setup.sh
.build/release/distill bench env --env CartPole-v1 --steps 100000 --rounds 5
.build/release/distill bench env --env Acrobot-v1 --steps 50000 --rounds 3
.build/release/distill bench nn --hidden 256,256 --hidden 64,64
.build/release/distill bench gemm
# DQN teachers against stable-baselines3 (compared when it is installed) and the distillation table.
.venv/bin/python benchmarks/dqn.py --envs CartPole-v1:50000,Acrobot-v1:100000 --seeds 0,1,2
.venv/bin/python benchmarks/distill.py --envs CartPole-v1:50000:20000 --seeds 0,1,2
# Students as code: the exported C (float and int8) against the core and onnxruntime.
.venv/bin/python benchmarks/edge.py
