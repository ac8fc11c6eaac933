"""Robust students (issue 30): a teacher, a plain KL student and students distilled for
robustness, each measured by `distill robustness` on the same episodes and noise — observation
noise, sticky actions and the environment's preset dynamics change — with one score per model and
perturbation (the area under its normalised-return curve over the levels, divided by their span).

    .venv/bin/python benchmarks/robustness.py [--envs cartpole,acrobot,lunarlander] [--seeds 0,1,2] [--episodes 20]

Teachers come from benchmarks/edge.py's recipes and directories (runs/edge/ENV-SEED/teacher,
trained here when missing); students are 16-16 (≤ 1% of a 256-256 teacher's parameters; --hidden
and --state-factor choose others, kept in directories named RECIPE@WIDTHSxFACTOR), KL at
temperature 0.01, with the same states and seed:

    plain        no robustness setting
    noise        --state-noise 0.3
    adversarial  --adversarial-epsilon 0.1 --adversarial-steps 3
    dagger       --collect-perturbation sticky_actions:0.25
    noise+dagger both
    noise+noisy-dagger  --state-noise 0.3 --collect-perturbation observation_noise:0.3
    dynamics     --collect-perturbation dynamics:NAME=… (collection cycles through values of the
                 preset's parameter between its evaluation levels: see COLLECT_DYNAMICS)
    noise+dynamics          --state-noise 0.3 and dynamics
    noise+dynamics+sticky   --state-noise 0.3 and dynamics:…+sticky_actions:0.25
    dynamics+sticky         dynamics:…+sticky_actions:0.25
    wide-dynamics+sticky    the same over WIDE_DYNAMICS: the preset's levels and past its hardest one
    dynamics+sticky+task    and the student's own TD loss at λ = 0.1 on the transitions it collects
    q-mse+dynamics+sticky+task  the same with the Q-value MSE in place of KL
    kickstart+dynamics+sticky   Q-value MSE fading to 0 over the first half, the TD loss (λ = 1)
                                taking over: the student may improve on its teacher there

The issue's target: a robust student whose score is ≥ the teacher's on every perturbation kind
on all three environments, with clean normalised return ≥ 0.99, on seeds 0–2.
"""
import argparse
import json
import sys
from pathlib import Path

from common import ROOT, cpu_name, distill

# Collection under changed dynamics visits values of the preset's parameter other than the ones
# `distill robustness --preset` evaluates at (but the nominal one), spread over the same range.
COLLECT_DYNAMICS = {"cartpole": "dynamics:length=0.5,0.625,0.875,1.25,1.75",
                    "acrobot": "dynamics:LINK_MASS_1=1.0,1.125,1.375,1.75",
                    "lunarlander": "dynamics:gravity=-10.0,-9.0,-7.0,-11.0"}
# The same parameters over a range reaching past the preset's hardest level, weighted towards the
# hard end (the students fall behind their teachers on Acrobot's heaviest links).
WIDE_DYNAMICS = {"cartpole": "dynamics:length=0.5,1.0,1.5,2.0,2.5",
                 "acrobot": "dynamics:LINK_MASS_1=1.0,1.5,1.75,2.0,2.25",
                 "lunarlander": "dynamics:gravity=-10.0,-8.0,-6.0,-5.0,-11.5,-12.0"}
TEACHERS = {"cartpole": ("CartPole-v1", ["--steps", "50000"], 20_000), "acrobot": ("Acrobot-v1", [], 30_000),
            "lunarlander": ("LunarLander-v3", [], 30_000)}
