"""The Swift core in process: training, distillation, errors, the GIL and Ctrl-C."""
import _thread
import json
import signal
import threading
import time

import gymnasium as gym
import numpy as np
import pytest

import swiftdistill as sd
from conftest import CORRIDOR
from fixture_envs import LineWorld


class TinyChain(LineWorld):
    """A user's own environment, not registered anywhere: walk right along 5 cells."""

    def __init__(self):
        super().__init__(n=5)


def test_training_on_cartpole_in_process(tmp_path):
    events = []
    model, metrics = sd.train("CartPole-v1", steps=3000, seed=0, out=tmp_path / "t", eval_interval=1000,
                              learning_starts=500, callback=events.append, progress=False)
    # Rounds of 128 gradient steps at steps 512, 768, …, 2816 (every 256 steps after learning starts).
    assert metrics["steps"] == 3000 and metrics["gradient_steps"] == 10 * 128
    assert model.input_size == 4 and model.action_count == 2 and model.environment == "CartPole-v1"
    kinds = {e["kind"] for e in events}
    assert kinds == {"progress", "episode", "eval"}
    assert (tmp_path / "t" / "metrics.csv").exists() and (tmp_path / "t" / "last" / "state.json").exists()


@pytest.mark.parametrize("env", [TinyChain, TinyChain(), lambda: TinyChain()])
def test_training_on_a_custom_python_environment(tmp_path, env):
    model, metrics = sd.train(env, steps=1500, seed=1, out=tmp_path / "c", eval_interval=500, progress=False,
                              hidden=(16,), learning_starts=100, train_frequency=4, gradient_steps=1,
                              target_update_interval=100, exploration_fraction=0.3, gamma=0.9, eval_episodes=2)
    assert model.input_size == 5 and metrics["best_mean_return"] == 1.0
    assert all(model.act(np.eye(5, dtype=np.float32)[i]) == 1 for i in range(4))


def test_distill_and_compare_in_process(tmp_path, corridor_teacher):
    student, metrics = sd.distill(corridor_teacher, hidden=(8,), loss={"kl": 1, "q-mse": 0.5}, steps=1500, seed=0,
                                  out=tmp_path / "s", eval_interval=500, eval_episodes=2, acting_epsilon=0.3,
                                  progress=False)
    assert metrics["labels"] == 1500 and student.hidden_sizes == [8]
    assert student.manifest["config"]["losses"] == ["q-mse", "kl"]
    report = sd.compare(corridor_teacher, student, episodes=3)
    assert report["normalized_return"] == 1 and report["action_agreement"] > 0.9


def test_bad_arguments(tmp_path, corridor_teacher):
    with pytest.raises(TypeError, match="did you mean 'learning_rate'"):
        sd.train("CartPole-v1", steps=10, out=tmp_path / "a", learning_rat=1)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        sd.train("CartPole-v1", steps=10, out=tmp_path / "a", learning_rate=-1.0)
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        sd.train("CartPole-v1", steps=10, out=tmp_path / "a", batch_size=6.5)
    with pytest.raises(ValueError, match="Unknown environment id"):
        sd.train("NoSuchEnv-v0", steps=10, out=tmp_path / "a")
    with pytest.raises(TypeError, match="env must be"):
        sd.train(42, steps=10, out=tmp_path / "a")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        sd.distill(corridor_teacher, loss="hinge", out=tmp_path / "s")
    with pytest.raises(ValueError, match="The student has no hidden layer 4"):
        sd.distill(corridor_teacher, feature_weight=1.0, feature_student_layer=4, feature_teacher_layer=0,
                   out=tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="cannot be loaded"):
        sd.distill(tmp_path / "missing", out=tmp_path / "s", progress=False)


def test_python_exceptions_from_the_environment_come_back_unchanged(tmp_path):
    class Broken(TinyChain):
        def step(self, action):
            raise KeyError("the user's own bug")
    with pytest.raises(KeyError, match="the user's own bug"):
        sd.train(Broken, steps=500, out=tmp_path / "b", progress=False, learning_starts=10, eval_interval=0)


