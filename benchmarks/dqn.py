"""DQN teacher benchmark: swift-distill's `distill train` against stable-baselines3's DQN with the
same hyperparameters, in the same run, on the same machine.

    .venv/bin/python benchmarks/dqn.py [--envs CartPole-v1:50000,Acrobot-v1:100000] [--seeds 0,1,2]

For each environment and seed it trains with `distill train` (periodic evaluation keeps the best
policy), evaluates the saved model greedily for 20 episodes (seeds 100-119), and prints wall time,
environment steps/s, gradient steps/s and the return. When stable-baselines3 is importable it
trains SB3's DQN (torch on one thread) with the same settings and the same evaluation callback,
evaluates its best model the same way, and prints the ratios. SB3 is not a dependency.
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DISTILL, greedy_returns


def run_distill(env_id, steps, seed, out):
    start = time.perf_counter()
    r = subprocess.run([DISTILL, "train", "--env", env_id, "--steps", str(steps), "--seed", str(seed),
                        "--out", str(out), "--force"], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"distill train failed: {r.stderr.strip()}")
    done = re.search(r"Done: (\d+) steps .*?\(([\d.]+) env steps/s, (\d+) gradient steps, ([\d.]+)/s\)", r.stdout)
    ev = subprocess.run([DISTILL, "eval", str(out), "--episodes", "20", "--seed", "100", "--json"],
                        capture_output=True, text=True, check=True)
    report = json.loads(ev.stdout)
    config = json.loads((Path(out) / "model.json").read_text())["config"]
    return {"wall": wall, "env_sps": float(done.group(2)), "grad_steps": int(done.group(3)),
            "grad_sps": float(done.group(4)), "mean": report["mean_return"], "std": report["std_return"],
            "config": config}


def run_sb3(env_id, steps, seed, c, workdir):
    import gymnasium as gym
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import EvalCallback
    torch.set_num_threads(1)
    env = gym.make(env_id)
    model = DQN("MlpPolicy", env, seed=seed, verbose=0, device="cpu",
                learning_rate=c["learning_rate"], batch_size=c["batch_size"], buffer_size=c["buffer_size"],
                learning_starts=c["learning_starts"], gamma=c["gamma"], target_update_interval=c["target_update_interval"],
                tau=c["tau"], train_freq=c["train_frequency"], gradient_steps=c["gradient_steps"],
                exploration_fraction=c["exploration_fraction"], exploration_initial_eps=c["exploration_initial"],
                exploration_final_eps=c["exploration_final"], max_grad_norm=c["max_grad_norm"],
                policy_kwargs=dict(net_arch=list(c["hidden_sizes"])))
    callback = EvalCallback(gym.make(env_id), n_eval_episodes=c["eval_episodes"], eval_freq=c["eval_interval"],
                            best_model_save_path=str(workdir), deterministic=True, verbose=0)
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    wall = time.perf_counter() - start
    saved = Path(workdir) / "best_model.zip"  # absent when the run was shorter than one evaluation interval
    best = DQN.load(str(saved), device="cpu") if saved.exists() else model
    mean, std = greedy_returns(best, env_id)
    final_mean, _ = greedy_returns(model, env_id)
    return {"wall": wall, "mean": mean, "std": std, "final_mean": final_mean}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", default="CartPole-v1:50000,Acrobot-v1:100000,LunarLander-v3:100000")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--no-sb3", action="store_true", help="skip stable-baselines3 even if installed")
    args = p.parse_args()
    try:
        import stable_baselines3  # noqa: F401
        have_sb3 = not args.no_sb3
    except ImportError:
        have_sb3 = False
        print("stable-baselines3 is not installed: SB3 comparison skipped (pip install stable-baselines3 to add it)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.envs.split(","):
            env_id, steps = spec.split(":")
            for seed in [int(s) for s in args.seeds.split(",")]:
                ours = run_distill(env_id, int(steps), seed, Path(tmp) / f"{env_id}-{seed}")
                row = {"env": env_id, "steps": int(steps), "seed": seed, **{k: v for k, v in ours.items() if k != "config"}}
                if have_sb3:
                    sb3 = run_sb3(env_id, int(steps), seed, ours["config"], Path(tmp) / f"sb3-{env_id}-{seed}")
                    row.update({f"sb3_{k}": v for k, v in sb3.items()})
                    row["speedup"] = sb3["wall"] / ours["wall"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    header = "| env | steps | seed | swift-distill return (best, 20 eps) | wall s | env steps/s | grad steps/s |"
    if have_sb3:
        header += " SB3 return (best / final) | SB3 wall s | speed-up |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        line = (f"| {r['env']} | {r['steps']} | {r['seed']} | {r['mean']:.1f} ± {r['std']:.1f} | {r['wall']:.1f} | "
                f"{r['env_sps']:.0f} | {r['grad_sps']:.0f} |")
        if have_sb3:
            line += f" {r['sb3_mean']:.1f} / {r['sb3_final_mean']:.1f} | {r['sb3_wall']:.1f} | {r['speedup']:.1f}× |"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
