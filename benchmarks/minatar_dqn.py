"""MinAtar (Young & Tian 2019) DQN against SBX (JAX) and SB3 (PyTorch), one core each, then the
teacher distilled into students under 10% of its parameters.

    benchmarks/peers-setup.sh            # once: .venv-peers with torch (CPU), stable-baselines3, sbx-rl, minatar
    .venv-peers/bin/python benchmarks/minatar_dqn.py [--games breakout,space_invaders] [--steps 100000]
                                                 [--seed 0] [--core 0] [--tools sbx,sb3] [--distill-seeds 0,1,2]
                                                 [--keep DIR [--reuse-teachers]]

Every tool trains MinAtar's network — one 16-channel 3×3 convolution (stride 1, no padding), ReLU,
128 units, ReLU, one Q-value per action — with the MinAtar paper's DQN settings where all three
have them: batch 32, replay 100k, target network every 1,000 steps, ε 1 → 0.1 over the first
100k steps, learning from step 5,000, one gradient step per environment step, γ 0.99, Huber loss,
Adam at 2.5e-4 (the paper used RMSprop), gradients clipped at norm 10. SB3 gets the convolution
as a features extractor, SBX as a flax module in its DQN policy; both read the (10, 10, C) bool
grid as floats. Wall time is the whole training process for swift-distill and `learn()` for the
peers (SBX's JIT compilation included). Each final model plays 20 greedy episodes (seeds 100-119).
Then the swift-distill teacher is distilled (KL on the teacher's greedy policy, 60,000
student-driven states) into a convolutional student (8 channels 3×3 stride 1, 16 units: under 7%
of the teacher's parameters) for each seed, and `distill compare` reports its normalised return.
(A stride-2 student of the same size, 8 channels 3×3 stride 2 then 64 units, reached only
0.24–0.39: on a 10×10 grid the stride loses what the teacher sees.)
Last, the resident memory of a short run with a 1M-transition replay buffer.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DISTILL, LEARN_AND_REPORT, cpu_name, run_peer, train_and_evaluate

SETTINGS = dict(learning_rate=2.5e-4, batch_size=32, buffer_size=100_000, learning_starts=5_000, gamma=0.99,
                target_update_interval=1_000, train_frequency=1, gradient_steps=1, exploration_initial=1.0,
                exploration_final=0.1, exploration_steps=100_000, max_grad_norm=10.0)

PEER = r"""
import json, sys, time
import numpy as np
import gymnasium as gym
import minatar.gym

minatar.gym.register_envs()
tool, env_id, steps, seed, c = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
kwargs = dict(learning_rate=c["learning_rate"], batch_size=c["batch_size"], buffer_size=c["buffer_size"],
              learning_starts=c["learning_starts"], gamma=c["gamma"], target_update_interval=c["target_update_interval"],
              train_freq=c["train_frequency"], gradient_steps=c["gradient_steps"],
              exploration_fraction=min(1.0, c["exploration_steps"] / steps), exploration_initial_eps=c["exploration_initial"],
              exploration_final_eps=c["exploration_final"])
if tool == "sb3":
    import torch
    torch.set_num_threads(1)
    from stable_baselines3 import DQN
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class MinAtarCNN(BaseFeaturesExtractor):
        # MinAtar's convolution over (H, W, C) grids: 16 channels, 3x3, stride 1, then flattened.
        def __init__(self, space):
            h, w, ch = space.shape
            super().__init__(space, features_dim=16 * (h - 2) * (w - 2))
            self.conv = torch.nn.Sequential(torch.nn.Conv2d(ch, 16, 3), torch.nn.ReLU(), torch.nn.Flatten())

        def forward(self, x):
            return self.conv(x.permute(0, 3, 1, 2))

    kwargs.update(tau=1.0, max_grad_norm=c["max_grad_norm"], device="cpu",
                  policy_kwargs=dict(features_extractor_class=MinAtarCNN, net_arch=[128]))
    model = DQN("MlpPolicy", gym.make(env_id), seed=seed, verbose=0, **kwargs)
else:
    import flax.linen as nn
    import jax
    import optax
    from sbx import DQN
    from sbx.dqn.policies import DQNPolicy
    from sbx.common.type_aliases import RLTrainState

    class MinAtarQ(nn.Module):
        n_actions: int

        @nn.compact
        def __call__(self, x):
            x = nn.relu(nn.Conv(16, (3, 3), padding="VALID")(x.astype("float32")))  # flax reads (N, H, W, C)
            x = x.reshape((x.shape[0], -1))
            x = nn.relu(nn.Dense(128)(x))
            return nn.Dense(self.n_actions)(x)

    class MinAtarPolicy(DQNPolicy):
        def build(self, key, lr_schedule):
            key, qf_key = jax.random.split(key, 2)
            obs = np.array([self.observation_space.sample()])
            self.qf = MinAtarQ(n_actions=int(self.action_space.n))
            self.qf_state = RLTrainState.create(
                apply_fn=self.qf.apply, params=self.qf.init({"params": qf_key}, obs),
                target_params=self.qf.init({"params": qf_key}, obs),
                tx=optax.chain(optax.clip_by_global_norm(c["max_grad_norm"]),
                               self.optimizer_class(learning_rate=lr_schedule(1), **self.optimizer_kwargs)))
            self.qf.apply = jax.jit(self.qf.apply)
            return key

    model = DQN(MinAtarPolicy, gym.make(env_id), seed=seed, verbose=0, **kwargs)
