"""Multi-task policy distillation (Rusu et al. 2015): DQN teachers on CartPole-v1, Acrobot-v1,
MountainCar-v0 and LunarLander-v3 (rl-zoo settings, 256-256 each, one set per seed; LunarLander
needs Box2D and pygame), distilled (KL, DAgger) into one
student with a shared trunk; seeds 0-2. Each task's student is then measured on fresh episodes
(`distill compare`, 20 episodes from seed 100, not the episodes the run kept its best by):
normalised return (student − random)/(teacher − random), and the student's parameters as a share
of the three teachers' together.

    .venv/bin/python benchmarks/multitask.py [--seeds 0,1,2] [--hidden 64,64 32,32] [--states-per-task 20000]
        [--tasks cartpole,acrobot,mountaincar,lunarlander]
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import cpu_name, distill as run

ALL_TASKS = {"cartpole": ("CartPole-v1", ["--steps", "50000"]), "acrobot": ("Acrobot-v1", []),
             "mountaincar": ("MountainCar-v0", []), "lunarlander": ("LunarLander-v3", [])}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--hidden", nargs="+", default=["64,64", "32,32"])
    p.add_argument("--states-per-task", type=int, default=20000, help="labelled states per task")
    p.add_argument("--tasks", default=",".join(ALL_TASKS))
    p.add_argument("--keep", help="directory to keep teachers and students in (default: a temporary one)")
    args = p.parse_args()
    TASKS = {name: ALL_TASKS[name] for name in args.tasks.split(",")}
    states = args.states_per_task * len(TASKS)
    print(f"CPU: {cpu_name()}")
    print("| seed | student | params (% of teachers) | " + " | ".join(f"{t} teacher / student / normalised" for t in TASKS)
          + " | min normalised | wall s |")
    print("|---|---|---|" + "---|" * len(TASKS) + "---|---|")
    with tempfile.TemporaryDirectory() as d:
        root = Path(args.keep or d)
        for seed in (int(s) for s in args.seeds.split(",")):
            teachers = {}
            for name, (env, extra) in TASKS.items():
                teachers[name] = root / f"teacher-{name}-{seed}"
                if not (teachers[name] / "model.json").exists():
                    run("train", "--env", env, *extra, "--seed", str(seed), "--out", str(teachers[name]), "--force")
            for hidden in args.hidden:
                out = root / f"student-{hidden.replace(',', '-')}-{seed}"
                start = time.perf_counter()
                run("distill", *[a for name in TASKS for a in ("--teacher", f"{name}={teachers[name]}")], "--hidden", hidden,
                    "--loss", "kl", "--steps", str(states), "--eval-interval", str(states // 10), "--seed", str(seed),
                    "--out", str(out), "--force")
                wall = time.perf_counter() - start
                index = json.loads((out / "tasks" / "tasks.json").read_text())
                cells, scores, teacher_params = [], [], 0
                for name in TASKS:
                    report = json.loads(run("compare", str(teachers[name]), str(out / "tasks" / name), "--episodes", "20",
                                            "--seed", "100", "--json"))
                    teacher_params += report["teacher"]["parameters"]
                    scores.append(report["normalized_return"])
                    cells.append(f"{report['teacher']['mean_return']:.1f} / {report['student']['mean_return']:.1f} / "
                                 f"{report['normalized_return']:.3f}")
                share = 100 * index["shared_parameters"] / teacher_params
                print(f"| {seed} | {hidden} | {index['shared_parameters']:,} ({share:.1f}%) | " + " | ".join(cells)
                      + f" | {min(scores):.3f} | {wall:.1f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
