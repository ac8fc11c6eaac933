"""The seed-004 case study (../shared/seeds/004): a 128-64 DQN teacher on CartPole-v1 distilled into a
64-32 student with every output-layer loss and data regime, plus the relational losses, seeds 0-2.

    .venv/bin/python benchmarks/seed004.py [--seeds 0,1,2] [--teacher-steps 50000] [--states 20000]

Per seed: a teacher (rl-zoo's CartPole settings, hidden 128,64); 20,000 observations from the
teacher's own greedy episodes for the offline regime (the seed's literal recipe: fit the teacher's
outputs on its data); then `distill distill` for each loss × regime and `distill compare` (20
episodes, seed 100). Prints a markdown table of normalised return and action agreement.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, distill as run

CASES = [(loss, regime) for loss in ("q-mse", "kl", "ce") for regime in ("student", "teacher", "mixed", "offline")]
CASES += [("kl,flow:1", "student"), ("kl,relational:1", "student")]


def teacher_observations(teacher, n, seed, path):
    import gymnasium as gym
    sys.path.insert(0, str(ROOT / "python"))
    import swiftdistill as sd
    model = sd.load(teacher)
    env = gym.make("CartPole-v1")
    rows, episode = [], 0
    obs, _ = env.reset(seed=seed)
    while len(rows) < n:
        rows.append(obs)
        obs, _, term, trunc, _ = env.step(int(model.act(obs)))
        if term or trunc:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
    np.save(path, np.asarray(rows, dtype=np.float32))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--teacher-steps", type=int, default=50000)
    p.add_argument("--states", type=int, default=20000)
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for seed in seeds:
            teacher = tmp / f"teacher{seed}"
            run("train", "--env", "CartPole-v1", "--hidden", "128,64", "--steps", str(args.teacher_steps), "--seed",
                str(seed), "--out", str(teacher))
            t_eval = json.loads(run("eval", str(teacher), "--episodes", "20", "--seed", "100", "--json"))
            print(f"seed {seed}: teacher return {t_eval['mean_return']:.1f}", flush=True)
            offline = tmp / f"obs{seed}.npy"
            teacher_observations(teacher, args.states, 10_000 + seed, offline)
            for loss, regime in CASES:
                out = tmp / f"s{seed}-{loss}-{regime}"
                extra = ["--offline-observations", str(offline)] if regime == "offline" else []
                start = time.perf_counter()
                run("distill", "--teacher", str(teacher), "--hidden", "64,32", "--loss", loss, "--regime", regime,
                    "--steps", str(args.states), "--seed", str(seed), "--out", str(out), *extra)
                wall = time.perf_counter() - start
                c = json.loads(run("compare", str(teacher), str(out), "--episodes", "20", "--seed", "100", "--json"))
                results.setdefault((loss, regime), []).append((c["normalized_return"], c["action_agreement"], wall))
                print(f"  {loss:16s} {regime:8s} normalised {c['normalized_return']:.2f} agreement "
                      f"{c['action_agreement']:.3f} ({wall:.1f} s)", flush=True)
    print()
    print("| loss | regime | normalised return, seeds " + "/".join(map(str, seeds)) + " | action agreement | wall s |")
    print("|---|---|---|---|---|")
    for (loss, regime), rows in results.items():
        print(f"| {loss} | {regime} | {' / '.join(f'{r[0]:.2f}' for r in rows)} | "
              f"{np.mean([r[1] for r in rows]):.3f} | {np.mean([r[2] for r in rows]):.1f} |")


if __name__ == "__main__":
    sys.exit(main())
