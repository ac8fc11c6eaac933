"""Study benchmark (issue 14): what a 30-trial CartPole study finds, and how fast studies run.

    .venv/bin/python benchmarks/tune.py [--trials 30] [--steps 20000] [--scaling-trials 8]

1. A DQN study on CartPole-v1 (rl-zoo's search space, TPE, median pruner, `--jobs 2`), then the
   best settings and rl-zoo's defaults trained for 50k steps on seeds 0-2 with an evaluation every
   1,000 steps: steps to solve (first evaluation with mean return ≥ 475).
2. Trials per hour for the same small study (learning rate only, so trials cost alike) with
   `--jobs 1`, `--jobs 2` and on a local two-CPU Ray cluster, and the scaling efficiency
   (rate / (jobs × rate with one job)).
Prints the CPU beside the figures.
"""
import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DISTILL, cpu_name



def study(args, tmp, name):
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "swiftdistill.study", "tune", "--study", str(tmp / name), "--json", *args],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"study {name} failed: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout[r.stdout.index("{"):]), time.perf_counter() - start


def steps_to_solve(config, seed, out):
    cmd = [DISTILL, "train", "--env", "CartPole-v1", "--seed", str(seed), "--steps", "50000", "--eval-interval", "1000",
           "--eval-episodes", "10", "--out", str(out), "--force"]
    if config:  # flags override the file: the same seed, length and evaluation for both
        cmd += ["--config", str(config)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    with open(Path(out) / "metrics.csv") as f:
        for row in csv.DictReader(f):
            if row["kind"] == "eval" and float(row["eval_mean"]) >= 475:
                return int(row["step"])
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--scaling-trials", type=int, default=8)
    p.add_argument("--no-ray", action="store_true")
    args = p.parse_args()
    print(f"CPU: {cpu_name()}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        summary, wall = study(["--env", "CartPole-v1", "--trials", str(args.trials), "--steps", str(args.steps),
                               "--jobs", "2"], tmp, "cartpole")
        print(f"study: {args.trials} trials × {args.steps} steps, --jobs 2: {wall:.0f} s; {summary['complete']} complete, "
              f"{summary['pruned']} pruned, {summary['failed']} failed; best objective {summary.get('best_value')}")
        best = json.loads((tmp / "cartpole" / "best.json").read_text())
        print("best settings:", {k: v for k, v in best.items() if k not in ("total_steps", "eval_interval", "eval_episodes")})
        print("| settings | seed | steps to solve (eval ≥ 475) |")
        print("|---|---|---|")
        for label, config in (("rl-zoo defaults", None), ("study's best", tmp / "cartpole" / "best.json")):
            for seed in (0, 1, 2):
                s = steps_to_solve(config, seed, tmp / f"solve-{label[:3]}-{seed}")
                print(f"| {label} | {seed} | {s if s is not None else 'not within 50k'} |", flush=True)
        space = tmp / "space.json"
        space.write_text(json.dumps({"learning_rate": {"float": [1e-3, 3e-3], "log": True}}))
        common = ["--env", "CartPole-v1", "--trials", str(args.scaling_trials), "--steps", str(args.steps),
                  "--space", str(space), "--pruner", "none"]
        rates = {}
        for label, extra in (("--jobs 1", ["--jobs", "1"]), ("--jobs 2", ["--jobs", "2"])):
            _, w = study(common + extra, tmp, label.replace(" ", ""))
            rates[label] = args.scaling_trials / w * 3600
        if not args.no_ray:
            ray = str(Path(sys.executable).parent / "ray")
            subprocess.run([ray, "start", "--head", "--num-cpus", "2", "--include-dashboard=false",
                            "--disable-usage-stats"], capture_output=True, check=True)
            try:
                _, w = study(common + ["--jobs", "2", "--ray-address", "auto"], tmp, "ray")
                rates["Ray, 2 CPUs"] = args.scaling_trials / w * 3600
            finally:
                subprocess.run([ray, "stop", "--force"], capture_output=True)
        print(f"| how | trials/hour ({args.scaling_trials} trials × {args.steps} steps) | scaling efficiency |")
        print("|---|---|---|")
        for label, rate in rates.items():
            workers = 1 if label == "--jobs 1" else 2
            print(f"| {label} | {rate:.0f} | {rate / (workers * rates['--jobs 1']):.2f} |")


if __name__ == "__main__":
    sys.exit(main())
