"""Wall time of the intermediate-layer losses against KL alone, measured in the same run:
`--loss kl` versus `kl` plus feature, relational or flow, on CartPole-v1 teachers of two sizes
(the demo's 256-256 → 16-16 student, and seed 004's 128-64 → 64-32), 20,000 labelled states,
evaluation off, one core (`taskset -c 0`); each configuration runs `--repeats` times in
alternation and the fastest is kept. Prints seconds and the ratio to KL.

    .venv/bin/python benchmarks/losses.py [--repeats 3] [--states 20000]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import DISTILL, cpu_name, distill as run
import subprocess

CASES = [("256,256", "16,16"), ("128,64", "64,32")]
EXTRAS = {"kl": [], "kl + feature 1:1": ["--feature-layer", "1:1"], "kl + relational": ["--relational-weight", "1"],
          "kl + flow": ["--flow-weight", "1"]}


def timed(args):
    start = time.perf_counter()
    r = subprocess.run(["taskset", "-c", "0", DISTILL, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"distill {' '.join(args)} failed: {r.stderr.strip()}")
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--states", type=int, default=20000)
    args = p.parse_args()
    print(f"CPU: {cpu_name()}; {args.states} labelled states, best of {args.repeats}, one core")
    print("| teacher → student | " + " | ".join(EXTRAS) + " |")
    print("|---|" + "---|" * len(EXTRAS))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for teacher_sizes, student_sizes in CASES:
            teacher = tmp / f"teacher-{teacher_sizes}"
            run("train", "--env", "CartPole-v1", "--hidden", teacher_sizes, "--seed", "0", "--out", str(teacher))
            best = {name: float("inf") for name in EXTRAS}
            for _ in range(args.repeats):
                for name, extra in EXTRAS.items():
                    best[name] = min(best[name], timed(["distill", "--teacher", str(teacher), "--hidden", student_sizes,
                                                        "--loss", "kl", "--steps", str(args.states), "--eval-interval", "0",
                                                        "--seed", "0", *extra, "--out", str(tmp / "s"), "--force"]))
            cells = [f"{best[n]:.2f} s ({best[n] / best['kl']:.2f}×)" for n in EXTRAS]
            print(f"| {teacher_sizes} → {student_sizes} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