def test_the_gil_is_released_during_training(tmp_path):
    # A Python thread notes the time of each of its turns while a training run on a pure-Swift
    # environment goes on. Were the GIL held through the gradient rounds, the thread would get no
    # turn from the run's start to its end; released, it runs throughout, so the longest pause
    # between its turns is a small part of the run however busy the machine is (the run itself,
    # measured in this test, is the control).
    turns = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            turns.append(time.monotonic())
            time.sleep(0)

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        while not turns:
            time.sleep(0.001)
        begin = time.monotonic()
        sd.train("Corridor-6", steps=3000, seed=0, out=tmp_path / "g", eval_interval=0, progress=False,
                 **{**CORRIDOR, "hidden": (256, 256), "gradient_steps": 8})
        end = time.monotonic()
    finally:
        stop.set()
        thread.join()
    during = [begin] + [t for t in turns if begin < t < end] + [end]
    longest_pause = max(b - a for a, b in zip(during, during[1:]))
    assert longest_pause < (end - begin) / 2, (longest_pause, end - begin, len(during))


def test_ctrl_c_raises_keyboard_interrupt_after_a_checkpoint(tmp_path):
    # Ctrl-C (as interrupt_main delivers it) once the run is 20,000 steps in, whatever the
    # machine's speed: the run saves a checkpoint and raises KeyboardInterrupt.
    out = tmp_path / "i"
    interrupted = []

    def press_ctrl_c(event):
        if event["kind"] == "progress" and event["step"] >= 20_000 and not interrupted:
            interrupted.append(event["step"])
            _thread.interrupt_main()

    # A shell starts background jobs with SIGINT ignored, and Python then leaves it ignored (so
    # interrupt_main does nothing): the test takes the handler an interactive session has.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            sd.train("Corridor-6", steps=5_000_000, seed=0, out=out, eval_interval=0, checkpoint_interval=0,
                     progress=False, callback=press_ctrl_c, **CORRIDOR)
    finally:
        signal.signal(signal.SIGINT, previous)
    state = json.loads((out / "last" / "state.json").read_text())["state"]
    assert 0 < state["step"] < 5_000_000
    model, metrics = sd.train("Corridor-6", out=out, resume=True, steps=state["step"] + 300, progress=False)
    assert metrics["steps"] == state["step"] + 300 and not metrics["interrupted"]


def test_same_seed_same_weights_from_python(tmp_path):
    runs = []
    for name in ("a", "b"):
        model, _ = sd.train("Corridor-6", steps=800, seed=5, out=tmp_path / name, eval_interval=400, progress=False, **CORRIDOR)
        runs.append(model)
    for key in runs[0].params:
        assert runs[0].params[key].tobytes() == runs[1].params[key].tobytes(), key


def test_sb3_shaped_predict_and_evaluate(tmp_path, corridor_teacher):
    import subprocess
    from conftest import ROOT
    obs = np.eye(6, dtype=np.float32)
    action, state = corridor_teacher.predict(obs[0], deterministic=True)
    assert action == corridor_teacher.act(obs[0]) and state is None
    actions, _ = corridor_teacher.predict(obs)
    assert list(actions) == list(corridor_teacher.act(obs))
    # The same figures as the Swift core's `distill eval` on the same seeds.
    mean, std = sd.evaluate(corridor_teacher, _corridor_env(), n_eval_episodes=3, seed=0)
    cli = subprocess.run([str(ROOT / ".build" / "release" / "distill"), "eval", str(corridor_teacher.path), "--episodes", "3",
                          "--seed", "0", "--json"], capture_output=True, text=True)
    report = json.loads(cli.stdout)
    assert (mean, std) == (report["mean_return"], report["std_return"])
    returns, lengths = sd.evaluate(corridor_teacher, _corridor_env, n_eval_episodes=2, seed=0, return_episode_rewards=True)
    assert returns == [1.0, 1.0] and lengths == [5, 5]


def _corridor_env():
    """The built-in Corridor-6, written in Python for Gymnasium (walk right along 6 cells)."""
    class Corridor(gym.Env):
        observation_space = gym.spaces.Box(0, 1, shape=(6,), dtype=np.float32)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            self.pos, self.t = 0, 0
            return np.eye(6, dtype=np.float32)[0], {}

        def step(self, action):
            self.t += 1
            self.pos = max(0, min(5, self.pos + (1 if action == 1 else -1)))
            done = self.pos == 5
            return np.eye(6, dtype=np.float32)[self.pos], float(done), done, not done and self.t >= 24, {}
    return Corridor()


