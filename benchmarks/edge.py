"""Students that leave the lab (issue 29), two modes.

The table (default): for each environment and seed, a teacher from the existing recipe and four
students distilled from it (KL at temperature 0.01, student-driven states) — float, int8
post-training (10,000 calibration states), int8 quantisation-aware (`--quantize int8`, then
quantised), and 90%-pruned (`--prune 0.9` of a wider student with more states: see PRUNED) — each measured by `distill compare` against its
teacher on 20 fresh episodes (seeds 100–119): normalised return, action agreement on 2,000
held-out states, ns per action of its exported C (`cc -O2`, timed by compare over those states)
and of the Swift core; plus the Cortex-M4 object size (`arm-none-eabi-gcc -Os`; text = code and
constant weights) and, for the float student, onnxruntime's per-call time. Everything runs on
one core (this process pins itself to --core; its children inherit it).

    .venv/bin/python benchmarks/edge.py [--envs cartpole,acrobot,lunarlander,breakout] [--seeds 0,1,2] [--core 0]

Teachers and students are kept in runs/edge/ENV-SEED/; a teacher already there is reused.

The detail mode (--detail): one CartPole student in depth.

    .venv/bin/python benchmarks/edge.py --detail [--teacher runs/teacher] [--hidden 16,16] [--states 100000]

Without --teacher, a CartPole-v1 teacher is trained (50,000 steps, seed 0; `make demo`'s recipe)
into runs/edge/. The student (KL at temperature 0.01, 20,000 states) is exported with
`distill export --format c`, compiled with `cc -O2` (one core: `taskset -c 0`), and timed over
held-out states the student visits in CartPole; each figure is the median of 7 rounds. The same
states give the core's actions, which the C's must equal (it prints the agreement). Cortex-M4
size (text = code and const weights) is printed when arm-none-eabi-gcc is installed.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import DISTILL, ROOT, cpu_name, distill

TIMER_C = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "NAME.h"
/* argv[1]: float32 states; argv[2]: rounds. Prints ns per action of each round, then a checksum of the actions. */
int main(int argc, char **argv) {
    FILE *in = fopen(argv[1], "rb");
    int rounds = atoi(argv[2]), r;
    long n, i, checksum = 0;
    float *states;
    fseek(in, 0, SEEK_END);
    n = ftell(in) / (long)(sizeof(float) * UPPER_OBSERVATION_SIZE);
    fseek(in, 0, SEEK_SET);
    states = malloc(sizeof(float) * UPPER_OBSERVATION_SIZE * (size_t)n);
    if (fread(states, sizeof(float) * UPPER_OBSERVATION_SIZE, (size_t)n, in) != (size_t)n) return 2;
    for (r = 0; r < rounds; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (i = 0; i < n; i++) checksum += NAME_act(states + i * UPPER_OBSERVATION_SIZE);
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n);
    }
    printf("%ld\n", checksum);
    for (i = 0; i < n; i++) fprintf(stderr, "%d\n", NAME_act(states + i * UPPER_OBSERVATION_SIZE));
    return 0;
}
"""


# -O2, plus -mfma where the CPU has fused multiply-add (x86-64's baseline lacks it, and fmaf is then
# a library call): the flags a deployment on this CPU would use.
C_FLAGS = ["-O2"] + (["-mfma"] if " fma " in Path("/proc/cpuinfo").read_text() else [])


def student_states(model_dir: Path, env_id: str, count: int, seed: int = 12345) -> np.ndarray:
    """States the student visits greedily (with 10% random actions, so they spread), fresh seeds."""
    import gymnasium as gym
    import swiftdistill as sd
    if env_id.startswith("MinAtar/"):
        from minatar.gym import register_envs  # the MinAtar/ ids, as distill registers them
        register_envs()
    model = sd.load(model_dir)
    env = gym.make(env_id)
    rng = np.random.default_rng(seed)
    states, episode = [], 0
    obs, _ = env.reset(seed=seed)
    while len(states) < count:
        states.append(np.asarray(obs, dtype=np.float32).ravel())
        action = int(model.predict(obs)[0]) if rng.random() > 0.1 else int(env.action_space.sample())
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
    return np.stack(states)


