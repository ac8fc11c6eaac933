"""Atari DQN wall time against SBX (JAX) and SB3 (PyTorch), one core each (issue 33).

    benchmarks/peers-setup.sh            # once: .venv-peers with torch (CPU), stable-baselines3, sbx-rl, ale-py
    .venv-peers/bin/python benchmarks/atari.py [--game Pong] [--steps 100000] [--learning-starts 10000]
                                               [--seed 0] [--core 0] [--tools sbx,sb3]

Every tool trains the Nature DQN network (32:8:4, 64:4:2, 64:3:1, 512 units) on the same
environment: `ALE/GAME-v5` with frameskip 1 under Gymnasium's AtariPreprocessing (frame skip 4,
84×84 grey, uint8) and FrameStackObservation(4), so observations are (4, 84, 84) uint8 stacks
scaled by 1/255 inside each network. Settings are rl-zoo's Atari DQN ones — buffer 100k, Adam at
1e-4, batch 32, target network every 1,000 steps, one gradient step every 4 environment steps,
ε 1 → 0.01 over the first 10% of the run, γ 0.99, Huber loss, gradients clipped at norm 10 —
except where learning starts: rl-zoo waits 100k steps, which would leave a 100k-step run without
a single update, so every tool starts at --learning-starts (10k by default: 22,500 updates in
100k steps). Wall time is the whole training process for swift-distill and `learn()` for the peers
(SBX's JIT compilation included); returns after so few steps say nothing of quality and are not
reported (issue 33). Prints the CPU, the kernels in use, and the ratios measured in this run.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DISTILL, cpu_name, run_peer

SETTINGS = dict(learning_rate=1e-4, batch_size=32, buffer_size=100_000, gamma=0.99, target_update_interval=1_000,
                train_frequency=4, gradient_steps=1, exploration_initial=1.0, exploration_final=0.01,
                exploration_fraction=0.1, max_grad_norm=10.0)

PEER = r"""
import json, sys, time
import ale_py
import gymnasium as gym
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

gym.register_envs(ale_py)
tool, env_id, steps, seed, c = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
env = FrameStackObservation(AtariPreprocessing(gym.make(env_id, frameskip=1), frame_skip=4), stack_size=4)
kwargs = dict(learning_rate=c["learning_rate"], batch_size=c["batch_size"], buffer_size=c["buffer_size"],
              learning_starts=c["learning_starts"], gamma=c["gamma"], target_update_interval=c["target_update_interval"],
              train_freq=c["train_frequency"], gradient_steps=c["gradient_steps"],
              exploration_fraction=c["exploration_fraction"], exploration_initial_eps=c["exploration_initial"],
              exploration_final_eps=c["exploration_final"])
if tool == "sb3":
    import torch
    torch.set_num_threads(1)
    from stable_baselines3 import DQN
    kwargs.update(max_grad_norm=c["max_grad_norm"], device="cpu")
else:
    from sbx import DQN
model = DQN("CnnPolicy", env, seed=seed, verbose=0, **kwargs)
start = time.perf_counter()
model.learn(total_timesteps=steps)
print(json.dumps({"wall": time.perf_counter() - start}))
"""


def ours(env_id, steps, seed, core, learning_starts, out):
    """Times `distill train` of the Nature network (start-up included); its kernel set."""
    s = SETTINGS
    args = ["--env", env_id, "--env-arg", "frameskip=1", "--wrapper", "AtariPreprocessing(frame_skip=4)",
            "--wrapper", "FrameStackObservation(stack_size=4)", "--conv", "nature", "--hidden", "512",
            "--steps", str(steps), "--seed", str(seed), "--learning-rate", str(s["learning_rate"]),
            "--batch-size", str(s["batch_size"]), "--buffer-size", str(s["buffer_size"]),
            "--learning-starts", str(learning_starts), "--gamma", str(s["gamma"]),
            "--target-update-interval", str(s["target_update_interval"]), "--train-frequency", str(s["train_frequency"]),
            "--gradient-steps", str(s["gradient_steps"]), "--exploration-initial", str(s["exploration_initial"]),
            "--exploration-final", str(s["exploration_final"]), "--exploration-fraction", str(s["exploration_fraction"]),
            "--max-grad-norm", str(s["max_grad_norm"]), "--eval-interval", "0", "--out", str(out), "--force"]
    start = time.perf_counter()
    r = subprocess.run(["taskset", "-c", str(core), DISTILL, "train", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"distill train failed: {r.stderr.strip()}")
    return wall


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--game", default="Pong")
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--learning-starts", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--core", type=int, default=0)
    p.add_argument("--tools", default="sbx,sb3")
    args = p.parse_args()
    env_id = f"ALE/{args.game}-v5"
    kernels = subprocess.run([DISTILL, "info"], capture_output=True, text=True).stdout
    kernel_line = next((" ".join(line.split()[:2]) for line in kernels.splitlines() if line.startswith("kernels:")), "kernels: unknown")
    updates = max(0, args.steps - args.learning_starts) // SETTINGS["train_frequency"] * SETTINGS["gradient_steps"]
    print(f"CPU: {cpu_name()}; {kernel_line}; one core each (taskset -c {args.core})")
    print(f"{env_id}, AtariPreprocessing + 4-frame stacks, {args.steps} steps, learning from step {args.learning_starts} "
          f"({updates} updates), seed {args.seed}")
    print("| tool | wall s | env steps/s | updates/s | wall / swift-distill |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        mine = ours(env_id, args.steps, args.seed, args.core, args.learning_starts, Path(tmp) / "ours")
    print(f"| swift-distill | {mine:.1f} | {args.steps / mine:.0f} | {updates / mine:.1f} | 1.00 |", flush=True)
    config = dict(SETTINGS, learning_starts=args.learning_starts)
    for tool in [t for t in args.tools.split(",") if t]:
        r = run_peer(PEER, tool, env_id, args.steps, args.seed, args.core, config)
        if r:
            name = {"sbx": "SBX (JAX)", "sb3": "SB3 (torch)"}[tool]
            print(f"| {name} | {r['wall']:.1f} | {args.steps / r['wall']:.0f} | {updates / r['wall']:.1f} | "
                  f"{r['wall'] / mine:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