def test_compare_takes_an_environment_object(corridor_teacher):
    report = sd.compare(corridor_teacher, corridor_teacher, episodes=2, env=_corridor_env)
    assert report["teacher"]["mean_return"] == 1 and report["normalized_return"] == 1


def test_generations_from_python(tmp_path, corridor_teacher):
    student, summary = sd.distill(corridor_teacher, hidden=(8,), steps=600, generations=2, eval_interval=300,
                                  eval_episodes=2, acting_epsilon=0.3, out=tmp_path / "g", progress=False)
    assert student.path == tmp_path / "g" / "generation-2" and len(summary["generations"]) == 2


def test_multi_task_distillation_from_python(tmp_path, corridor_teacher):
    """A dict of teachers by task gives one multi-task student: a Model per task, each task's
    returns in the metrics, and load(path, task=) for each task with plain NumPy."""
    models, metrics = sd.distill({"a": corridor_teacher, "b": corridor_teacher.path}, hidden=(16, 16), steps=3000,
                                 out=tmp_path / "mt", eval_interval=1000, eval_episodes=2, acting_epsilon=0.3, progress=False)
    assert sorted(models) == ["a", "b"] and sd.tasks(tmp_path / "mt") == ["a", "b"]
    assert metrics["mean_normalized_return"] == 1.0
    assert {k: v["normalized_return"] for k, v in metrics["tasks"].items()} == {"a": 1.0, "b": 1.0}
    loaded = sd.load(tmp_path / "mt", task="b")
    obs = np.eye(6, dtype=np.float32)
    assert np.allclose(loaded.q_values(obs), models["b"].q_values(obs))
    assert np.allclose(loaded.q_values(obs), sd.core_q_values(loaded, obs), atol=1e-5)
    with pytest.raises(ValueError, match="holds a multi-task student"):
        sd.load(tmp_path / "mt")
    with pytest.raises(ValueError, match="has no task 'c'"):
        sd.load(tmp_path / "mt", task="c")
    with pytest.raises(ValueError, match="not a multi-task student"):
        sd.load(corridor_teacher.path, task="a")
    more, resumed = sd.distill(out=tmp_path / "mt", resume=True, steps=3200, progress=False)
    assert sorted(more) == ["a", "b"] and resumed["labels"] == 3200 and "tasks" in resumed
    with pytest.raises(ValueError, match="takes each task's environment from its teacher's model.json; drop env="):
        sd.distill(out=tmp_path / "mt", resume=True, steps=3300, env="Corridor-6", progress=False)


