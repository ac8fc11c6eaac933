"""What the benchmark scripts share: where the binary is, running it, naming the CPU."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTILL = os.environ.get("DISTILL", str(ROOT / ".build" / "release" / "distill"))


def distill(*args: str) -> str:
    """Runs `distill ARGS` and returns its output; a failure ends the benchmark with its message."""
    r = subprocess.run([DISTILL, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"distill {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def cpu_name() -> str:
    """The CPU's model name with its family and model numbers (VMs often name only "AMD EPYC",
    which covers Zen 3 and Zen 4) and whether it has AVX-512, printed beside every figure."""
    fields = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", "unknown")
    family, model = fields.get("cpu family"), fields.get("model")
    avx512 = "AVX-512" if "avx512f" in fields.get("flags", "").split() else "no AVX-512"
    return f"{name} (family {family} model {model}, {avx512})" if family and model else name


def train_and_evaluate(train_args, core, out):
    """Times `distill train TRAIN_ARGS --out OUT --force` pinned to `core` (start-up included),
    then evaluates the saved model greedily for 20 episodes (seeds 100-119):
    {"wall", "mean", "std"}. A failure ends the benchmark with its message."""
    import time
    start = time.perf_counter()
    r = subprocess.run(["taskset", "-c", str(core), DISTILL, "train", *train_args, "--out", str(out), "--force"],
                       capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"distill train failed: {r.stderr.strip()}")
    report = json.loads(distill("eval", str(out), "--episodes", "20", "--seed", "100", "--json"))
    return {"wall": wall, "mean": report["mean_return"], "std": report["std_return"]}


def greedy_returns(model, env_id, episodes=20, seed=100):
    """Mean and std of `model.predict(obs, deterministic=True)`'s return over `episodes` episodes
    of `env_id` seeded seed…seed+episodes−1 (an SB3 or SBX model)."""
    import gymnasium as gym
    import numpy as np
    env = gym.make(env_id)
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, r, term, trunc, _ = env.step(int(action))
            total += float(r)
            done = term or trunc
        returns.append(total)
    return float(np.mean(returns)), float(np.std(returns))


# The start of a peer script (argv: tool, env id, steps, seed, JSON config of a swift-distill
# model.json): builds `model`, an SB3 (torch, one thread) or SBX (JAX) DQN with rl-zoo's settings
# as swift-distill resolved them.
MAKE_PEER_MODEL = r"""
import json, os, sys, time
import numpy as np
import gymnasium as gym

tool, env_id, steps, seed, c = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
if tool == "sb3":
    import torch
    torch.set_num_threads(1)
    from stable_baselines3 import DQN
else:
    from sbx import DQN
kwargs = dict(learning_rate=c["learning_rate"], batch_size=c["batch_size"], buffer_size=c["buffer_size"],
              learning_starts=c["learning_starts"], gamma=c["gamma"], target_update_interval=c["target_update_interval"],
              train_freq=c["train_frequency"], gradient_steps=c["gradient_steps"],
              exploration_fraction=c["exploration_fraction"], exploration_initial_eps=c["exploration_initial"],
              exploration_final_eps=c["exploration_final"], policy_kwargs=dict(net_arch=list(c["hidden_sizes"])))
if tool == "sb3":
    kwargs.update(tau=c["tau"], max_grad_norm=c["max_grad_norm"], device="cpu")
model = DQN("MlpPolicy", gym.make(env_id), seed=seed, verbose=0, **kwargs)
"""

# The end of a peer script (which builds `model` from tool, env_id, steps, seed): times `learn`,
# plays 20 greedy episodes and prints {"wall", "mean", "std"} as JSON.
LEARN_AND_REPORT = r"""
import time as _time
from common import greedy_returns
_start = _time.perf_counter()
model.learn(total_timesteps=steps)
_wall = _time.perf_counter() - _start
_mean, _std = greedy_returns(model, env_id)
print(json.dumps({"wall": _wall, "mean": _mean, "std": _std}))
"""


def run_peer(script, tool, env_id, steps, seed, core, config):
    """Runs a peer script (`python -c`, argv: tool, env id, steps, seed, JSON config) pinned to
    `core` with torch and XLA on one thread; its JSON report, or None (saying why) if it failed."""
    env = dict(os.environ, XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
               OMP_NUM_THREADS="1", JAX_PLATFORMS="cpu", PYTHONPATH=str(Path(__file__).resolve().parent))
    r = subprocess.run(["taskset", "-c", str(core), sys.executable, "-c", script, tool, env_id, str(steps), str(seed),
                        json.dumps(config)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        tail = r.stderr.strip().splitlines()[-1:] or ["no output"]
        print(f"{tool} failed: {tail[0]}", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])
