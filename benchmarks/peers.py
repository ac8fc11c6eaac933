"""DQN wall time against SBX (Stable-Baselines-Jax) and SB3 (PyTorch), one core each.

    benchmarks/peers-setup.sh            # once: .venv-peers with torch (CPU), stable-baselines3, sbx-rl
    .venv-peers/bin/python benchmarks/peers.py [--envs CartPole-v1:50000] [--seed 0] [--core 0]

The protocol of issue 12: rl-zoo settings (swift-distill's defaults for the environment, read
back from its model.json and handed to the peers), one seed, evaluation off, each tool pinned to
one core (`taskset -c CORE`), torch and XLA on one thread. Wall time is the whole training
process for swift-distill (start-up included) and `learn()` for the peers (JIT compilation
included for SBX). Each final model is then evaluated greedily for 20 episodes (seeds 100-119).
Prints the CPU, the kernels in use, the times and the ratios measured in this run.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import DISTILL, LEARN_AND_REPORT, MAKE_PEER_MODEL, cpu_name, run_peer, train_and_evaluate


PEER = MAKE_PEER_MODEL + LEARN_AND_REPORT


def ours(env_id, steps, seed, core, out):
    mine = train_and_evaluate(["--env", env_id, "--steps", str(steps), "--seed", str(seed), "--eval-interval", "0"], core, out)
    return mine, json.loads((Path(out) / "model.json").read_text())["config"]


def peer(tool, env_id, steps, seed, core, config):
    return run_peer(PEER, tool, env_id, steps, seed, core, config)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", default="CartPole-v1:50000")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--core", type=int, default=0)
    p.add_argument("--tools", default="sbx,sb3")
    args = p.parse_args()
    kernels = subprocess.run([DISTILL, "info"], capture_output=True, text=True).stdout
    kernels = next((l.split(":", 1)[1].strip() for l in kernels.splitlines() if l.startswith("kernels:")), "?")
    print(f"CPU: {cpu_name()}; swift-distill kernels: {kernels}; one core each (taskset -c {args.core})")
    print("| env | steps | tool | wall s | return (20 eps) | wall / swift-distill |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.envs.split(","):
            env_id, steps = spec.split(":")
            mine, config = ours(env_id, int(steps), args.seed, args.core, Path(tmp) / env_id)
            print(f"| {env_id} | {steps} | swift-distill | {mine['wall']:.1f} | {mine['mean']:.1f} ± {mine['std']:.1f} | 1.00 |",
                  flush=True)
            for tool in args.tools.split(","):
                r = peer(tool, env_id, int(steps), args.seed, args.core, config)
                if r:
                    name = {"sbx": "SBX (JAX)", "sb3": "SB3 (torch)"}[tool]
                    print(f"| {env_id} | {steps} | {name} | {r['wall']:.1f} | {r['mean']:.1f} ± {r['std']:.1f} | "
                          f"{r['wall'] / mine['wall']:.2f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
