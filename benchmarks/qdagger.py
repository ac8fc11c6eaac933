"""Kickstarting / QDagger-style distillation on Acrobot-v1 (issue 15): a DQN teacher trained with
rl-zoo's settings (100k steps), then a student of the same size that learns from its own TD loss
(`--lambda 1`) while the distillation weight falls linearly to 0 (`--distillation-schedule
linear`) over the first `--decay-fraction` of its run, for a third of the teacher's steps
(distillation phase included). Returns over 20 episodes (seed 100) and over 100 episodes (seed
1000), seeds 0-2. By default the student takes 8 gradient steps per environment step
(`--updates-per-step`): environment steps are the budget, gradient steps are not.

    .venv/bin/python benchmarks/qdagger.py [--seeds 0,1,2] [--teacher-steps 100000] [--loss q-mse]
        [--decay-fraction 0.5] [--updates-per-step 8] [--batch-size 64] [--learning-rate 1e-3] [--student-seed-offset 0]
        [--teachers DIR]
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
    p.add_argument("--teacher-steps", type=int, default=100000)
    p.add_argument("--loss", default="q-mse", help="Distillation loss (q-mse keeps the student's outputs Q-values for its TD loss).")
    p.add_argument("--decay-fraction", type=float, default=0.5)
    p.add_argument("--updates-per-step", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--teachers", help="Keep the teachers in this directory and reuse those already there.")
    p.add_argument("--student-seed-offset", type=int, default=0, help="Student seed = teacher seed + this (repeats on one teacher).")
    args = p.parse_args()
    student_steps = args.teacher_steps // 3
    print(f"| seed | teacher ({args.teacher_steps} steps) | teacher wall s | QDagger student ({student_steps} steps) | student wall s "
          f"| teacher, 100 eps | student, 100 eps |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for seed in (int(s) for s in args.seeds.split(",")):
            teacher = (Path(args.teachers) if args.teachers else tmp) / f"teacher{seed}"
            start = time.perf_counter()
            if not (teacher / "model.json").exists():
                run("train", "--env", "Acrobot-v1", "--steps", str(args.teacher_steps), "--seed", str(seed), "--out", str(teacher))
            t_wall = time.perf_counter() - start  # ~0 when reused
            t = json.loads(run("eval", str(teacher), "--episodes", "20", "--seed", "100", "--json"))
            hidden = ",".join(map(str, json.loads((teacher / "model.json").read_text())["architecture"]["hidden_sizes"]))
            out = tmp / f"student{seed}"
            start = time.perf_counter()
            run("distill", "--teacher", str(teacher), "--hidden", hidden, "--loss", args.loss, "--lambda", "1",
                "--distillation-schedule", "linear", "--distillation-decay-fraction", str(args.decay_fraction),
                "--updates-per-step", str(args.updates_per_step), "--batch-size", str(args.batch_size),
                "--learning-rate", str(args.learning_rate), "--steps", str(student_steps),
                "--seed", str(seed + args.student_seed_offset), "--out", str(out))
            s_wall = time.perf_counter() - start
            s = json.loads(run("eval", str(out), "--episodes", "20", "--seed", "100", "--json"))
            t100, s100 = (json.loads(run("eval", str(d), "--episodes", "100", "--seed", "1000", "--json"))["mean_return"]
                          for d in (teacher, out))
            print(f"| {seed} | {t['mean_return']:.1f} ± {t['std_return']:.1f} | {t_wall:.0f} | "
                  f"{s['mean_return']:.1f} ± {s['std_return']:.1f} | {s_wall:.0f} | {t100:.1f} | {s100:.1f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
