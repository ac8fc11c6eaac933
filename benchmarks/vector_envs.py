"""Vector environments (issue 32): environment steps per second of `distill train --n-envs N`
with the copies in this process (stepped one after another) or in worker processes
(`--env-isolation process`, stepped at the same time), for environment-bound runs — acting,
stepping and storing, with learning set past the end of the run so no gradient step is taken.
One run per row, every row in the same run of this script, all cores available (workers need
them).

    .venv/bin/python benchmarks/vector_envs.py [--envs LunarLander-v3,MinAtar/Breakout-v1] [--counts 1,2,4] [--steps 20000]
"""
import argparse
import re
import sys

from common import cpu_name, distill

NETWORKS = {"MinAtar/Breakout-v1": ["--conv", "minatar", "--hidden", "128"],
            "LunarLander-v3": ["--hidden", "256,256"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", default="LunarLander-v3,MinAtar/Breakout-v1")
    p.add_argument("--counts", default="1,2,4")
    p.add_argument("--steps", type=int, default=20_000)
    args = p.parse_args()
    import os
    print(f"CPU: {cpu_name()}; {os.cpu_count()} cores")
    print("| env | n_envs | copies in | env steps/s | against one copy in this process |")
    print("|---|---|---|---|---|")
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for env in args.envs.split(","):
            base = None
            for isolation in ("none", "process"):
                for n in (int(c) for c in args.counts.split(",")):
                    out = distill("train", "--env", env, *NETWORKS.get(env, []), "--n-envs", str(n), "--steps", str(args.steps),
                                  "--learning-starts", str(10 * args.steps), "--eval-interval", "0", "--env-isolation", isolation,
                                  "--out", f"{tmp}/{env.replace('/', '-')}-{n}-{isolation}", "--force")
                    rate = float(re.search(r"\(([\d.]+) env steps/s", out).group(1))
                    base = base or rate
                    where = "this process" if isolation == "none" else "worker processes"
                    print(f"| {env} | {n} | {where} | {rate:,.0f} | {rate / base:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
