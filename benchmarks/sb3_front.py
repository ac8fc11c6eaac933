"""rl-zoo's DQN settings through the SB3-shaped class (issue 32): for each environment and seed,
`swiftdistill.DQN(**hyperparams).learn(n_timesteps)` with the settings of rl-zoo's
hyperparams/dqn.yml (Tests/CLITests/data/rl-zoo-dqn.yml), and `distill train --config` on the
same file and seed. Both train in the same Swift core, so the class maps SB3's arguments
faithfully exactly when the two final networks are equal bit for bit; the table prints that,
and both final networks' mean return over the same 20 fresh episodes (seeds 100–119).

    .venv/bin/python benchmarks/sb3_front.py [--envs CartPole-v1,Acrobot-v1,LunarLander-v3] [--seeds 0,1,2] [--core 1]
"""
import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from common import DISTILL, ROOT, cpu_name

ZOO = ROOT / "Tests" / "CLITests" / "data" / "rl-zoo-dqn.yml"
RUN = r"""
import json, sys, time
import numpy as np
import swiftdistill as sd
env, seed, hp, out = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
steps = hp.pop("n_timesteps")
begin = time.perf_counter()
model = sd.DQN(hp.pop("policy"), env, seed=seed, **hp).learn(steps)
wall = time.perf_counter() - begin
np.savez(out, **model.policy.params)
returns = sd.evaluate(model.policy, env, n_eval_episodes=20, seed=100, return_episode_rewards=True)[0]
print(json.dumps({"wall": wall, "mean": float(np.mean(returns))}))
"""


def zoo_settings(env: str) -> dict:
    """rl-zoo's section for `env` (LunarLander-v3 reads the v2 entry), as DQN's keyword arguments."""
    sections = yaml.safe_load(ZOO.read_text())
    hp = dict(sections[env if env in sections else env.replace("-v3", "-v2")])
    hp["n_timesteps"] = int(float(hp["n_timesteps"]))
    if isinstance(hp.get("policy_kwargs"), str):  # "dict(net_arch=[256, 256])"
        call = ast.parse(hp["policy_kwargs"], mode="eval").body
        hp["policy_kwargs"] = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    return hp


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", default="CartPole-v1,Acrobot-v1,LunarLander-v3")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--core", type=int, default=1)
    args = p.parse_args()
    print(f"CPU: {cpu_name()}; one core (taskset -c {args.core})")
    print("| env | seed | steps | DQN(**zoo) s | distill train s | same final weights | DQN(**zoo) return | distill train return |")
    print("|---|---|---|---|---|---|---|---|")
    pin = ["taskset", "-c", str(args.core)]
    with tempfile.TemporaryDirectory() as tmp:
        for env in args.envs.split(","):
            hp = zoo_settings(env)
            for seed in (int(s) for s in args.seeds.split(",")):
                work = Path(tmp) / f"{env}-{seed}"
                r = subprocess.run([*pin, sys.executable, "-c", RUN, env, str(seed), json.dumps(hp), str(work) + ".npz"],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    raise SystemExit(f"DQN(**zoo) failed: {r.stderr.strip().splitlines()[-3:]}")
                py = json.loads(r.stdout.strip().splitlines()[-1])
                section = env if env in yaml.safe_load(ZOO.read_text()) else env.replace("-v3", "-v2")
                config = Path(tmp) / f"{section}.yml"
                config.write_text(yaml.safe_dump({env: yaml.safe_load(ZOO.read_text())[section]}))
                # DQN.learn runs whole rounds of train_freq steps, as SB3's does (CartPole's 50,000
                # steps at train_freq 256 are 50,176); the command line runs exactly --steps.
                round_steps = int(hp.get("train_freq", 4)) * int(hp.get("n_envs", 1))
                steps = -(-hp["n_timesteps"] // round_steps) * round_steps
                begin = time.perf_counter()
                subprocess.run([*pin, DISTILL, "train", "--env", env, "--config", str(config), "--seed", str(seed),
                                "--steps", str(steps), "--out", str(work), "--force"], check=True, capture_output=True)
                cli_wall = time.perf_counter() - begin
                import swiftdistill as sd
                last = sd.load(work / "last")
                ours = np.load(str(work) + ".npz")
                same = sorted(ours.files) == sorted(last.params) and all(np.array_equal(ours[k], last.params[k]) for k in ours.files)
                cli = float(np.mean(sd.evaluate(last, env, n_eval_episodes=20, seed=100, return_episode_rewards=True)[0]))
                print(f"| {env} | {seed} | {steps:,} | {py['wall']:.1f} | {cli_wall:.1f} | {'yes' if same else 'no'} | "
                      f"{py['mean']:.1f} | {cli:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
