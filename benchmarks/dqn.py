"""DQN teacher benchmark: swift-distill's `distill train` against SBX's (JAX) and stable-baselines3's
(PyTorch) DQN with the same hyperparameters and the same evaluation schedule, in the same run, on
the same machine, each tool pinned to one core.

    .venv-peers/bin/python benchmarks/dqn.py [--envs CartPole-v1:50000,Acrobot-v1:100000] [--seeds 0,1,2]
        [--tools sbx,sb3] [--core 0]

For each environment and seed it trains with `distill train` (periodic evaluation keeps the best
policy), evaluates the saved model greedily for 20 episodes (seeds 100-119), and prints wall time,
environment steps/s, gradient steps/s and the return. Each peer (a separate process, torch and XLA
on one thread) trains with the same settings and SB3's EvalCallback on swift-distill's evaluation
interval and episodes, keeps its best model, and is evaluated the same way; the ratios are wall
time over swift-distill's. A peer that is not installed is skipped with a sentence; neither is a
dependency of swift-distill (`benchmarks/peers-setup.sh` makes `.venv-peers`).
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DISTILL, MAKE_PEER_MODEL, cpu_name, run_peer


# After MAKE_PEER_MODEL: learn with an evaluation schedule like swift-distill's and report the best model.
PEER_WITH_EVALUATION = MAKE_PEER_MODEL + r"""
import tempfile
from pathlib import Path
from stable_baselines3.common.callbacks import EvalCallback
from common import greedy_returns
workdir = tempfile.mkdtemp()
callback = EvalCallback(gym.make(env_id), n_eval_episodes=c["eval_episodes"], eval_freq=c["eval_interval"],
                        best_model_save_path=workdir, deterministic=True, verbose=0)
start = time.perf_counter()
model.learn(total_timesteps=steps, callback=callback)
wall = time.perf_counter() - start
saved = Path(workdir) / "best_model.zip"  # absent when the run was shorter than one evaluation interval
best = DQN.load(str(saved)) if saved.exists() else model
mean, std = greedy_returns(best, env_id)
final_mean, _ = greedy_returns(model, env_id)
print(json.dumps({"wall": wall, "mean": mean, "std": std, "final_mean": final_mean}))
"""


def run_distill(env_id, steps, seed, out, core):
    start = time.perf_counter()
    r = subprocess.run(["taskset", "-c", str(core), DISTILL, "train", "--env", env_id, "--steps", str(steps), "--seed", str(seed),
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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", default="CartPole-v1:50000,Acrobot-v1:100000")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--tools", default="sbx,sb3", help="Peers to run (each skipped with a sentence when not installed).")
    p.add_argument("--core", type=int, default=0)
    args = p.parse_args()
    tools = []
    for tool, module in (("sbx", "sbx"), ("sb3", "stable_baselines3")):
        if tool not in args.tools.split(","):
            continue
        try:
            __import__(module)
            tools.append(tool)
        except ImportError:
            print(f"{module} is not installed here: {tool} skipped (benchmarks/peers-setup.sh makes .venv-peers with it)")
    names = {"sbx": "SBX", "sb3": "SB3"}
    print(f"CPU: {cpu_name()}; one core each (taskset -c {args.core}); returns: best model, 20 greedy episodes (seeds 100-119)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.envs.split(","):
            env_id, steps = spec.split(":")
            for seed in [int(s) for s in args.seeds.split(",")]:
                ours = run_distill(env_id, int(steps), seed, Path(tmp) / f"{env_id}-{seed}", args.core)
                row = {"env": env_id, "steps": int(steps), "seed": seed, **{k: v for k, v in ours.items() if k != "config"}}
                for tool in tools:
                    r = run_peer(PEER_WITH_EVALUATION, tool, env_id, int(steps), seed, args.core, ours["config"])
                    if r:
                        row.update({f"{tool}_{k}": v for k, v in r.items()})
                        row[f"{tool}_ratio"] = r["wall"] / ours["wall"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    header = "| env | steps | seed | swift-distill return (best, 20 eps) | wall s | env steps/s | grad steps/s |"
    for tool in tools:
        header += f" {names[tool]} return (best / final) | {names[tool]} wall s | {names[tool]} / ours |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        line = (f"| {r['env']} | {r['steps']} | {r['seed']} | {r['mean']:.1f} ± {r['std']:.1f} | {r['wall']:.1f} | "
                f"{r['env_sps']:.0f} | {r['grad_sps']:.0f} |")
        for tool in tools:
            if f"{tool}_wall" in r:
                line += f" {r[tool + '_mean']:.1f} / {r[tool + '_final_mean']:.1f} | {r[tool + '_wall']:.1f} | {r[tool + '_ratio']:.2f}× |"
            else:
                line += " failed | | |"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
