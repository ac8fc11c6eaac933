"""Distillation benchmark (after Rusu et al., 2015): for each environment, train DQN teachers
(256-256), distil students of decreasing size with each loss (q-mse, kl, ce) under teacher-driven
and student-driven data, over several seeds, and print a results table: student parameters as a
percentage of the teacher's, normalised return (student − random)/(teacher − random), teacher-
labelled states used, wall time, inference speed-up and action agreement.

    .venv/bin/python benchmarks/distill.py [--envs CartPole-v1:50000:20000] [--seeds 0,1,2]
        [--sizes 64,64/16,16/8,8/4] [--losses q-mse,kl,ce] [--regimes teacher,student]

Each --envs entry is ID:TEACHER_STEPS:DISTILL_STEPS. Teachers are trained once per seed into
runs/bench-teachers/ and reused when present.
"""
import argparse
import json
import statistics
import time
from pathlib import Path

from common import ROOT, distill as sh



def teacher(env_id, steps, seed, root):
    out = root / f"{env_id}-{steps}-seed{seed}"
    if not (out / "model.json").exists():
        sh("train", "--env", env_id, "--steps", str(steps), "--seed", str(seed), "--out", str(out), "--force")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", default="CartPole-v1:50000:20000")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--sizes", default="64,64/16,16/8,8/4")
    p.add_argument("--losses", default="q-mse,kl,ce")
    p.add_argument("--regimes", default="teacher,student")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--teachers-dir", default=str(ROOT / "runs" / "bench-teachers"))
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results = []
    for spec in args.envs.split(","):
        env_id, teacher_steps, distill_steps = spec.split(":")
        teachers = {s: teacher(env_id, int(teacher_steps), s, Path(args.teachers_dir)) for s in seeds}
        for size in args.sizes.split("/"):
            for loss in args.losses.split(","):
                for regime in args.regimes.split(","):
                    for seed in seeds:
                        out = Path(args.teachers_dir).parent / "bench-students" / f"{env_id}-{size.replace(',', '-')}-{loss}-{regime}-{seed}"
                        start = time.perf_counter()
                        sh("distill", "--teacher", str(teachers[seed]), "--hidden", size, "--loss", loss,
                           "--regime", regime, "--steps", distill_steps, "--seed", str(seed), "--out", str(out), "--force")
                        wall = time.perf_counter() - start
                        c = json.loads(sh("compare", str(teachers[seed]), str(out), "--episodes", str(args.episodes), "--json"))
                        row = {"env": env_id, "size": size, "loss": loss, "regime": regime, "seed": seed, "wall": wall,
                               "labels": int(distill_steps), "params_pct": 100 * c["parameter_ratio"],
                               "normalized": c["normalized_return"], "agreement": c["action_agreement"],
                               "speedup": c["inference_speedup"], "teacher_return": c["teacher"]["mean_return"],
                               "student_return": c["student"]["mean_return"]}
                        results.append(row)
                        print(json.dumps(row), flush=True)
    print()
    print("| env | student | params % | loss | regime | normalised return (mean ± sd over seeds) | student return | agreement | labels | wall s | inference speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    keys = []
    for r in results:
        k = (r["env"], r["size"], r["loss"], r["regime"])
        if k not in keys:
            keys.append(k)
    for k in keys:
        rows = [r for r in results if (r["env"], r["size"], r["loss"], r["regime"]) == k]
        norm = [r["normalized"] for r in rows]
        sd = statistics.pstdev(norm) if len(norm) > 1 else 0.0
        print(f"| {k[0]} | {k[1]} | {rows[0]['params_pct']:.2f} | {k[2]} | {k[3]} | {statistics.mean(norm):.3f} ± {sd:.3f} | "
              f"{statistics.mean(r['student_return'] for r in rows):.1f} | {statistics.mean(r['agreement'] for r in rows):.3f} | "
              f"{rows[0]['labels']} | {statistics.mean(r['wall'] for r in rows):.1f} | {statistics.mean(r['speedup'] for r in rows):.1f}× |")


if __name__ == "__main__":
    main()