RECIPES = {"plain": [], "noise": ["--state-noise", "0.3"],
           "adversarial": ["--adversarial-epsilon", "0.1", "--adversarial-steps", "3"],
           "dagger": ["--collect-perturbation", "sticky_actions:0.25"],
           "noise+dagger": ["--state-noise", "0.3", "--collect-perturbation", "sticky_actions:0.25"],
           "noise+noisy-dagger": ["--state-noise", "0.3", "--collect-perturbation", "observation_noise:0.3"],
           "dynamics": ["--collect-perturbation", "{dynamics}"],
           "noise+dynamics": ["--state-noise", "0.3", "--collect-perturbation", "{dynamics}"],
           "noise+dynamics+sticky": ["--state-noise", "0.3", "--collect-perturbation", "{dynamics}+sticky_actions:0.25"],
           "dynamics+sticky": ["--collect-perturbation", "{dynamics}+sticky_actions:0.25"],
           "wide-dynamics+sticky": ["--collect-perturbation", "{wide_dynamics}+sticky_actions:0.25"],
           "dynamics+sticky+task": ["--collect-perturbation", "{dynamics}+sticky_actions:0.25", "--lambda", "0.1"],
           "kickstart+dynamics+sticky": ["--collect-perturbation", "{dynamics}+sticky_actions:0.25", "--loss", "q-mse",
                                         "--lambda", "1", "--distillation-schedule", "linear",
                                         "--distillation-decay-fraction", "0.5"],
           "q-mse+dynamics+sticky+task": ["--collect-perturbation", "{dynamics}+sticky_actions:0.25", "--loss", "q-mse",
                                          "--lambda", "0.1"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", default=",".join(TEACHERS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--recipes", default=",".join(RECIPES), help="students to distil and measure beside the teacher, of " + ", ".join(RECIPES))
    p.add_argument("--reuse", action="store_true", help="measure students already in runs/edge/ENV-SEED/robust rather than distilling them again")
    p.add_argument("--out", default="study", help="directory name (under runs/edge/ENV-SEED/robust) of the study's files")
    p.add_argument("--hidden", default="16,16", help="the students' hidden widths (16,16 and 20,20 are ≤ 1%% of a 256-256 teacher's parameters)")
    p.add_argument("--state-factor", type=float, default=1.0, help="multiplies each environment's number of distillation states")
    args = p.parse_args()
    print(f"CPU: {cpu_name()}")
    print("| env | seed | model | clean normalised | observation noise | sticky actions | dynamics | meets the target |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.envs.split(","):
        env, teacher_args, states = TEACHERS[name]
        for seed in (int(s) for s in args.seeds.split(",")):
            work = ROOT / "runs" / "edge" / f"{name}-{seed}"
            teacher = work / "teacher"
            if not (teacher / "model.json").exists():
                distill("train", "--env", env, *teacher_args, "--seed", str(seed), "--out", str(teacher), "--force")
            models = [teacher]
            recipes = args.recipes.split(",")
            variant = "" if (args.hidden, args.state_factor) == ("16,16", 1.0) else f"@{args.hidden.replace(',', '-')}x{args.state_factor:g}"
            for label in recipes:
                extra = [a.replace("{dynamics}", COLLECT_DYNAMICS[name]).replace("{wide_dynamics}", WIDE_DYNAMICS[name])
                         for a in RECIPES[label]]
                out = work / "robust" / (label + variant)
                models.append(out)
                if args.reuse and (out / "model.json").exists():
                    continue
                distill("distill", "--teacher", str(teacher), "--hidden", args.hidden, "--loss", "kl", "--temperature", "0.01",
                        "--steps", str(round(states * args.state_factor)), "--seed", str(seed), *extra, "--out", str(out), "--force")
            report = json.loads(distill("robustness", *map(str, models), "--random-actions", "none", "--preset",
                                        "--episodes", str(args.episodes), "--out", str(work / "robust" / args.out), "--json"))
            names = ["teacher"] + [label + variant for label in recipes]
            scores = {a["axis"]["kind"]: a["scores"] for a in report["axes"]}
            clean = [a["results"] for a in report["axes"] if a["axis"]["kind"] == "observation_noise"][0]
            for m, label in enumerate(names):
                per_kind = [scores["observation_noise"][m], scores["sticky_actions"][m], scores["dynamics"][m]]
                teacher_kinds = [scores["observation_noise"][0], scores["sticky_actions"][0], scores["dynamics"][0]]
                normalised = clean[m][0]["normalized_return"]
                meets = "" if m == 0 else ("yes" if normalised >= 0.99 and all(s >= t for s, t in zip(per_kind, teacher_kinds)) else "no")
                print(f"| {env} | {seed} | {label} | {normalised:.3f} | " + " | ".join(f"{s:.3f}" for s in per_kind) + f" | {meets} |",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