def onnx_per_call_ns(model_dir: Path, states: np.ndarray, calls: int = 20000) -> float:
    try:
        import onnxruntime as ort
        import swiftdistill as sd
    except ImportError:
        return float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "student.onnx"
        model = sd.load(model_dir)
        model.to_onnx(path)
        states = states.reshape((len(states),) + model.observation_shape)  # images keep their shape
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        rounds = []
        for _ in range(5):
            start = time.perf_counter()
            for i in range(calls):
                session.run(None, {name: states[i % len(states)][None, ...]})
            rounds.append((time.perf_counter() - start) / calls * 1e9)
        return statistics.median(rounds)


def detail(args) -> int:
    """One student in depth (the --detail mode): C, int8 C, the core, the teacher and onnxruntime."""
    work = ROOT / "runs" / "edge" / f"seed{args.seed}"
    teacher = args.teacher
    if teacher is None:
        teacher = work / "teacher"
        distill("train", "--env", args.env, "--steps", "50000", "--seed", str(args.seed), "--out", str(teacher), "--force")
    student = work / f"student-{args.hidden.replace(',', '-')}"
    distill("distill", "--teacher", str(teacher), "--hidden", args.hidden, "--loss", "kl", "--temperature", "0.01",
            "--steps", "20000", "--seed", str(args.seed), "--out", str(student), "--force")
    int8 = work / f"int8-{args.hidden.replace(',', '-')}"
    quantized = json.loads(distill("quantize", str(student), "--out", str(int8), "--force", "--calibration-states", "10000",
                                   "--json"))
    states = student_states(student, args.env, args.states)
    states_path = work / "states.f32"
    states.tofile(states_path)
    from swiftdistill import _core

    def time_c(model: Path, label: str):
        """Exports `model` as C, times it, and returns (ns per action, agreement with the core's actions)."""
        code = work / f"c-{label}"
        distill("export", str(model), "--format", "c", "--output", str(code), "--name", "student", "--force")
        timer = work / "timer.c"
        timer.write_text(TIMER_C.replace("UPPER", "STUDENT").replace("NAME", "student"))
        exe = work / f"timer-{label}"
        subprocess.run(["cc", "-std=c99", *C_FLAGS, "-I", str(code), str(code / "student.c"), str(timer), "-o", str(exe), "-lm"],
                       check=True)
        run = subprocess.run(["taskset", "-c", "0", str(exe), str(states_path), "7"], capture_output=True, text=True, check=True)
        ns = statistics.median(float(v) for v in run.stdout.split()[:7])
        c_actions = np.array([int(v) for v in run.stderr.split()])
        core_actions = np.argmax(_core.q_values(model=str(model), observations=states), axis=1)
        return ns, float(np.mean(c_actions == core_actions)), code

    c_ns, agreement, code = time_c(student, "float")
    int8_ns, int8_agreement, int8_code = time_c(int8, "int8")
    report = json.loads(distill("compare", str(teacher), str(student), "--episodes", "20", "--json"))
    core_ns = report["student"]["inference_us"] * 1000
    teacher_ns = report["teacher"]["inference_us"] * 1000
    onnx_ns = onnx_per_call_ns(student, states)
    weights = sum(4 * int(np.prod(t["shape"])) for t in json.loads((student / "model.json").read_text())["tensors"])
    print(f"CPU: {cpu_name()} (one core)")
    print(f"student {args.hidden} on {args.env}: {weights} bytes of float32 weights, normalised return "
          f"{report['normalized_return']:.3f} over 20 episodes")
    print(f"{'':28}{'ns per action':>14}{'vs exported C':>15}")
    print(f"C compiled with cc {' '.join(C_FLAGS)}")
    for label, ns in (("exported C", c_ns), ("exported int8 C", int8_ns), ("Swift core (single obs.)", core_ns),
                      ("teacher in the Swift core", teacher_ns), ("onnxruntime (1 thread)", onnx_ns)):
        print(f"{label:28}{ns:14.1f}{ns / c_ns:14.1f}x")
    print(f"C actions equal to the core's on {len(states)} held-out states: float {agreement:.4%}, int8 {int8_agreement:.4%}")
    print(f"int8 (post-training, 10,000 calibration states): {quantized['int8']['int8_weight_bytes']} bytes of int8 weights, "
          f"{quantized['int8']['weight_bytes']} bytes with biases, requantisation and scales (float: "
          f"{quantized['float']['weight_bytes']}); return {quantized['int8']['mean_return']:.1f} vs float "
          f"{quantized['float']['mean_return']:.1f} over {quantized['episodes']} episodes; agreement "
          f"{quantized['action_agreement']:.4f}")
    if shutil.which("arm-none-eabi-gcc"):
        for label, source in (("float", code), ("int8", int8_code)):
            obj = work / f"student-m4-{label}.o"
            subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                            "-mfpu=fpv4-sp-d16", "-Os", "-c", str(source / "student.c"), "-o", str(obj)], check=True)
            size = subprocess.run(["arm-none-eabi-size", str(obj)], capture_output=True, text=True,
                                  check=True).stdout.splitlines()[1]
            text, data, bss = size.split()[:3]
            print(f"Cortex-M4 {label} (-Os, hard float): text {text} B (code and weights), data {data} B, bss {bss} B")
    return 0 if agreement == 1.0 and int8_agreement == 1.0 else 1


