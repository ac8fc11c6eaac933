"""Born-again networks (Furlanello et al. 2018): a 256-256 teacher (rl-zoo's settings for the
environment), then `--generations 3` students of the teacher's own size, each distilled (KL) from
the one before; seeds 0-2. Prints each generation's return (20 episodes, seed 100) next to the
teacher's.

    .venv/bin/python benchmarks/born_again.py [--env CartPole-v1] [--teacher-steps 50000] [--seeds 0,1,2] [--states 20000]
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import cpu_name, distill as run



def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--states", type=int, default=20000)
    p.add_argument("--generations", type=int, default=3)
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--keep", help="directory to keep runs in; a teacher already there (teacherSEED) is reused")
    p.add_argument("--teacher-steps", type=int, help="teacher steps (default: rl-zoo's for the environment)")
    args = p.parse_args()
    print(f"{args.env}, CPU: {cpu_name()}")
    print("| seed | teacher | " + " | ".join(f"generation {g}" for g in range(1, args.generations + 1)) + " | wall s |")
    print("|---|---|" + "---|" * args.generations + "---|")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(args.keep or d)
        for seed in (int(s) for s in args.seeds.split(",")):
            teacher = tmp / f"teacher{seed}"
            steps = ["--steps", str(args.teacher_steps)] if args.teacher_steps else []
            if not (teacher / "model.json").exists():
                run("train", "--env", args.env, *steps, "--seed", str(seed), "--out", str(teacher))
            returns = [json.loads(run("eval", str(teacher), "--episodes", "20", "--seed", "100", "--json"))["mean_return"]]
            out = tmp / f"students{seed}"
            start = time.perf_counter()
            run("distill", "--teacher", str(teacher), "--hidden", "256,256", "--loss", "kl", "--generations",
                str(args.generations), "--steps", str(args.states), "--seed", str(seed), "--out", str(out), "--force")
            wall = time.perf_counter() - start
            for g in range(1, args.generations + 1):
                student = out / f"generation-{g}" if args.generations > 1 else out  # one generation: OUT itself
                returns.append(json.loads(run("eval", str(student), "--episodes", "20", "--seed", "100",
                                              "--json"))["mean_return"])
            print(f"| {seed} | " + " | ".join(f"{r:.1f}" for r in returns) + f" | {wall:.1f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