""" + LEARN_AND_REPORT


def env_id(game):
    return "MinAtar/" + game.title().replace("_", "") + "-v1"


def ours(game, steps, seed, core, out):
    s = SETTINGS
    args = ["--env", env_id(game), "--conv", "minatar", "--hidden", "128", "--steps", str(steps), "--seed", str(seed),
            "--learning-rate", str(s["learning_rate"]), "--batch-size", str(s["batch_size"]),
            "--buffer-size", str(s["buffer_size"]), "--learning-starts", str(s["learning_starts"]), "--gamma", str(s["gamma"]),
            "--target-update-interval", str(s["target_update_interval"]), "--train-frequency", str(s["train_frequency"]),
            "--gradient-steps", str(s["gradient_steps"]), "--exploration-initial", str(s["exploration_initial"]),
            "--exploration-final", str(s["exploration_final"]),
            "--exploration-fraction", str(min(1.0, s["exploration_steps"] / steps)), "--max-grad-norm", str(s["max_grad_norm"]),
            "--eval-interval", "0"]
    return train_and_evaluate(args, core, out)


def peer(tool, game, steps, seed, core):
    return run_peer(PEER, tool, env_id(game), steps, seed, core, SETTINGS)


def distil(teacher, seed, core, out):
    start = time.perf_counter()
    r = subprocess.run(["taskset", "-c", str(core), DISTILL, "distill", "--teacher", str(teacher), "--conv", "8:3:1",
                        "--hidden", "16", "--loss", "kl", "--steps", "60000", "--seed", str(seed), "--out", str(out), "--force"],
                       capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"distill distill failed: {r.stderr.strip()}")
    c = subprocess.run([DISTILL, "compare", str(teacher), str(out), "--episodes", "20", "--json"], capture_output=True, text=True,
                       check=True)
    return wall, json.loads(c.stdout)


def buffer_memory(game, tmp):
    """Replay memory per transition, measured: peak resident memory of two runs with a 1M-transition
    buffer and learning off, one of 5,000 steps and one of 200,000 (the buffer fills as it goes),
    the difference over the 195,000 extra transitions. Returns (bytes per transition, GB for 1M)."""
    def peak_kb(steps):
        r = subprocess.run(["/usr/bin/time", "-f", "%M", DISTILL, "train", "--env", env_id(game), "--conv", "minatar",
                            "--hidden", "128", "--steps", str(steps), "--learning-starts", str(steps),
                            "--buffer-size", "1000000", "--eval-interval", "0", "--out", str(Path(tmp) / "memory"), "--force"],
                           capture_output=True, text=True)
        return int(r.stderr.strip().splitlines()[-1])
    small, large = peak_kb(5_000), peak_kb(200_000)
    per_transition = (large - small) * 1024 / 195_000
    return per_transition, per_transition * 1e6 / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--games", default="breakout,space_invaders")
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--core", type=int, default=0)
    p.add_argument("--tools", default="sbx,sb3")
    p.add_argument("--distill-seeds", default="0,1,2")
    p.add_argument("--keep", help="Directory to keep the teachers and students in.")
    p.add_argument("--reuse-teachers", action="store_true", help="Distil the teachers already in --keep (no training table).")
    args = p.parse_args()
    print(f"CPU: {cpu_name()}; one core each (taskset -c {args.core}); {args.steps} steps, seed {args.seed}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        print("| game | tool | wall s | steps/s | return (20 eps) | wall / swift-distill |")
        print("|---|---|---|---|---|---|")
        teachers = {}
        for game in args.games.split(","):
            teachers[game] = root / f"{game}-teacher"
            if args.reuse_teachers and (teachers[game] / "model.json").exists():
                continue
            mine = ours(game, args.steps, args.seed, args.core, teachers[game])
            print(f"| {game} | swift-distill | {mine['wall']:.1f} | {args.steps / mine['wall']:.0f} | "
                  f"{mine['mean']:.2f} ± {mine['std']:.2f} | 1.00 |", flush=True)
            for tool in [t for t in args.tools.split(",") if t]:
                r = peer(tool, game, args.steps, args.seed, args.core)
                if r:
                    name = {"sbx": "SBX (JAX)", "sb3": "SB3 (torch)"}[tool]
                    print(f"| {game} | {name} | {r['wall']:.1f} | {args.steps / r['wall']:.0f} | {r['mean']:.2f} ± {r['std']:.2f} | "
                          f"{r['wall'] / mine['wall']:.2f} |", flush=True)
        print()
        print("| game | student seed | parameters (share of teacher) | FLOPs share | teacher return | student return | normalised | agreement | distil s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for game, teacher in teachers.items():
            for seed in [int(s) for s in args.distill_seeds.split(",") if s]:
                wall, c = distil(teacher, seed, args.core, root / f"{game}-student-{seed}")
                t, s = c["teacher"], c["student"]
                print(f"| {game} | {seed} | {s['parameters']:,} ({c['parameter_ratio']:.1%}) | "
                      f"{c['flops_ratio']:.1%} | {t['mean_return']:.2f} | {s['mean_return']:.2f} | "
                      f"{c['normalized_return']:.3f} | {c['action_agreement']:.1%} | {wall:.1f} |", flush=True)
        print()
        game = args.games.split(",")[0]
        per, gb = buffer_memory(game, tmp)
        print(f"Replay memory ({env_id(game)}, 10×10×4 bool grids): {per:.0f} bytes per transition measured, "
              f"{gb:.2f} GB for 1M transitions")


if __name__ == "__main__":
    sys.exit(main())
