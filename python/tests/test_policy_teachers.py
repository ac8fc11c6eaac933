"""Policy-gradient teachers (issue 31): SB3's PPO and A2C with discrete actions become models with
a categorical head, whose actions equal SB3's deterministic ones on 10,000 states in the NumPy
loader and in the Swift core, and which distil into students that keep the head."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import swiftdistill as sd

torch = pytest.importorskip("torch")
sb3 = pytest.importorskip("stable_baselines3")
import gymnasium as gym  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DISTILL = os.environ.get("DISTILL", str(ROOT / ".build" / "release" / "distill"))


def states(count=10_000, size=4, seed=0):
    """Observations spread wider than CartPole's visited ones, so both actions occur."""
    return np.random.default_rng(seed).uniform(-3, 3, size=(count, size)).astype(np.float32)


@pytest.fixture(scope="module", params=["PPO", "A2C"])
def sb3_policy(request, tmp_path_factory):
    """A few hundred steps of SB3 training on CartPole (ReLU for A2C, SB3's Tanh for PPO), saved."""
    tmp = tmp_path_factory.mktemp(request.param.lower())
    if request.param == "PPO":
        model = sb3.PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=128, batch_size=64, n_epochs=2, seed=0, device="cpu",
                        policy_kwargs=dict(net_arch=dict(pi=[32, 32], vf=[16])))
    else:
        model = sb3.A2C("MlpPolicy", gym.make("CartPole-v1"), n_steps=8, seed=0, device="cpu",
                        policy_kwargs=dict(net_arch=dict(pi=[24], vf=[24]), activation_fn=torch.nn.ReLU))
    model.learn(256)
    model.save(str(tmp / "agent"))
    return request.param, model, tmp / "agent.zip"


def test_conversion_gives_sb3s_actions_and_probabilities(sb3_policy, tmp_path):
    name, model, path = sb3_policy
    teacher = sd.from_sb3(path, tmp_path / "teacher", environment="CartPole-v1")
    assert teacher.head == "categorical" and teacher.manifest["config"]["source"] == f"stable-baselines3 {name}"
    obs = states()
    expected, _ = model.predict(obs, deterministic=True)
    assert len(set(expected.tolist())) == 2, "both actions occur on these states"
    assert np.array_equal(teacher.act(obs), expected)
    with torch.no_grad():
        probabilities = model.policy.get_distribution(torch.from_numpy(obs)).distribution.probs.numpy()
    assert np.allclose(teacher.probabilities(obs), probabilities, atol=1e-5)
    # The Swift core reads the directory and computes the same logits, so the same actions.
    core = sd.core_q_values(teacher, obs)
    assert np.allclose(core, teacher.logits(obs), atol=1e-5) and np.array_equal(core.argmax(axis=1), expected)
    # predict(deterministic=False) samples from the policy, as SB3's does.
    sampled = [teacher.predict(obs[0], deterministic=False)[0] for _ in range(2000)]
    assert set(sampled) <= {0, 1}
    # The share of action 1 is its probability; 0.06 is over five standard errors at 2,000 samples.
    assert abs(np.mean(sampled) - teacher.probabilities(obs[0])[1]) < 0.06
    # A loss on continuous actions is refused for a categorical teacher, naming the ones that apply.
    r = subprocess.run([DISTILL, "distill", "--teacher", str(teacher.path), "--loss", "action-mse", "--steps", "100", "--out",
                        str(tmp_path / "student")], capture_output=True, text=True)
    assert r.returncode != 0 and "action-mse does not apply to a teacher that outputs a categorical policy's logits; " \
        "distil it with q-mse (the outputs), kl (the softmax policies at the temperature) or ce (the teacher's action)" in r.stderr