def test_gymnasium_wrappers_are_recorded_and_reapplied(tmp_path):
    """An instance's Gymnasium wrappers (env.spec.additional_wrappers) go into the manifest and
    are applied again by later commands; one whose arguments are not plain data is refused there
    in one sentence."""
    import subprocess
    from conftest import ROOT
    distill = str(ROOT / ".build" / "release" / "distill")
    wrapped = gym.wrappers.RescaleObservation(gym.make("MountainCar-v0"), -1.0, 1.0)
    sd.train(wrapped, steps=300, out=tmp_path / "rescaled", eval_interval=0, learning_starts=100, progress=False)
    manifest = json.loads((tmp_path / "rescaled" / "model.json").read_text())
    assert manifest["environment"] == "MountainCar-v0"
    assert manifest["environment_wrappers"] == [{"name": "RescaleObservation", "arguments": {"max_obs": "1", "min_obs": "-1"},
                                                 "entry_point": "gymnasium.wrappers.transform_observation:RescaleObservation"}]
    ev = subprocess.run([distill, "eval", str(tmp_path / "rescaled"), "--episodes", "2", "--json"], capture_output=True, text=True)
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["env"] == "MountainCar-v0 + RescaleObservation(max_obs=1, min_obs=-1)"
    # The rebuilt environment is the wrapped one: the same returns as the NumPy loader in that environment.
    returns, _ = sd.evaluate(tmp_path / "rescaled", lambda: gym.wrappers.RescaleObservation(gym.make("MountainCar-v0"), -1.0, 1.0),
                             n_eval_episodes=2, seed=100, return_episode_rewards=True)
    assert json.loads(ev.stdout)["returns"] == returns
    sd.train(gym.wrappers.TransformReward(gym.make("CartPole-v1"), lambda r: 2 * r), steps=200, out=tmp_path / "fn",
             eval_interval=0, learning_starts=100, progress=False, hidden=(16,))
    refused = subprocess.run([distill, "eval", str(tmp_path / "fn")], capture_output=True, text=True)
    assert refused.returncode != 0
    assert "wrapped in TransformReward, which cannot be rebuilt from its record (an argument is not plain data" in refused.stderr
    # A non-finite keyword has no JSON spelling: the wrapper is recorded as not rebuildable, not as the text "inf".
    sd.train(gym.wrappers.NormalizeObservation(gym.make("CartPole-v1"), epsilon=float("inf")), steps=200,
             out=tmp_path / "inf", eval_interval=0, learning_starts=100, progress=False, hidden=(16,))
    recorded = json.loads((tmp_path / "inf" / "model.json").read_text())["environment_wrappers"][0]
    assert recorded["recordable"] is False and "epsilon" not in recorded.get("arguments", {}), recorded


def test_the_arguments_an_instance_was_made_with_are_recorded(tmp_path):
    """gym.make(id, **kwargs): the kwargs that differ from the id's registered ones go into the
    manifest, so eval reopens the same environment (render_mode is left out)."""
    import subprocess
    from conftest import ROOT
    env = gym.make("MountainCar-v0", goal_velocity=0.25, render_mode="rgb_array")
    sd.train(env, steps=300, out=tmp_path / "mc", eval_interval=0, learning_starts=100, progress=False, hidden=(16,))
    manifest = json.loads((tmp_path / "mc" / "model.json").read_text())
    assert manifest["environment"] == "MountainCar-v0" and manifest["environment_arguments"] == {"goal_velocity": "0.25"}
    ev = subprocess.run([str(ROOT / ".build" / "release" / "distill"), "eval", str(tmp_path / "mc"), "--episodes", "1", "--json"],
                        capture_output=True, text=True)
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["env"] == "MountainCar-v0(goal_velocity=0.25)"


def test_codistillation_from_python(tmp_path):
    teacher, student, metrics = sd.codistill("Corridor-6", steps=2000, seed=0, out=tmp_path / "co", hidden=(8,), loss="kl",
                                             eval_interval=500, eval_episodes=2, progress=False)
    assert teacher.hidden_sizes == [32] and student.hidden_sizes == [8]  # Corridor's defaults, and the student's size
    assert metrics["teacher_best_mean_return"] == 1.0 and metrics["best_mean_return"] == 1.0
    obs = np.eye(6, dtype=np.float32)
    assert (student.predict(obs)[0] == teacher.predict(obs)[0]).all()
    with pytest.raises(ValueError, match="temperature must be positive"):
        sd.codistill("Corridor-6", out=tmp_path / "bad", temperature=0, progress=False)
    teacher, student, more = sd.codistill("Corridor-6", out=tmp_path / "co", resume=True, steps=2300, progress=False)
    assert more["gradient_steps"] > metrics["gradient_steps"] and not more["interrupted"]
    with pytest.raises(ValueError, match="cannot change when a run is resumed"):
        sd.codistill("Corridor-6", out=tmp_path / "co", resume=True, hidden=(4,), progress=False)


