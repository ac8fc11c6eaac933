"""Born-again networks (Furlanello et al. 2018) on CartPole-v1: a 256-256 teacher, then
`--generations 3` students of the teacher's own size, each distilled (KL) from the one before;
seeds 0-2. Prints each generation's return (20 episodes, seed 100) next to the teacher's.

    .venv/bin/python benchmarks/born_again.py [--seeds 0,1,2] [--states 20000]
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import distill as run



def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--states", type=int, default=20000)
    p.add_argument("--generations", type=int, default=3)
    args = p.parse_args()
    print("| seed | teacher | " + " | ".join(f"generation {g}" for g in range(1, args.generations + 1)) + " | wall s |")
    print("|---|---|" + "---|" * args.generations + "---|")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for seed in (int(s) for s in args.seeds.split(",")):
            teacher = tmp / f"teacher{seed}"
            run("train", "--env", "CartPole-v1", "--steps", "50000", "--seed", str(seed), "--out", str(teacher))
            returns = [json.loads(run("eval", str(teacher), "--episodes", "20", "--seed", "100", "--json"))["mean_return"]]
            out = tmp / f"students{seed}"
            start = time.perf_counter()
            run("distill", "--teacher", str(teacher), "--hidden", "256,256", "--loss", "kl", "--generations",
                str(args.generations), "--steps", str(args.states), "--seed", str(seed), "--out", str(out))
            wall = time.perf_counter() - start
            for g in range(1, args.generations + 1):
                student = out / f"generation-{g}" if args.generations > 1 else out  # one generation: OUT itself
                returns.append(json.loads(run("eval", str(student), "--episodes", "20", "--seed", "100",
                                              "--json"))["mean_return"])
            print(f"| {seed} | " + " | ".join(f"{r:.1f}" for r in returns) + f" | {wall:.1f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