# Teacher recipes (`distill train` arguments) and students (architecture, labelled states).
RECIPES = {
    "cartpole": ("CartPole-v1", ["--steps", "50000"], ["--hidden", "16,16"], 20_000),
    "acrobot": ("Acrobot-v1", [], ["--hidden", "16,16"], 30_000),
    "lunarlander": ("LunarLander-v3", [], ["--hidden", "16,16"], 30_000),
    # MinAtar's network and the MinAtar paper's settings (benchmarks/minatar_dqn.py), 100k steps.
    "breakout": ("MinAtar/Breakout-v1", ["--conv", "minatar", "--hidden", "128", "--steps", "100000", "--learning-rate", "2.5e-4",
                                         "--batch-size", "32", "--buffer-size", "100000", "--learning-starts", "5000",
                                         "--target-update-interval", "1000", "--train-frequency", "1", "--gradient-steps", "1",
                                         "--exploration-final", "0.1", "--exploration-fraction", "1.0", "--max-grad-norm", "10"],
                 ["--conv", "8:3:1", "--hidden", "16"], 60_000),
}


# The pruned students start wider and keep 10% of their dense weights (ranked together, the
# default --prune-scope global): about as many as the dense float student has (CartPole 64-64
# pruned: ~460 of 4,600; dense 16-16: 352). They get eight times the float student's states
# (Breakout four: 240,000 convolutional states already keep its return, and eight would take
# about 40 minutes a seed here), and reach the full share at 0.3 of the run, so 70% of it
# recovers. On LunarLander seed 1, four times gave 0.962 of the float student on 100
# episodes and eight times 211.9 against its 204.1. Measured first on CartPole seed 1 and
# LunarLander seed 0: the 16-16 pruned itself kept 0.55 (CartPole); 64-64 per matrix 0.74 and
# 0.55; 64-64 global by magnitude 1.00 and 0.95 — but 0.00 on Acrobot, whose tiny head it pruned
# away; by LAMP score (the default now), twice the states and --prune-end 0.4: 1.00, 0.99,
# Acrobot 1.01, but LunarLander seed 0 0.955 of its float student on 100 episodes; with four
# times the states and --prune-end 0.3 it returns 266.5 against the float student's 255.8.
PRUNED_STATES_FACTOR = {"cartpole": 8, "acrobot": 8, "lunarlander": 8, "breakout": 4}
PRUNED = {"cartpole": ["--hidden", "64,64"], "acrobot": ["--hidden", "64,64"], "lunarlander": ["--hidden", "64,64"],
          "breakout": ["--conv", "8:3:1", "--hidden", "64"]}


