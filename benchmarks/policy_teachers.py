"""Policy-gradient teachers (issue 31): SB3 PPO agents (and SAC on Pendulum) trained with rl-zoo's
settings, converted with `distill import-sb3` (their actor: a categorical or squashed head),
distilled into students under 5% of the actor's parameters, and compared on the same 20 fresh
episodes.

    .venv/bin/python benchmarks/policy_teachers.py [--envs cartpole,acrobot] [--seeds 0,1,2] [--core 0]

The teachers are trained here (SB3 and torch are the test environment's, never a user's set-up),
one core, torch on one thread, with rl-zoo's PPO hyper-parameters, except that Acrobot trains
without VecNormalize (its statistics live outside the model and are not converted) and for
--acrobot-steps (200k by default instead of 1M). LunarLander-v3 (1M steps, ~20 minutes a seed on
one core) runs when named in --envs. Students: one hidden layer of 16 ReLU units, KL on the
teacher's policy at temperature 1 (its own probabilities), 30,000 student-driven states.
Normalised return is (student − random) / (teacher − random), every model on the seeds 100–119.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DISTILL, cpu_name, distill

# rl-zoo's PPO settings (hyperparams/ppo.yml); lin_X is a linear schedule from X to 0.
ZOO = {
    "cartpole": ("CartPole-v1", 100_000, dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                                              ent_coef=0.0, learning_rate="lin_0.001", clip_range="lin_0.2")),
    "acrobot": ("Acrobot-v1", 200_000, dict(n_envs=16, n_steps=256, gae_lambda=0.94, gamma=0.99, n_epochs=4, ent_coef=0.0)),
    "lunarlander": ("LunarLander-v3", 1_000_000, dict(n_envs=16, n_steps=1024, batch_size=64, gae_lambda=0.98, gamma=0.999,
                                                      n_epochs=4, ent_coef=0.01)),
    # SAC (continuous actions): rl-zoo's Pendulum-v1 entry, 20k steps at learning rate 1e-3.
    "pendulum": ("Pendulum-v1", 20_000, dict(algorithm="SAC", n_envs=1, learning_rate=1e-3)),
    # SAC on LunarLanderContinuous-v3: rl-zoo's entry (500k steps, 400-300 networks).
    "lunarlander-continuous": ("LunarLanderContinuous-v3", 500_000,
                               dict(algorithm="SAC", n_envs=1, batch_size=256, learning_rate="lin_7.3e-4", buffer_size=1_000_000,
                                    ent_coef="auto", gamma=0.99, tau=0.01, train_freq=1, gradient_steps=1, learning_starts=10_000,
                                    policy_kwargs=dict(net_arch=[400, 300]))),
    # PPO with a Gaussian policy: rl-zoo's Pendulum-v1 entry without VecNormalize and gSDE (neither
    # is part of the actor a model directory holds), for 200k steps instead of 100k.
    "pendulum-ppo": ("Pendulum-v1", 200_000, dict(n_envs=4, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0,
                                                  learning_rate=1e-3, clip_range=0.2)),
}
# Students: 16 ReLU units with KL at temperature 1 for the categorical PPO actors and with the KL
# between the Gaussians (the teacher's log_std) for the Gaussian one (SB3's 64-64 actor: 16 units
# are 1.8% of it); 32-32 with the MSE on the pre-tanh outputs for SAC's 256-256 actor
# (--squashed-loss action-mse: on the squashed actions, which measured weaker).
STUDENTS = {"categorical": ["--hidden", "16", "--loss", "kl", "--temperature", "1"],
            "gaussian": ["--hidden", "16", "--loss", "kl"],
            "squashed": ["--hidden", "32,32", "--loss", "q-mse"]}

TRAIN = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
import stable_baselines3
from stable_baselines3.common.env_util import make_vec_env
env_id, steps, seed, settings, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
n_envs = settings.pop("n_envs")
algorithm = getattr(stable_baselines3, settings.pop("algorithm", "PPO"))
for key in ("learning_rate", "clip_range"):
    if isinstance(settings.get(key), str) and settings[key].startswith("lin_"):
        start = float(settings[key][4:])
        settings[key] = lambda progress, start=start: progress * start
model = algorithm("MlpPolicy", make_vec_env(env_id, n_envs=n_envs, seed=seed), seed=seed, device="cpu", verbose=0, **settings)
begin = time.perf_counter()
model.learn(total_timesteps=steps)
wall = time.perf_counter() - begin
model.save(out)
print(json.dumps({"wall": wall, "steps": steps}))
"""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", default="cartpole,acrobot")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--core", type=int, default=0)
    p.add_argument("--acrobot-steps", type=int, default=200_000)
    p.add_argument("--teacher-steps", default="",
                   help="NAME=N,…: train these environments' teachers for N steps instead of rl-zoo's budget "
                        "(SAC on LunarLanderContinuous-v3 takes ~21 ms a step on one core, 3 hours for zoo's 500k)")
    p.add_argument("--states", type=int, default=30_000)
    p.add_argument("--keep", help="Directory to keep the teachers and students in.")
    p.add_argument("--reuse", action="store_true", help="with --keep: take a teacher already trained there rather than training it again")
    p.add_argument("--squashed-loss", default="q-mse", help="the loss for SAC's students (q-mse, action-mse, or both)")
    p.add_argument("--updates-per-step", type=int, default=1, help="the students' gradient steps per labelled state")
    args = p.parse_args()
    STUDENTS["squashed"][-1] = args.squashed_loss
    budgets = {k: int(v) for k, v in (item.split("=") for item in args.teacher_steps.split(",") if item)}
    unknown = set(budgets) - set(ZOO)
    if unknown:
        p.error(f"--teacher-steps names {', '.join(sorted(unknown))}, which is not one of {', '.join(ZOO)}")
    # LunarLander's continuous actor (400-300, 124k parameters) gets a 64-64 student (3.9%); its
    # measurements use --updates-per-step 4 (one step per state left the students' actions 14–17%
    # of the range from the teacher's, and seed 1 at 0.896).
    wider = {"lunarlander-continuous": "64,64"}
    print(f"CPU: {cpu_name()}; one core (taskset -c {args.core}); students: 16 ReLU units, KL at temperature 1, "
          f"{args.states} states")
    print("| env | seed | teacher (SB3) return | SB3 steps | SB3 training s | actor parameters | student parameters (share) | "
          "student return | normalised | agreement | distillation s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        for name in args.envs.split(","):
            env_id, steps, settings = ZOO[name]
            settings = dict(settings)  # the training script pops from it
            if name == "acrobot":
                steps = args.acrobot_steps
            steps = budgets.get(name, steps)
            for seed in (int(s) for s in args.seeds.split(",")):
                work = root / f"{name}-{seed}"
                work.mkdir(exist_ok=True)
                if args.reuse and (work / "ppo.zip").exists() and (work / "train.json").exists():
                    trained = json.loads((work / "train.json").read_text())
                else:
                    r = subprocess.run(["taskset", "-c", str(args.core), sys.executable, "-c", TRAIN, env_id, str(steps), str(seed),
                                        json.dumps(settings), str(work / "ppo")], capture_output=True, text=True)
                    if r.returncode != 0:
                        raise SystemExit(f"SB3 training failed: {r.stderr.strip().splitlines()[-1:]}")
                    trained = json.loads(r.stdout.strip().splitlines()[-1])
                    (work / "train.json").write_text(json.dumps(trained))
                distill("import-sb3", str(work / "ppo.zip"), "--out", str(work / "teacher"), "--env", env_id, "--force")
                head = json.loads((work / "teacher" / "model.json").read_text())["architecture"]["head"]
                start = time.perf_counter()
                student = list(STUDENTS[head])
                if name in wider:
                    student[1] = wider[name]
                subprocess.run(["taskset", "-c", str(args.core), DISTILL, "distill", "--teacher", str(work / "teacher"),
                                *student, "--steps", str(args.states), "--updates-per-step", str(args.updates_per_step),
                                "--seed", str(seed), "--out", str(work / "student"), "--force"], check=True, capture_output=True)
                wall = time.perf_counter() - start
                c = json.loads(distill("compare", str(work / "teacher"), str(work / "student"), "--episodes", "20", "--json"))
                t, s = c["teacher"], c["student"]
                agreement = (f"{c['action_agreement']:.1%}" if "action_agreement" in c
                             else f"distance {c['relative_action_distance']:.2%} of the range")
                print(f"| {env_id} | {seed} | {t['mean_return']:.1f} | {trained.get('steps', steps):,} | {trained['wall']:.0f} | {t['parameters']:,} | "
                      f"{s['parameters']:,} ({c['parameter_ratio']:.1%}) | {s['mean_return']:.1f} | {c['normalized_return']:.3f} | "
                      f"{agreement} | {wall:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