def test_the_command_line_import_writes_the_same_model(sb3_policy, tmp_path):
    _, _, path = sb3_policy
    r = subprocess.run([DISTILL, "import-sb3", str(path), "--out", str(tmp_path / "cli"), "--env", "CartPole-v1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "head categorical" in r.stdout
    here = sd.from_sb3(path, tmp_path / "python", environment="CartPole-v1")
    there = sd.load(tmp_path / "cli")
    assert there.head == "categorical" and there.environment == "CartPole-v1"
    assert all(np.array_equal(here.params[k], there.params[k]) for k in here.params)


def test_a_categorical_teacher_distils_into_a_categorical_student(sb3_policy, tmp_path):
    _, model, path = sb3_policy
    student, _ = sd.distill(path, env="CartPole-v1", hidden=(8,), loss="kl", temperature=1.0, steps=600, eval_interval=0,
                            seed=0, out=tmp_path / "student", progress=False)
    assert student.head == "categorical"
    assert json.loads((tmp_path / "student" / "model.json").read_text())["architecture"]["head"] == "categorical"
    # The task (TD) loss needs Q-values: refused in one sentence, in Python's and the command line's words.
    with pytest.raises(ValueError, match=r"the task loss \(task_weight\) trains Q-values by TD"):
        sd.distill(path, env="CartPole-v1", hidden=(8,), steps=300, task_weight=0.1, eval_interval=0,
                   out=tmp_path / "with-task", progress=False)
    teacher = sd.from_sb3(path, tmp_path / "teacher", environment="CartPole-v1")
    r = subprocess.run([DISTILL, "distill", "--teacher", str(teacher.path), "--hidden", "8", "--steps", "300", "--lambda", "0.1",
                        "--out", str(tmp_path / "cli-task")], capture_output=True, text=True)
    assert r.returncode != 0 and "the task loss (--lambda) trains Q-values by TD" in r.stderr
    # An ensemble must agree on what its outputs mean.
    dqn = sb3.DQN("MlpPolicy", gym.make("CartPole-v1"), policy_kwargs=dict(net_arch=[8]), device="cpu", seed=0)
    q_teacher = sd.from_sb3(dqn, tmp_path / "q-teacher")
    r = subprocess.run([DISTILL, "distill", "--teacher", str(teacher.path), "--teacher", str(q_teacher.path), "--hidden", "8",
                        "--steps", "300", "--out", str(tmp_path / "mixed")], capture_output=True, text=True)
    assert r.returncode != 0 and "must mean the same thing" in r.stderr


@pytest.mark.parametrize("algorithm", ["SAC", "TD3", "PPO"])
def test_continuous_agents_act_as_sb3_does(algorithm, tmp_path):
    """SAC and TD3 (squashed heads) and continuous PPO (a Gaussian head's clipped mean): the
    converted actor's actions equal SB3's deterministic ones on 10,000 states, in the NumPy loader
    and in the core's `distill eval` (whose return equals the NumPy policy's on the same episodes)."""
    cls = getattr(sb3, algorithm)
    extra = dict(n_steps=64, batch_size=32) if algorithm == "PPO" else dict(learning_starts=50)
    agent = cls("MlpPolicy", gym.make("Pendulum-v1"), seed=0, device="cpu", **extra)
    agent.learn(200)
    agent.save(str(tmp_path / "agent"))
    model = sd.from_sb3(tmp_path / "agent.zip", tmp_path / "model", environment="Pendulum-v1")
    assert model.head == ("gaussian" if algorithm == "PPO" else "squashed")
    obs = np.random.default_rng(1).uniform(-1, 1, size=(10_000, 3)).astype(np.float32)
    expected, _ = agent.predict(obs, deterministic=True)
    assert np.abs(model.act(obs) - expected).max() < 1e-5
    assert model.act(obs[0]).shape == (1,) and np.all(np.abs(model.act(obs)) <= 2.0)
    ort = pytest.importorskip("onnxruntime")
    model.to_onnx(tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    assert np.abs(session.run(["action"], {"observation": obs})[0] - expected).max() < 1e-5, "ONNX acts as SB3 does"
    module = model.to_torch()  # ends in the clip or the squash: the action
    with torch.no_grad():
        assert np.abs(module(torch.from_numpy(obs)).numpy() - expected).max() < 1e-5, "PyTorch acts as SB3 does"
    r = subprocess.run([DISTILL, "eval", str(model.path), "--episodes", "3", "--seed", "100", "--json"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    returns, lengths = sd.evaluate(model, "Pendulum-v1", n_eval_episodes=3, seed=100, return_episode_rewards=True)
    assert lengths == [200, 200, 200] and np.allclose(json.loads(r.stdout)["returns"], returns, rtol=1e-4)


def test_a_continuous_teacher_distils_and_compares(tmp_path):
    """A TD3 teacher distils (Q-value MSE on its outputs) into a student with its squashed head and
    bounds; compare reports the distance between their actions; the losses that do not apply to
    it, and what does not take continuous models yet, refuse them in a sentence."""
    agent = sb3.TD3("MlpPolicy", gym.make("Pendulum-v1"), learning_starts=10, seed=0, device="cpu")
    teacher = sd.from_sb3(agent, tmp_path / "td3")
    student, _ = sd.distill(teacher, hidden=(16,), loss="q-mse", steps=1500, eval_interval=500, seed=0, out=tmp_path / "student",
                            progress=False)
    assert student.head == "squashed" and student.hidden_sizes == [16]
    assert np.array_equal(student.action_low, teacher.action_low) and np.array_equal(student.action_high, teacher.action_high)
    obs = np.random.default_rng(2).uniform(-1, 1, size=(500, 3)).astype(np.float32)
    assert np.all(np.abs(student.act(obs)) <= 2.0)
    report = sd.compare(teacher, student, episodes=2)
    assert "action_agreement" not in report and 0 <= report["relative_action_distance"] <= 1
    assert abs(report["mean_action_distance"] - np.mean(np.linalg.norm(
        student.act(obs) - teacher.act(obs), axis=1))) < 1.0, "the same scale of distances as on other states"
    refusals = (
        (["distill", "--teacher", str(teacher.path), "--hidden", "8", "--steps", "100", "--out", str(tmp_path / "kl")],
         "kl does not apply to a teacher that outputs a tanh-squashed continuous action; distil it with "
         "q-mse (the outputs before the squash) or action-mse (the squashed actions)"),
        (["distill", "--teacher", str(teacher.path), "--loss", "q-mse", "--lambda", "0.1", "--steps", "100",
          "--out", str(tmp_path / "task")], "the task loss (--lambda) trains Q-values by TD"),
        (["train", "--env", "Pendulum-v1", "--steps", "100", "--out", str(tmp_path / "dqn")], "DQN needs a Discrete action space"),
    )
    for args, words in refusals:
        r = subprocess.run([DISTILL, *args], capture_output=True, text=True)
        assert r.returncode != 0 and words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    # TorchScript: a continuous head's module ends in its squash, so it gives the action as SB3's predict does.
    module = torch.jit.load(str(teacher.to_torch(tmp_path / "teacher.pt") and tmp_path / "teacher.pt"))
    with torch.no_grad():
        scripted = module(torch.from_numpy(obs)).numpy()
    expected, _ = agent.predict(obs, deterministic=True)
    assert np.abs(scripted - expected).max() < 1e-5 and np.abs(scripted - teacher.act(obs)).max() < 1e-5
    # ONNX takes continuous heads: its action output is the squashed one, as act computes it.
    ort = pytest.importorskip("onnxruntime")
    student.to_onnx(tmp_path / "student.onnx")
    session = ort.InferenceSession(str(tmp_path / "student.onnx"), providers=["CPUExecutionProvider"])
    q, action = session.run(None, {"observation": obs})
    assert action.dtype == np.float32 and action.shape == (500, 1)
    assert np.abs(action - student.act(obs)).max() < 1e-5 and np.abs(q - student.q_values(obs)).max() < 1e-5
    # Quantisation-aware distillation of a continuous teacher: the int8 student keeps the trained
    # ranges, acts within the bounds, and its actions are the int8 arithmetic's through the squash.
    qat, _ = sd.distill(teacher, hidden=(16,), loss="action-mse", steps=1500, eval_interval=500, seed=0, quantize="int8",
                        out=tmp_path / "qat", progress=False)
    assert qat.manifest["config"].get("quantizer_ranges")
    int8 = sd.quantize(qat, tmp_path / "qat-int8")
    assert int8.quantization and int8.manifest["config"]["scales_from"] == "quantizer_ranges"
    z = int8.q_values(obs)
    low, high = int8.action_low, int8.action_high
    assert np.abs(int8.act(obs) - (low + (np.tanh(z) + 1) * 0.5 * (high - low))).max() < 1e-6
    assert np.abs(int8.act(obs) - qat.act(obs)).max() < 0.25 * float(high[0] - low[0]), "int8 acts near the float student"
    sde = sb3.SAC("MlpPolicy", gym.make("Pendulum-v1"), use_sde=True, seed=0, device="cpu")
    with pytest.raises(ValueError, match="uses gSDE exploration"):
        sd.from_sb3(sde, tmp_path / "sde")


def test_unsupported_agents_are_one_sentence(tmp_path):
    from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: F401 (SB3 is here)
    (tmp_path / "not-a-model.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    with pytest.raises(ValueError, match="is not a Stable-Baselines3 model"):
        sd.from_sb3(tmp_path / "not-a-model.zip", tmp_path / "nothing")
    with pytest.raises(TypeError, match="expected a stable_baselines3 DQN, PPO, A2C, SAC or TD3"):
        sd.from_sb3(object(), tmp_path / "other")
    import zipfile
    with zipfile.ZipFile(tmp_path / "qrdqn.zip", "w") as archive:  # sb3-contrib's QR-DQN, as its data entry names it
        archive.writestr("data", json.dumps({"policy_class": {"__module__": "sb3_contrib.qrdqn.policies"}}))
    r = subprocess.run([DISTILL, "import-sb3", str(tmp_path / "qrdqn.zip"), "--out", str(tmp_path / "cli")], capture_output=True,
                       text=True)
    assert r.returncode != 0 and "holds a sb3_contrib.qrdqn.policies model; from_sb3 reads DQN, PPO, A2C, SAC and TD3" in r.stderr
    assert "Traceback" not in r.stderr
    # DDPG is TD3's actor without its tricks: it converts as a squashed head.
    ddpg = sb3.DDPG("MlpPolicy", gym.make("Pendulum-v1"), seed=0, device="cpu")
    converted = sd.from_sb3(ddpg, tmp_path / "ddpg")
    assert converted.head == "squashed" and converted.manifest["config"]["source"] == "stable-baselines3 DDPG"


def test_a_head_this_version_does_not_know_is_refused(corridor_teacher, tmp_path):
    import shutil
    copy = tmp_path / "poisson"
    shutil.copytree(corridor_teacher.path, copy)
    manifest = json.loads((copy / "model.json").read_text())
    manifest["architecture"]["head"] = "poisson"
    (copy / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="its head is 'poisson', and this version runs 'q'"):
        sd.load(copy)
    r = subprocess.run([DISTILL, "eval", str(copy), "--episodes", "1"], capture_output=True, text=True)
    assert r.returncode != 0 and "its head is 'poisson'" in r.stderr and "'squashed'" in r.stderr


CONTINUOUS_C_DRIVER = r"""
#include <stdio.h>
#include "NAME.h"
/* Reads float32 observations from argv[1]; writes each one's outputs and action (float32) to argv[2]. */
int main(int argc, char **argv) {
    FILE *in, *out;
    float observation[UPPER_OBSERVATION_SIZE], q[UPPER_ACTION_COUNT], action[UPPER_ACTION_COUNT];
    if (argc != 3 || !(in = fopen(argv[1], "rb")) || !(out = fopen(argv[2], "wb"))) return 2;
    while (fread(observation, sizeof(float), UPPER_OBSERVATION_SIZE, in) == UPPER_OBSERVATION_SIZE) {
        NAME_q_values(observation, q);
        NAME_action(observation, action);
        fwrite(q, sizeof(float), UPPER_ACTION_COUNT, out);
        fwrite(action, sizeof(float), UPPER_ACTION_COUNT, out);
    }
    fclose(out);
    return 0;
}
"""


@pytest.mark.parametrize("algorithm", ["SAC", "PPO", "SAC-int8"])
def test_a_continuous_model_as_c_and_swift_acts_as_the_core(algorithm, tmp_path):
    """The C and Swift exports of a squashed (SAC) or Gaussian (continuous PPO) actor, and of the
    SAC actor quantised to int8: strict C99, its outputs the core's (int8: the NumPy loader's
    integer arithmetic) bit for bit, its NAME_action (and the Swift struct's action(_:)) the
    NumPy loader's action."""
    import shutil as _shutil
    if not _shutil.which("cc"):
        pytest.skip("no C compiler")
    int8 = algorithm.endswith("-int8")
    algorithm = algorithm.removesuffix("-int8")
    cls = getattr(sb3, algorithm)
    extra = dict(n_steps=64, batch_size=32) if algorithm == "PPO" else dict(learning_starts=50)
    agent = cls("MlpPolicy", gym.make("Pendulum-v1"), seed=0, device="cpu", **extra)
    model = sd.from_sb3(agent, tmp_path / "float", environment="Pendulum-v1")
    if int8:
        # distill quantize takes a continuous model: the int8 actor's actions against the float one's.
        r = subprocess.run([DISTILL, "quantize", str(model.path), "--out", str(tmp_path / "model"), "--calibration-states", "2000",
                            "--episodes", "2", "--json"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        assert "action_agreement" not in report and 0 <= report["relative_action_distance"] < 0.1
        model = sd.load(tmp_path / "model")
        assert model.quantization and model.head == "squashed"
    r = subprocess.run([DISTILL, "export", str(model.path), "--format", "c", "--output", str(tmp_path / "c"), "--name", "actor"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "NAME_action" in r.stdout, r.stderr
    (tmp_path / "driver.c").write_text(CONTINUOUS_C_DRIVER.replace("UPPER", "ACTOR").replace("NAME", "actor"))
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-ffp-contract=off", "-I", str(tmp_path / "c"),
                    str(tmp_path / "c" / "actor.c"), str(tmp_path / "driver.c"), "-o", str(tmp_path / "actor"), "-lm"],
                   check=True, capture_output=True, text=True)
    states = np.random.default_rng(3).uniform(-3, 3, size=(5000, 3)).astype(np.float32)
    states.tofile(tmp_path / "states.f32")
    subprocess.run([str(tmp_path / "actor"), str(tmp_path / "states.f32"), str(tmp_path / "out.f32")], check=True, timeout=300)
    out = np.fromfile(tmp_path / "out.f32", dtype="<f4").reshape(-1, 2)
    reference = model.q_values(states) if int8 else sd.core_q_values(model, states)
    assert np.array_equal(out[:, 0], reference[:, 0]), "the outputs bit for bit"
    assert np.abs(out[:, 1:] - model.act(states)).max() < 1e-5
    # The Swift export: a struct whose action(_:) is the same action.
    swiftc = _shutil.which("swiftc") or "/opt/swift/usr/bin/swiftc"
    if not os.path.exists(swiftc):
        return
    r = subprocess.run([DISTILL, "export", str(model.path), "--format", "swift", "--output", str(tmp_path / "Actor.swift"),
                        "--name", "actor"], capture_output=True, text=True)
    assert r.returncode == 0 and "action(_:)" in r.stdout, r.stderr
    (tmp_path / "main.swift").write_text(
        "import Foundation\n"
        "let data = FileManager.default.contents(atPath: CommandLine.arguments[1])!\n"
        "let values: [Float] = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }\n"
        "var out = Data()\n"
        "for start in stride(from: 0, to: values.count, by: Actor.observationSize) {\n"
        "    let action = Actor().action(Array(values[start..<(start + Actor.observationSize)]))\n"
        "    action.withUnsafeBufferPointer { out.append(Data(buffer: $0)) }\n"
        "}\n"
        "try! out.write(to: URL(fileURLWithPath: CommandLine.arguments[2]))\n")
    subprocess.run([swiftc, "-O", str(tmp_path / "Actor.swift"), str(tmp_path / "main.swift"), "-o", str(tmp_path / "swift-actor")],
                   check=True, capture_output=True, text=True)
    subprocess.run([str(tmp_path / "swift-actor"), str(tmp_path / "states.f32"), str(tmp_path / "swift.f32")], check=True, timeout=300)
    swift_actions = np.fromfile(tmp_path / "swift.f32", dtype="<f4").reshape(-1, 1)
    assert np.abs(swift_actions - model.act(states)).max() < 1e-5


def _losses(run):
    """The loss columns of a run's metrics.csv, as floats per row (empty cells left out)."""
    import csv
    with open(Path(run) / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_gaussian_teachers_distil_by_kl_between_gaussians(tmp_path):
    """A continuous PPO teacher keeps its policy's log_std; `kl` is then the KL between the
    Gaussians (σ shared: the means' squared distance over 2σ²), which falls as the student learns;
    the student keeps the log_std and samples with it when not deterministic, as SB3's PPO does."""
    agent = sb3.PPO("MlpPolicy", gym.make("Pendulum-v1"), n_steps=64, batch_size=32, seed=0, device="cpu")
    agent.learn(128)
    teacher = sd.from_sb3(agent, tmp_path / "ppo")
    expected = agent.policy.log_std.detach().numpy()
    assert teacher.action_log_std is not None and np.array_equal(teacher.action_log_std, expected.astype(np.float32))
    student, _ = sd.distill(teacher, hidden=(16,), loss="kl", steps=1500, eval_interval=500, seed=0, out=tmp_path / "student",
                            progress=False)
    assert student.head == "gaussian" and np.array_equal(student.action_log_std, teacher.action_log_std)
    rows = [float(r["kl"]) for r in _losses(student.path) if r.get("kl")]
    assert len(rows) >= 2 and rows[-1] < rows[0], rows
    # The KL in metrics.csv is the one between the Gaussians on those states, not a softmax's.
    obs = np.random.default_rng(3).uniform(-1, 1, size=(2000, 3)).astype(np.float32)
    mean = student.q_values(obs[0])
    samples = np.array([student.predict(obs[0], deterministic=False)[0] for _ in range(2000)])
    assert np.all(samples >= student.action_low) and np.all(samples <= student.action_high)
    # The samples are N(mean, σ²) clipped to the bounds: their mean and spread are those of
    # 200,000 such draws made here (2,000 samples: standard errors ~0.02 and ~1.6%).
    reference = np.clip(mean + np.exp(student.action_log_std) * np.random.default_rng(4).standard_normal((200_000, 1)),
                        student.action_low, student.action_high)
    assert abs(samples.mean() - reference.mean()) < 0.15 and abs(samples.std() / reference.std() - 1) < 0.1
    assert student.predict(obs[0], deterministic=True)[0].shape == mean.shape
    # The intermediate-layer losses take any teacher: the hint and relations on the actor's layers.
    mixed, _ = sd.distill(teacher, hidden=(16, 16), loss="kl,feature:0.5,relational:0.5", feature_layer="1:1", steps=600,
                          eval_interval=300, seed=0,
                          out=tmp_path / "mixed", progress=False)
    columns = [row for row in _losses(mixed.path) if row.get("kl")][-1]
    assert all(float(columns[k]) > 0 for k in ("kl", "feature", "relational")), columns


def test_squashed_teachers_distil_on_actions_under_perturbation_and_study_robustness(tmp_path):
    """A SAC teacher distils with action-mse (the squashed actions' MSE) while the student collects
    under sticky actions and noisy states; `distill robustness` studies continuous models (random
    actions: uniform in the box; sticky: the previous vector), the teacher normalised 1 when clean."""
    agent = sb3.SAC("MlpPolicy", gym.make("Pendulum-v1"), learning_starts=50, seed=0, device="cpu")
    agent.learn(100)
    teacher = sd.from_sb3(agent, tmp_path / "sac")
    student, _ = sd.distill(teacher, hidden=(16,), loss="action-mse", steps=1200, eval_interval=400, seed=0,
                            collect_perturbation="sticky_actions:0.25", state_noise=0.1, out=tmp_path / "student", progress=False)
    rows = [float(r["action_mse"]) for r in _losses(student.path) if r.get("action_mse")]
    assert len(rows) >= 2 and rows[-1] < rows[0], rows
    r = subprocess.run([DISTILL, "robustness", str(teacher.path), str(student.path), "--episodes", "2", "--obs-noise", "0,0.1",
                        "--random-actions", "0,0.5", "--sticky-actions", "none", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    kinds = {a["axis"]["kind"]: a for a in report["axes"]}
    assert set(kinds) == {"observation_noise", "random_actions"}
    assert kinds["observation_noise"]["results"][0][0]["normalized_return"] == 1.0
    # Half the actions random changes the teacher's return (the same seeds, so it is the noise).
    clean, noisy = (kinds["random_actions"]["results"][0][i]["mean"] for i in (0, 1))
    assert clean != noisy
    r = subprocess.run([DISTILL, "distill", "--teacher", str(teacher.path), "--loss", "ce", "--steps", "100", "--out",
                        str(tmp_path / "ce")], capture_output=True, text=True)
    assert r.returncode != 0 and "ce does not apply to a teacher that outputs" in r.stderr