def test_an_interrupted_distillation_resumes_from_python(tmp_path, corridor_teacher):
    out = tmp_path / "s"

    def stop(event):
        if event["kind"] == "progress" and event["step"] >= 500:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sd.distill(corridor_teacher, hidden=(8,), steps=2000, seed=0, out=out, eval_interval=0, callback=stop,
                   progress=False)
    state = json.loads((out / "last" / "state.json").read_text())["state"]
    assert state["step"] == 500 and state["gradientSteps"] > 0
    with pytest.raises(ValueError, match="cannot change when a run is resumed"):
        sd.distill(out=out, resume=True, hidden=(4,), progress=False)
    # Restating the teacher (unchanged) is allowed; steps and the learning rate may change.
    student, metrics = sd.distill(corridor_teacher, out=out, resume=True, steps=1200, learning_rate=5e-4, progress=False)
    assert metrics["labels"] == 1200 and not metrics["interrupted"]
    assert metrics["gradient_steps"] > state["gradientSteps"]
    assert student.manifest["config"]["learning_rate"] == 5e-4 and student.hidden_sizes == [8]
    with pytest.raises(TypeError, match="needs a teacher"):
        sd.distill(out=tmp_path / "other", progress=False)
    with pytest.raises(ValueError, match=r"holds a distillation; continue it with .* \(in Python, sd.distill\(…, out=…, resume=True\)\)"):
        sd.train("Corridor-6", out=out, resume=True, progress=False)


def test_a_model_exports_itself_as_c_and_swift(tmp_path, corridor_teacher):
    import subprocess
    written = corridor_teacher.to_c(tmp_path / "c", name="teacher")
    assert [p.name for p in written] == ["teacher.h", "teacher.c"] and all(p.exists() for p in written)
    with pytest.raises(FileExistsError, match="exists; choose another --output or add --force"):
        corridor_teacher.to_c(tmp_path / "c", name="teacher")
    corridor_teacher.to_c(tmp_path / "c", name="teacher", force=True)
    # A C program acting on the six one-hot states of the corridor takes the loader's actions.
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "teacher.h"\nint main(void) { int i, j; for (i = 0; i < 6; i++) {\n'
        '  float o[TEACHER_OBSERVATION_SIZE] = {0}; o[i] = 1; printf("%d ", teacher_act(o)); (void)j; } return 0; }\n')
    exe = tmp_path / "act"
    subprocess.run(["cc", "-std=c99", "-O2", "-I", str(tmp_path / "c"), str(tmp_path / "c" / "teacher.c"), str(tmp_path / "main.c"),
                    "-o", str(exe), "-lm"], check=True)
    actions = [int(a) for a in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    assert actions == [int(corridor_teacher.predict(np.eye(6, dtype=np.float32)[i])[0]) for i in range(6)]
    swift = corridor_teacher.to_swift(tmp_path / "Teacher.swift", name="teacher")
    assert "public struct Teacher" in swift.read_text()
    with pytest.raises(ValueError, match="cannot name exported code"):
        corridor_teacher.to_swift(tmp_path / "X.swift", name="class")


def test_quantize_from_python_and_compare_an_int8_student(tmp_path, corridor_teacher):
    student, _ = sd.distill(corridor_teacher, out=tmp_path / "s", hidden=(16, 8), steps=1500, eval_interval=0, progress=False)
    int8 = sd.quantize(student, tmp_path / "int8", calibration_states=2000)
    assert int8.quantization == {"scheme": "int8", "calibration_states": 2000}
    states = np.random.default_rng(0).normal(size=(1000, 6)).astype(np.float32)
    assert np.array_equal(int8.q_values(states), sd.core_q_values(int8, states))
    report = sd.compare(student, int8, episodes=3)
    assert report["student"]["precision"] == "int8" and report["normalized_return"] == 1.0
    with pytest.raises(FileExistsError):
        sd.quantize(student, tmp_path / "int8")
    sd.quantize(student, tmp_path / "int8", calibration_states=500, force=True)
    with pytest.raises(ValueError, match="calibration_states must be between 1 and 10,000,000"):
        sd.quantize(student, tmp_path / "z", calibration_states=0)


def test_every_public_name_is_documented():
    """Every name in ``swiftdistill.__all__``, and every public method and property of its
    classes, has a docstring (what ``help()`` and the API reference show)."""
    import inspect
    import swiftdistill as sd
    missing = []
    for name in sd.__all__:
        obj = getattr(sd, name)
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                if not member.startswith("_") and (callable(value) or isinstance(value, property)) and not inspect.getdoc(value):
                    missing.append(f"{name}.{member}")
    assert not missing, f"public names without a docstring: {missing}"