def m4_text_bytes(model: Path, work: Path) -> int | None:
    """Text (code and constant weights) of the model's C built for a Cortex-M4, or None without the compiler."""
    if not shutil.which("arm-none-eabi-gcc"):
        return None
    code = work / "m4-code"
    distill("export", str(model), "--format", "c", "--output", str(code), "--name", "student", "--force")
    obj = work / "m4.o"
    subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
                    "-Os", "-c", str(code / "student.c"), "-o", str(obj)], check=True)
    size = subprocess.run(["arm-none-eabi-size", str(obj)], capture_output=True, text=True, check=True).stdout.splitlines()[1]
    return int(size.split()[0])


def c_matches_core(model: Path, states: np.ndarray, work: Path) -> float:
    """The share of `states` on which the model's exported C (built with the C_FLAGS) takes the
    core's greedy action: issue 29 asks for all of 100,000 held-out states per environment."""
    from swiftdistill import _core
    code = work / "match-code"
    distill("export", str(model), "--format", "c", "--output", str(code), "--name", "student", "--force")
    timer, exe, states_path = work / "timer.c", work / "match", work / "match-states.f32"
    timer.write_text(TIMER_C.replace("UPPER", "STUDENT").replace("NAME", "student"))
    subprocess.run(["cc", "-std=c99", *C_FLAGS, "-I", str(code), str(code / "student.c"), str(timer), "-o", str(exe), "-lm"],
                   check=True)
    states.tofile(states_path)
    run = subprocess.run([str(exe), str(states_path), "1"], capture_output=True, text=True, check=True)
    c_actions = np.array([int(v) for v in run.stderr.split()])
    scale = json.loads((model / "model.json").read_text()).get("config", {}).get("observation_scale") or 1
    scaled = states * np.float32(scale) if scale != 1 else states
    core_actions = np.concatenate([np.argmax(_core.q_values(model=str(model), observations=np.ascontiguousarray(chunk)), axis=1)
                                   for chunk in np.array_split(scaled, max(1, len(scaled) // 10_000))])
    return float(np.mean(c_actions == core_actions))


def weight_bytes(model: Path) -> int:
    """Bytes of the deployed arrays: float32 weights and biases, or the int8 model's int8 weights
    with its int32 biases, requantisation constants and float scales."""
    manifest = json.loads((model / "model.json").read_text())
    size = {"float32": 4, "int32": 4, "int8": 1}
    return sum(size[t["dtype"]] * int(np.prod(t["shape"])) for t in manifest["tensors"])


def table(args) -> int:
    os.sched_setaffinity(0, {args.core})
    print(f"CPU: {cpu_name()} (one core, {args.core}); C compiled with cc {' '.join(C_FLAGS)}")
    print("| env | seed | student | weight bytes | sparsity | M4 text B | C ns/action | core ns/action | onnxruntime ns/call "
          "| return | normalised | agreement | C = core |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    for name in args.envs.split(","):
        env, teacher_args, student_args, states = RECIPES[name]
        for seed in (int(s) for s in args.seeds.split(",")):
            work = ROOT / "runs" / "edge" / f"{name}-{seed}"
            teacher = work / "teacher"
            if not (teacher / "model.json").exists():
                # The recipe as `make demo` runs it: the run keeps its best evaluated model.
                distill("train", "--env", env, *teacher_args, "--seed", str(seed), "--out", str(teacher), "--force")
            common = ["--teacher", str(teacher), *student_args, "--loss", "kl", "--temperature", "0.01", "--steps", str(states),
                      "--seed", str(seed), "--force"]
            students = {}
            pruned = ["--prune", "0.9", "--prune-end", "0.3", *PRUNED[name], "--steps", str(PRUNED_STATES_FACTOR[name] * states)]
            wanted = args.only.split(",") if args.only else ["float", "int8", "pruned"]
            for label, extra in (("float", []), ("qat", ["--quantize", "int8"]), ("pruned 90%", pruned)):
                out = work / label.split()[0]
                if (label.split()[0] in wanted or (label == "qat" and "int8" in wanted)) and not (args.reuse and (out / "model.json").exists()):
                    distill("distill", *common, *extra, "--out", str(out))
                students[label] = out
            if "int8" in wanted:
                for label, source in (("int8 post-training", students["float"]), ("int8 quantisation-aware", students["qat"])):
                    out = work / label.replace(" ", "-")
                    if args.reuse and (out / "model.json").exists():
                        students[label] = out
                        continue
                    distill("quantize", str(source), "--out", str(out), "--force", "--calibration-states", "10000", "--episodes", "1")
                    students[label] = out
            order = [label for label in ["float", "int8 post-training", "int8 quantisation-aware", "pruned 90%"]
                     if label.split()[0] in wanted or (label.startswith("int8") and "int8" in wanted)]
            scores = {}
            held_out = student_states(students["float"], env, args.held_out) if args.held_out else None
            for label in order:
                model = students[label]
                report = json.loads(distill("compare", str(teacher), str(model), "--episodes", str(args.episodes), "--seed", "100",
                                            "--json"))
                s = report["student"]
                onnx = onnx_per_call_ns(model, student_states(model, env, 2000)) if label == "float" else float("nan")
                m4 = m4_text_bytes(model, work)
                scores[label] = report["normalized_return"]
                print(f"| {env} | {seed} | {label} | {weight_bytes(model):,} | {s['sparsity']:.2f} | {m4 if m4 else ''} "
                      f"| {s.get('c_ns_per_action', float('nan')):.1f} | {s['inference_us'] * 1000:.1f} "
                      f"| {'' if onnx != onnx else f'{onnx:,.0f}'} | {s['mean_return']:.1f} | {report['normalized_return']:.3f} "
                      f"| {report['action_agreement']:.3f} "
                      f"| {'' if held_out is None else f'{c_matches_core(model, held_out, work):.5f} of {len(held_out):,}'} |", flush=True)
            summary.append((env, seed, scores))
    print()
    print("Against the float student's normalised return (issue 29's target: ≥ 0.98):")
    for env, seed, scores in summary:
        if "float" not in scores:
            continue
        base = scores["float"]
        print(f"  {env} seed {seed}: float {base:.3f}; " + ", ".join(
            f"{label} {scores[label]:.3f} ({scores[label] / base:.3f}×)" if base > 0 else f"{label} {scores[label]:.3f}"
            for label in ("int8 post-training", "int8 quantisation-aware", "pruned 90%") if label in scores))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", default=",".join(RECIPES), help="of " + ", ".join(RECIPES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--held-out", type=int, default=100_000,
                        help="states (the float student's, 10%% random actions) on which each student's C must act as the core does; 0 skips it")
    parser.add_argument("--episodes", type=int, default=20, help="fresh episodes (seeds 100…) per return")
    parser.add_argument("--reuse", action="store_true", help="measure students already in runs/edge rather than distilling them again")
    parser.add_argument("--only", help="students to (re)make and measure, of float, int8, pruned (default: all)")
    parser.add_argument("--detail", action="store_true", help="one CartPole student in depth instead of the table")
    parser.add_argument("--teacher", type=Path)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--hidden", default="16,16")
    parser.add_argument("--states", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0, help="(--detail) seed of the teacher (when trained here) and the student")
    args = parser.parse_args()
    return detail(args) if args.detail else table(args)


if __name__ == "__main__":
    sys.exit(main())
