"""The `distill` command line as a user meets it: errors are one sentence, runs are
reproducible, Ctrl-C leaves a checkpoint that --resume continues."""
import json
import os
import platform
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DISTILL = os.environ.get("DISTILL", str(ROOT / ".build" / "release" / "distill"))
FIXTURES = ROOT / "Tests" / "GymEnvironmentsTests" / "Fixtures"
CORRIDOR = ["--env", "Corridor-6", "--hidden", "32", "--learning-starts", "100", "--train-frequency", "4",
            "--gradient-steps", "1", "--target-update-interval", "100", "--exploration-fraction", "0.3",
            "--learning-rate", "0.001", "--batch-size", "32", "--gamma", "0.9"]


def run(*args, env=None, timeout=300):
    e = dict(os.environ, PYTHONPATH=str(FIXTURES))
    e.update(env or {})
    return subprocess.run([DISTILL, *args], capture_output=True, text=True, timeout=timeout, env=e, cwd=ROOT)


def interrupt(args, wait_for, settle):
    """Starts `distill *args`, waits until `wait_for` exists plus `settle` seconds, sends SIGINT."""
    proc = subprocess.Popen([DISTILL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline and not wait_for.exists():
        time.sleep(0.1)
    time.sleep(settle)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    return proc.returncode, stdout, stderr


def error_line(result):
    assert result.returncode != 0, result.stdout
    lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
    assert lines, "no error message"
    return lines[0]


@pytest.mark.parametrize("args, expected", [
    (["train", "--env", "CartPol-v1", "--out", "{tmp}/r"], "Unknown environment id 'CartPol-v1'"),
    (["train", "--env", "fixture_envs:ContinuousEnv", "--out", "{tmp}/r"], "continuous actions"),
    (["train", "--env", "fixture_envs:DictObsEnv", "--out", "{tmp}/r"], "FlattenObservation"),
    (["train", "--env", "no_such_module:Env", "--out", "{tmp}/r"], "could not be imported"),
    (["train", "--gamma", "2", "--out", "{tmp}/r"], "--gamma must be in (0, 1]"),
    (["train", "--batch-size", "0", "--out", "{tmp}/r"], "--batch-size must be at least 1"),
    (["train", "--hidden", "64,x", "--out", "{tmp}/r"], "--hidden takes positive sizes"),
    (["train", "--loss", "l1", "--out", "{tmp}/r"], "--loss must be huber or mse"),
    (["train", "--env-arg", "oops", "--out", "{tmp}/r"], "--env-arg takes key=value"),
    (["train", "--config", "{tmp}/missing.json", "--out", "{tmp}/r"], "does not exist"),
    (["train", "--resume", "--out", "{tmp}/nothing"], "has no checkpoint to resume"),
    (["eval", "{tmp}/nothing"], "does not exist"),
    (["eval", "{tmp}", "--episodes", "0"], "--episodes must be at least 1"),
])
def test_bad_input_gives_one_clear_sentence(tmp_path, args, expected):
    result = run(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    line = error_line(result)
    assert expected in line, result.stderr
    assert "Traceback" not in result.stderr and "Fatal error" not in result.stderr


def test_train_eval_and_reproducibility(tmp_path):
    for name in ("a", "b"):
        r = run("train", *CORRIDOR, "--steps", "2000", "--seed", "3", "--eval-interval", "500",
                "--eval-episodes", "2", "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
    a, b = tmp_path / "a", tmp_path / "b"
    manifest = json.loads((a / "model.json").read_text())
    files = sorted(t["file"] for t in manifest["tensors"])
    assert sorted(p.name for p in a.glob("*.npy")) == files, "only the current model's tensor files remain"
    assert [t["name"] for t in manifest["tensors"]] == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    for f in files + [f"last/{p.name}" for p in (a / "last").glob("*.npy")]:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f"{f} differs between two runs with one seed"
    manifest = json.loads((a / "model.json").read_text())
    assert manifest["environment"] == "Corridor-6" and manifest["architecture"]["hidden_sizes"] == [32]
    # The run directory loads with plain NumPy and its greedy policy walks the corridor.
    w = [np.load(a / t["file"]) for t in manifest["tensors"]]
    for cell in range(5):
        h = np.maximum(np.eye(6, dtype=np.float32)[cell] @ w[0] + w[1], 0)
        assert int(np.argmax(h @ w[2] + w[3])) == 1
    ev = run("eval", str(a), "--episodes", "3", "--seed", "0", "--json")
    assert ev.returncode == 0, ev.stderr
    report = json.loads(ev.stdout)
    assert report["mean_return"] == 1 and report["std_return"] == 0 and report["episodes"] == 3
    metrics = (a / "metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("step,kind,episode,return")
    assert any(",eval," in line for line in metrics) and any(",episode," in line for line in metrics)
    # An existing run is refused without --force and replaced with it.
    again = run("train", *CORRIDOR, "--steps", "200", "--out", str(a))
    assert "already holds a run" in error_line(again)
    forced = run("train", *CORRIDOR, "--steps", "300", "--eval-interval", "0", "--out", str(a), "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((a / "model.json").read_text())["metrics"]["step"] == 300


def test_corrupt_model_files_are_refused(tmp_path):
    r = run("train", *CORRIDOR, "--steps", "300", "--eval-interval", "0", "--out", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    weight = tmp_path / "m" / "layers.0.weight.npy"
    weight.write_bytes(weight.read_bytes()[:-20])
    assert "checksum" in error_line(run("eval", str(tmp_path / "m")))
    (tmp_path / "m" / "model.json").write_text("{not json")
    assert "not a valid model manifest" in error_line(run("eval", str(tmp_path / "m")))


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    code, stdout, stderr = interrupt(["train", *CORRIDOR, "--steps", "1000000000000", "--eval-interval", "0",
                                      "--checkpoint-interval", "0", "--out", str(out)], out / "metrics.csv", 1.5)
    assert code == 130, stderr
    assert "checkpoint saved" in stdout
    state = json.loads((out / "last" / "state.json").read_text())
    stopped_at = state["state"]["step"]
    assert 0 < stopped_at < 10 ** 12
    resumed = run("train", "--resume", "--out", str(out), "--steps", str(stopped_at + 500))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed at step {stopped_at}" in resumed.stdout
    assert json.loads((out / "last" / "state.json").read_text())["state"]["step"] == stopped_at + 500


@pytest.fixture(scope="module")
def corridor_teacher(tmp_path_factory):
    out = tmp_path_factory.mktemp("teacher") / "t"
    r = run("train", *CORRIDOR, "--steps", "2000", "--seed", "0", "--eval-interval", "500", "--eval-episodes", "2",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("args, expected", [
    (["--teacher", "{tmp}/none"], "The teacher {tmp}/none cannot be loaded"),
    (["--teacher", "{teacher}", "--feature-layer", "3:0"], "The student has no hidden layer 3"),
    (["--teacher", "{teacher}", "--feature-layer", "0:4"], "The teacher has no hidden layer 4"),
    (["--teacher", "{teacher}", "--env", "CartPole-v1"], "distil on the teacher's environment"),
    (["--teacher", "{teacher}", "--loss", "hinge"], "--loss takes q-mse, kl, ce or action-mse"),
    (["--teacher", "{teacher}", "--regime", "dream"], "--regime must be teacher, student, mixed or offline"),
    (["--teacher", "{teacher}", "--regime", "offline"], "needs --offline-observations"),
    (["--teacher", "{teacher}", "--offline-observations", "{tmp}/none.npy"], "cannot be used"),
    (["--teacher", "{teacher}", "--temperature", "0"], "--temperature must be positive"),
    ([], "--teacher is required"),
])
def test_distill_errors(tmp_path, corridor_teacher, args, expected):
    fill = lambda s: s.replace("{tmp}", str(tmp_path)).replace("{teacher}", str(corridor_teacher))
    result = run("distill", *[fill(a) for a in args], "--out", str(tmp_path / "s"))
    assert fill(expected) in error_line(result), result.stderr


def test_distill_and_compare(tmp_path, corridor_teacher):
    student = tmp_path / "student"
    r = run("distill", "--teacher", str(corridor_teacher), "--hidden", "8", "--loss", "kl,q-mse:0.5", "--steps", "1500",
            "--seed", "1", "--eval-interval", "500", "--eval-episodes", "2", "--epsilon", "0.3", "--out", str(student))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((student / "model.json").read_text())
    assert manifest["config"]["kind"] == "student" and manifest["config"]["losses"] == ["q-mse", "kl"]
    assert manifest["config"]["teachers"] == [str(corridor_teacher)] and manifest["config"]["temperature"] == 0.01
    assert manifest["architecture"]["hidden_sizes"] == [8]
    c = run("compare", str(corridor_teacher), str(student), "--episodes", "3", "--json")
    assert c.returncode == 0, c.stderr
    report = json.loads(c.stdout)
    assert report["student"]["parameters"] == 6 * 8 + 8 + 8 * 2 + 2
    assert report["parameter_ratio"] == pytest.approx(74 / 290) and report["inference_speedup"] > 0
    assert report["student"]["mean_return"] == report["teacher"]["mean_return"] == 1
    assert report["normalized_return"] == 1 and report["action_agreement"] > 0.9
    # Offline from a saved .npy of observations, with plain NumPy writing it.
    obs = np.eye(6, dtype=np.float32)[np.arange(300) % 6]
    np.save(tmp_path / "obs.npy", obs)
    off = run("distill", "--teacher", str(corridor_teacher), "--hidden", "8", "--regime", "offline",
              "--offline-observations", str(tmp_path / "obs.npy"), "--final-updates", "200", "--out", str(tmp_path / "off"))
    assert off.returncode == 0, off.stderr
    assert "300 teacher-labelled states" in off.stdout


def test_ctrl_c_during_distillation_keeps_the_best_saves_the_current_and_resume_finishes_it(tmp_path, corridor_teacher):
    out = tmp_path / "student"
    code, stdout, stderr = interrupt(["distill", "--teacher", str(corridor_teacher), "--hidden", "8", "--steps", "50000000",
                                      "--eval-interval", "2000", "--eval-episodes", "1", "--checkpoint-interval", "0",
                                      "--out", str(out)],
                                     out / "model.json", 0.5)
    assert code == 130, stderr
    assert (out / "model.json").exists() and (out / "last" / "model.json").exists()
    assert "saved in" in stdout and f"Continue with `distill distill --out {out} --resume`" in stdout
    state = json.loads((out / "last" / "state.json").read_text())["state"]
    stopped_at = state["step"]
    assert 0 < stopped_at < 50_000_000 and state["gradientSteps"] > 0
    refused = run("distill", "--resume", "--out", str(out), "--hidden", "4")
    assert "--hidden cannot change when a run is resumed" in error_line(refused)
    assert "drop --env" in error_line(run("distill", "--resume", "--out", str(out), "--env", "CartPole-v1"))
    resumed = run("distill", "--resume", "--out", str(out), "--steps", str(stopped_at + 700), "--eval-interval", "350")
    assert resumed.returncode == 0, resumed.stderr
    assert f"at labelled state {stopped_at}" in resumed.stdout
    after = json.loads((out / "last" / "state.json").read_text())["state"]
    assert after["step"] == after["labels"] == stopped_at + 700 and after["gradientSteps"] > state["gradientSteps"]
    assert run("eval", str(out), "--episodes", "1").returncode == 0
    assert "has no checkpoint to resume" in error_line(run("distill", "--resume", "--out", str(tmp_path / "none")))


def one_clean_sentence(result):
    text = result.stderr + result.stdout
    assert "Fatal error" not in text and "Traceback" not in text and result.returncode in (0, 1, 64), text
    return text


def test_a_kill_at_any_file_operation_leaves_a_usable_run(tmp_path):
    """SIGKILL at the k-th file operation of the saves (a test-only switch in the save path):
    the best model always loads or is absent, and --resume continues or says why it cannot."""
    base = [*CORRIDOR, "--steps", "500", "--seed", "1", "--eval-interval", "100", "--eval-episodes", "1",
            "--checkpoint-interval", "100"]
    killed = 0
    for k in range(1, 90):
        out = tmp_path / f"k{k}"
        r = run("train", *base, "--out", str(out), env={"SWIFT_DISTILL_CRASH_AFTER": str(k)})
        if r.returncode == 0:
            break
        assert r.returncode == -signal.SIGKILL, r.stderr
        killed += 1
        if (out / "model.json").exists():
            ev = run("eval", str(out), "--episodes", "1")
            assert ev.returncode == 0, f"k={k}: the best model does not load: {ev.stderr}"
        resumed = run("train", "--resume", "--out", str(out))
        text = one_clean_sentence(resumed)
        if resumed.returncode == 0:
            assert json.loads((out / "last" / "state.json").read_text())["state"]["step"] == 500
        else:
            assert "has no checkpoint to resume" in text, f"k={k}: {text}"
        leftovers = [p.name for p in out.iterdir() if ".saving-" in p.name or ".old-" in p.name]
        assert not leftovers, f"k={k}: temporaries left after the next run: {leftovers}"
    assert killed >= 60, "the switch should have fired in many saves"


def test_a_kill_during_distillation_saves_leaves_a_usable_student(tmp_path, corridor_teacher):
    """SIGKILL at the k-th file operation of a distillation's saves (best students and
    checkpoints every 150 states): the best student loads or is absent, and --resume finishes
    the run or says there is no checkpoint yet."""
    resumed_runs = 0
    for k in range(1, 40, 3):
        out = tmp_path / f"s{k}"
        r = run("distill", "--teacher", str(corridor_teacher), "--hidden", "8", "--steps", "600", "--eval-interval", "100",
                "--eval-episodes", "1", "--checkpoint-interval", "150", "--out", str(out),
                env={"SWIFT_DISTILL_CRASH_AFTER": str(k)})
        assert r.returncode in (0, -signal.SIGKILL), r.stderr
        if (out / "model.json").exists():
            c = run("eval", str(out), "--episodes", "1")
            assert c.returncode == 0, f"k={k}: {c.stderr}"
        if r.returncode == 0:
            continue
        resumed = run("distill", "--resume", "--out", str(out))
        text = one_clean_sentence(resumed)
        if resumed.returncode == 0:
            resumed_runs += 1
            assert json.loads((out / "last" / "state.json").read_text())["state"]["step"] == 600, f"k={k}"
        else:
            assert "has no checkpoint to resume" in text, f"k={k}: {text}"
    assert resumed_runs >= 3, "some kills should have come after a checkpoint"


@pytest.mark.parametrize("what, sentence", [("reward", "non-finite reward (nan) at episode 30, step 10"),
                                            ("observation", "non-finite observation (element 0 is inf) at episode 30, step 10")])
def test_non_finite_numbers_stop_the_run_naming_their_source(tmp_path, what, sentence):
    out = tmp_path / "nan"
    r = run("train", "--env", "fixture_envs:NonFiniteEnv", "--env-arg", "at=300", "--env-arg", f"what={what}",
            "--hidden", "8", "--learning-starts", "50", "--train-frequency", "4", "--gradient-steps", "1",
            "--eval-interval", "100", "--eval-episodes", "1", "--checkpoint-interval", "100", "--steps", "1000",
            "--out", str(out))
    assert r.returncode != 0 and sentence in error_line(r), r.stderr
    state = json.loads((out / "last" / "state.json").read_text())
    assert state["state"]["step"] == 200, "the last finite checkpoint is kept"
    manifest = json.loads((out / "model.json").read_text())
    for t in manifest["tensors"]:
        assert np.isfinite(np.load(out / t["file"])).all()


def test_a_diverging_update_stops_the_run(tmp_path):
    r = run("train", *CORRIDOR, "--learning-rate", "1e30", "--max-grad-norm", "1e30", "--steps", "2000",
            "--eval-interval", "0", "--out", str(tmp_path / "d"))
    assert r.returncode != 0 and "gave a non-finite loss" in error_line(r), r.stderr
    assert not (tmp_path / "d" / "model.json").exists() or all(
        np.isfinite(np.load(tmp_path / "d" / t["file"])).all()
        for t in json.loads((tmp_path / "d" / "model.json").read_text())["tensors"])


def test_a_recorded_environment_is_data_not_code(tmp_path, corridor_teacher):
    copy = tmp_path / "m"
    import shutil
    shutil.copytree(corridor_teacher, copy)
    manifest = json.loads((copy / "model.json").read_text())
    # "this" prints the Zen of Python when imported: nothing named by a data file is imported.
    for recorded in ("os:system", "this:X", "this:Env-v0"):
        manifest["environment"] = recorded
        (copy / "model.json").write_text(json.dumps(manifest))
        for args in (["eval", str(copy)], ["compare", str(copy), str(copy)],
                     ["distill", "--teacher", str(copy), "--out", str(tmp_path / "s")]):
            r = run(*args)
            assert r.returncode == 1 and f"records its environment as '{recorded}', which names Python code" in error_line(r), r.stderr
            assert "Zen of Python" not in r.stdout + r.stderr
            assert f"--trust-env {recorded}" in error_line(r)
    ok = run("eval", str(copy), "--env", "Corridor-6", "--episodes", "1")
    assert ok.returncode == 0, ok.stderr
    vouched = run("eval", str(copy), "--trust-env", "this:Env-v0", "--episodes", "1")
    assert "Zen of Python" in vouched.stdout, "the module the user names is imported"


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_save_a_checkpoint(tmp_path, sig, code):
    out = tmp_path / "run"
    proc = subprocess.Popen([DISTILL, "train", *CORRIDOR, "--steps", "1000000000000", "--eval-interval", "0",
                             "--checkpoint-interval", "0", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "metrics.csv").exists():
        time.sleep(0.1)
    time.sleep(1)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert json.loads((out / "last" / "state.json").read_text())["state"]["step"] > 0


def test_a_second_writer_is_refused_at_once(tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen([DISTILL, "train", *CORRIDOR, "--steps", "1000000000000", "--eval-interval", "0",
                              "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (out / "metrics.csv").exists():
            time.sleep(0.1)
        second = run("train", *CORRIDOR, "--steps", "300", "--out", str(out), "--force")
        assert f"Another run (pid {first.pid}) is writing into" in error_line(second)
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)


def test_settings_that_cannot_work_are_refused_before_any_work(tmp_path):
    out = str(tmp_path / "r")
    cases = [
        (["--seed=-1"], "--seed must be 0 or more (got -1)."),
        (["--batch-size", "100", "--buffer-size", "50"], "--batch-size (100) must be at most --buffer-size (50)"),
        (["--buffer-size", "100000000000"], "--buffer-size 100000000000 needs"),
        (["--hidden", "200000000,200000000"], "--hidden 200000000,200000000 needs"),
        (["--priority-epsilon", "-1"], "--priority-epsilon must be positive"),
        (["--max-grad-norm", "nan"], "--max-grad-norm must be a finite number"),
    ]
    for args, expected in cases:
        r = run("train", "--env", "Corridor-6", *args, "--out", out)
        assert expected in error_line(r), (args, r.stderr)
        assert not (tmp_path / "r").exists(), f"{args}: nothing may be written"
    w = run("train", *CORRIDOR, "--steps", "50", "--learning-starts", "100", "--eval-interval", "0", "--out", out)
    assert w.returncode == 0 and "warning: --learning-starts (100) is not below --steps (50)" in w.stderr


def test_resume_applies_what_may_change_and_refuses_the_rest(tmp_path):
    out = tmp_path / "run"
    assert run("train", *CORRIDOR, "--steps", "300", "--eval-interval", "0", "--out", str(out)).returncode == 0
    refused = run("train", "--resume", "--out", str(out), "--gamma", "0.5")
    assert "--gamma cannot change when a run is resumed" in error_line(refused)
    ok = run("train", "--resume", "--out", str(out), "--steps", "500", "--learning-rate", "0.0005")
    assert ok.returncode == 0, ok.stderr
    state = json.loads((out / "last" / "state.json").read_text())
    assert state["state"]["step"] == 500 and state["config"]["learning_rate"] == 0.0005


def test_environment_arguments_are_recorded_and_reused(tmp_path):
    teacher = tmp_path / "t"
    lineworld = ["--env", "fixture_envs:LineWorld", "--env-arg", "n=4", "--hidden", "16", "--learning-starts", "100",
                 "--train-frequency", "4", "--gradient-steps", "1", "--target-update-interval", "100",
                 "--exploration-fraction", "0.3", "--learning-rate", "0.001", "--batch-size", "32", "--gamma", "0.9"]
    r = run("train", *lineworld, "--steps", "1500", "--eval-interval", "500", "--eval-episodes", "2", "--out", str(teacher))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((teacher / "model.json").read_text())
    assert manifest["environment"] == "fixture_envs:LineWorld" and manifest["environment_arguments"] == {"n": "4"}
    # The recorded module:attribute is opened only when the user names it (--trust-env, or --env on --resume).
    assert "which names Python code" in error_line(run("eval", str(teacher), "--episodes", "2"))
    trust = ["--trust-env", "fixture_envs:LineWorld"]
    ev = run("eval", str(teacher), "--episodes", "2", "--json", *trust)
    assert ev.returncode == 0 and json.loads(ev.stdout)["env"] == "fixture_envs:LineWorld(n=4)", ev.stderr
    st = run("distill", "--teacher", str(teacher), "--hidden", "8", "--steps", "600", "--eval-interval", "0",
             "--out", str(tmp_path / "s"), *trust)
    assert st.returncode == 0, st.stderr
    assert json.loads((tmp_path / "s" / "model.json").read_text())["environment_arguments"] == {"n": "4"}
    assert run("compare", str(teacher), str(tmp_path / "s"), "--episodes", "2", *trust).returncode == 0
    other = run("eval", str(teacher), "--env-arg", "n=5", "--episodes", "1", *trust)
    assert "the model takes 4 inputs and 2 actions, but fixture_envs:LineWorld has 5 and 2" in error_line(other)
    assert "which names Python code" in error_line(run("train", "--resume", "--out", str(teacher), "--steps", "1600"))
    elsewhere = run("train", "--resume", "--out", str(teacher), "--steps", "1600", "--env", "Acrobot-v1")
    assert "continues the run in" in error_line(elsewhere) and "on its own environment, fixture_envs:LineWorld" in error_line(elsewhere)
    resumed = run("train", "--resume", "--out", str(teacher), "--steps", "1600", "--env", "fixture_envs:LineWorld")
    assert resumed.returncode == 0, resumed.stderr
    manifest["environment"] = "__main__:LineWorld"
    (teacher / "model.json").write_text(json.dumps(manifest))
    assert "defined in a notebook or script" in error_line(run("eval", str(teacher)))


@pytest.mark.parametrize("env", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3"])
def test_rl_zoo_yaml_configs_give_the_published_settings(tmp_path, env):
    """rl-zoo's own dqn.yml entries, read by --config, equal the built-in defaults for the env.
    (The file names LunarLander-v2, which Gymnasium 1.x replaced by v3 with the same dynamics:
    its entry is read under the new id. LunarLander needs Box2D, a test tool.)"""
    import swiftdistill as sd
    config = ROOT / "Tests" / "CLITests" / "data" / "rl-zoo-dqn.yml"
    if env == "LunarLander-v3":
        pytest.importorskip("Box2D")
        renamed = tmp_path / "dqn.yml"
        renamed.write_text(config.read_text().replace("LunarLander-v2:", "LunarLander-v3:"))
        config = renamed
    r = run("train", "--env", env, "--config", str(config),
            "--steps", "1", "--eval-interval", "0", "--out", str(tmp_path / "z"))
    assert r.returncode == 0, r.stderr
    text = r.stdout.split("Settings:", 1)[1].split("step ", 1)[0]
    printed = dict(pair.split("=", 1) for pair in text.split())
    defaults = {s["key"]: s["default"] for s in sd.settings("dqn", env)}
    for key in ("learning_rate", "batch_size", "buffer_size", "learning_starts", "gamma", "target_update_interval",
                "train_frequency", "gradient_steps", "exploration_fraction", "exploration_final"):
        assert float(printed[key]) == pytest.approx(float(defaults[key])), key
    assert printed["hidden_sizes"] == "256,256"


def test_sb3_names_work_on_every_front_end(tmp_path):
    r = run("train", *CORRIDOR, "--steps", "300", "--eval-interval", "0", "--set", "policy_kwargs=dict(net_arch=[8, 4])",
            "--set", "train_freq=8", "--out", str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "a" / "model.json").read_text())
    assert manifest["architecture"]["hidden_sizes"] == [8, 4] and manifest["config"]["train_frequency"] == 8
    bad = run("train", "--env", "Corridor-6", "--set", "policy=CnnPolicy", "--out", str(tmp_path / "b"))
    assert "--policy must be MlpPolicy (got CnnPolicy)" in error_line(bad)
    (tmp_path / "c.yml").write_text("Corridor-6:\n  policy: CnnPolicy\n")
    bad = run("train", "--env", "Corridor-6", "--config", str(tmp_path / "c.yml"), "--out", str(tmp_path / "c"))
    assert "policy must be MlpPolicy" in error_line(bad)


def test_sb3_logs_monitor_and_evaluations(tmp_path):
    """monitor.csv and evaluations.npz in Stable-Baselines3's formats, agreeing with metrics.csv."""
    out = tmp_path / "run"
    r = run("train", *CORRIDOR, "--steps", "1500", "--eval-interval", "500", "--eval-episodes", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = (out / "monitor.csv").read_text().splitlines()
    header = json.loads(lines[0][1:])
    assert lines[0].startswith("#") and header["env_id"] == "Corridor-6" and header["t_start"] > 1.6e9
    assert lines[1] == "r,l,t"
    rows = [l.split(",") for l in lines[2:]]
    metrics = [l.split(",") for l in (out / "metrics.csv").read_text().splitlines()[1:]]
    episodes = [m for m in metrics if m[1] == "episode"]
    assert len(rows) == len(episodes)
    assert [float(r[0]) for r in rows] == [float(m[3]) for m in episodes]
    assert [int(r[1]) for r in rows] == [int(m[4]) for m in episodes]
    assert all(float(a[2]) <= float(b[2]) for a, b in zip(rows, rows[1:])), "t grows"
    npz = np.load(out / "evaluations.npz")
    assert sorted(npz.files) == ["ep_lengths", "results", "timesteps"]
    assert npz["timesteps"].dtype == np.int64 and list(npz["timesteps"]) == [500, 1000, 1500]
    assert npz["results"].shape == (3, 3) and npz["ep_lengths"].shape == (3, 3)
    evals = [m for m in metrics if m[1] == "eval"]
    assert list(npz["results"].mean(axis=1)) == pytest.approx([float(m[7]) for m in evals])


def test_self_distillation_generations(tmp_path, corridor_teacher):
    out = tmp_path / "born-again"
    r = run("distill", "--teacher", str(corridor_teacher), "--hidden", "32", "--generations", "3", "--steps", "800",
            "--eval-interval", "400", "--eval-episodes", "2", "--epsilon", "0.3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for g in (1, 2, 3):
        assert f"generation {g}: best mean return 1.0 ({out}/generation-{g})" in r.stdout, r.stdout
    second = json.loads((out / "generation-2" / "model.json").read_text())
    assert second["config"]["teachers"] == [str(out / "generation-1")]
    assert second["environment"] == "Corridor-6" and second["architecture"]["hidden_sizes"] == [32]
    assert f"the model in {out}/generation-3 is that student" in r.stdout
    assert f"resume one with --out {out}/generation-3 --resume" in error_line(run("distill", "--resume", "--out", str(out)))
    more = run("distill", "--resume", "--out", str(out / "generation-3"), "--steps", "900")
    assert more.returncode == 0, more.stderr


def test_export_npy_writes_plain_names(tmp_path, corridor_teacher):
    out = tmp_path / "plain"
    r = run("export", str(corridor_teacher), "--format", "npy", "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["layers.0.bias.npy", "layers.0.weight.npy", "layers.1.bias.npy",
                                                     "layers.1.weight.npy", "model.json"]
    source = json.loads((corridor_teacher / "model.json").read_text())
    for t in source["tensors"]:
        assert np.array_equal(np.load(out / f"{t['name']}.npy"), np.load(corridor_teacher / t["file"]))
    assert json.loads((out / "model.json").read_text())["environment"] == "Corridor-6"
    assert "exists; choose a new directory" in error_line(run("export", str(corridor_teacher), "--format", "npy",
                                                               "--output", str(out)))


def test_every_kernel_set_and_thread_count_trains_the_same_bits(tmp_path):
    """The kernels are chosen at run time; SWIFT_DISTILL_KERNELS picks another set, and every set
    this CPU runs that fuses its multiply-adds gives the same weights. The portable set fuses only
    where the target has FMA (arm64); on x86-64 it multiplies and adds, `distill info` says so,
    and it trains to other bits."""
    sets = [k for k in ("avx2", "avx512") if f"kernels:     {k}" in run("info", env={"SWIFT_DISTILL_KERNELS": k}).stdout]
    info = run("info").stdout
    plain = "portable multiplies and adds without fusing" in info
    assert plain == (platform.machine() == "x86_64"), info
    runs = {}
    for kernels in ["portable"] + sets:
        out = tmp_path / kernels
        r = run("train", *CORRIDOR, "--hidden", "32,32", "--steps", "400", "--seed", "5", "--eval-interval", "0",
                "--out", str(out), env={"SWIFT_DISTILL_KERNELS": kernels})
        assert r.returncode == 0, r.stderr
        runs[kernels] = {p.name: p.read_bytes() for p in sorted((out / "last").glob("*.npy"))}
    assert len(runs["portable"]) >= 10
    reference = sets[0] if plain else "portable"
    for kernels in sets:
        assert runs[kernels] == runs[reference], f"{kernels} kernels trained different weights"
    if plain and sets:
        assert runs["portable"] != runs[reference], "two roundings per term cannot give the fused bits over a whole run"
    # A second core for large products (256-wide layers, batch 64) keeps the bits too.
    wide = ["--hidden", "256,256", "--batch-size", "64", "--steps", "300", "--seed", "5", "--eval-interval", "0"]
    files = []
    for threads in ("1", "2"):
        out = tmp_path / f"threads{threads}"
        r = run("train", *CORRIDOR, *wide, "--threads", threads, "--out", str(out))
        assert r.returncode == 0, r.stderr
        files.append({p.name: p.read_bytes() for p in sorted((out / "last").glob("*.npy"))})
    assert files[0] == files[1], "two threads trained different weights"
    assert "--threads must be 1 or 2" in error_line(run("train", *CORRIDOR, "--threads", "0", "--out", str(tmp_path / "z")))
    bad = run("info", env={"SWIFT_DISTILL_KERNELS": "sse9"})
    assert bad.returncode == 64
    assert "SWIFT_DISTILL_KERNELS=sse9 is not a kernel set this CPU runs; use one of portable" in error_line(bad)


def _crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def _masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_tensorboard_event_files_hold_the_runs_scalars(tmp_path):
    """The event file's framing and CRCs checked by an independent reader here, and its scalars
    read by TensorBoard's own EventAccumulator, equal metrics.csv's evaluations."""
    import struct
    out = tmp_path / "run"
    r = run("train", *CORRIDOR, "--steps", "1500", "--seed", "1", "--eval-interval", "500", "--eval-episodes", "2",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    files = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert len(files) == 1
    data = files[0].read_bytes()
    records, at = [], 0
    while at < len(data):
        (length,) = struct.unpack_from("<Q", data, at)
        (length_crc,) = struct.unpack_from("<I", data, at + 8)
        assert length_crc == _masked(_crc32c(data[at:at + 8]))
        body = data[at + 12:at + 12 + length]
        (body_crc,) = struct.unpack_from("<I", data, at + 12 + length)
        assert body_crc == _masked(_crc32c(body))
        records.append(body)
        at += 16 + length
    assert at == len(data) and len(records) > 3
    assert b"brain.Event:2" in records[0]
    evals = [l.split(",") for l in (out / "metrics.csv").read_text().splitlines()[1:] if ",eval," in l]
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    expected = [(int(e[0]), float(e[header.index("eval_mean")])) for e in evals]
    assert expected
    tb = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = tb.EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    assert {"eval/mean_reward", "rollout/ep_rew_mean", "rollout/exploration_rate", "train/loss"} <= set(acc.Tags()["scalars"])
    got = [(e.step, e.value) for e in acc.Scalars("eval/mean_reward")]
    assert [s for s, _ in got] == [s for s, _ in expected]
    assert all(abs(a - b) < 1e-5 for (_, a), (_, b) in zip(got, expected))
    # --force replaces the run, event files included (a file of the run, not a foreign one).
    again = run("train", *CORRIDOR, "--steps", "300", "--eval-interval", "0", "--out", str(out), "--force")
    assert again.returncode == 0, again.stderr
    assert len(list((out / "tensorboard").glob("events.out.tfevents.*"))) == 1


def test_multi_task_distillation_of_two_environments(tmp_path, corridor_teacher):
    """Teachers named by task: one student, a per-task input layer and head, each task on the
    environment (with keyword arguments) its teacher recorded; every task loads as a plain model."""
    line = tmp_path / "line"
    r = run("train", "--env", "fixture_envs:LineWorld", "--env-arg", "n=4", "--hidden", "16", "--learning-starts", "100",
            "--train-frequency", "4", "--target-update-interval", "100", "--exploration-fraction", "0.3",
            "--learning-rate", "0.001", "--batch-size", "32", "--gamma", "0.9", "--steps", "1500", "--eval-interval", "500",
            "--eval-episodes", "2", "--out", str(line))
    assert r.returncode == 0, r.stderr
    args = ["distill", "--teacher", f"corridor={corridor_teacher}", "--teacher", f"line={line}", "--hidden", "16,16",
            "--steps", "3000", "--eval-interval", "1000", "--eval-episodes", "2", "--epsilon", "0.3",
            "--trust-env", "fixture_envs:LineWorld"]
    first, second = run(*args, "--out", str(tmp_path / "a")), run(*args, "--out", str(tmp_path / "b"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "Multi-task student:" in first.stdout and f"{tmp_path}/a/tasks/line" in first.stdout
    index = json.loads((tmp_path / "a" / "tasks" / "tasks.json").read_text())
    assert [t["name"] for t in index["tasks"]] == ["corridor", "line"]
    assert [(t["input_size"], t["output_size"]) for t in index["tasks"]] == [(6, 2), (4, 2)]
    assert index["tasks"][1]["environment"] == "fixture_envs:LineWorld" and index["tasks"][1]["environment_arguments"] == {"n": "4"}
    # Shared trunk counted once: 6→16 and 4→16 inputs, 16→16 trunk, two 16→2 heads.
    assert index["shared_parameters"] == (6 * 16 + 16) + (4 * 16 + 16) + (16 * 16 + 16) + 2 * (16 * 2 + 2)
    header = (tmp_path / "a" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"eval_return_corridor", "eval_normalized_line"} <= set(header)
    for name in ("corridor", "line"):
        a, b = tmp_path / "a" / "tasks" / name, tmp_path / "b" / "tasks" / name
        manifest = json.loads((a / "model.json").read_text())
        assert manifest["config"]["task"] == name and manifest["architecture"]["hidden_sizes"] == [16, 16]
        for entry in manifest["tensors"]:
            assert (a / entry["file"]).read_bytes() == (b / entry["file"]).read_bytes(), "same seed, same bytes"
        c = run("compare", str(corridor_teacher if name == "corridor" else line), str(a), "--episodes", "2", "--json",
                "--trust-env", "fixture_envs:LineWorld")
        assert c.returncode == 0, c.stderr
    # The trunk is shared: layers.1 of both tasks are the same array.
    def array(task, layer):
        m = json.loads((tmp_path / "a" / "tasks" / task / "model.json").read_text())
        return np.load(tmp_path / "a" / "tasks" / task / next(e["file"] for e in m["tensors"] if e["name"] == layer))
    assert np.array_equal(array("corridor", "layers.1.weight"), array("line", "layers.1.weight"))
    assert not np.array_equal(array("corridor", "layers.2.weight"), array("line", "layers.2.weight"))
    assert "holds a multi-task student (tasks corridor, line); name one task's model" in error_line(run("eval", str(tmp_path / "a")))
    mixed = run("distill", "--teacher", f"corridor={corridor_teacher}", "--teacher", str(line), "--out", str(tmp_path / "c"))
    assert "Name every teacher's task or none" in error_line(mixed)
    # A finished multi-task run continues for more labelled states from its checkpoint.
    more = run("distill", "--resume", "--out", str(tmp_path / "b"), "--steps", "3400", "--trust-env", "fixture_envs:LineWorld")
    assert more.returncode == 0, more.stderr
    assert "Multi-task student:" in more.stdout
    state = json.loads((tmp_path / "b" / "last" / "state.json").read_text())["state"]
    assert state["step"] == 3400 and len(state["taskEpisodes"]) == 2


def test_codistillation_trains_teacher_and_student_in_one_loop(tmp_path):
    out = tmp_path / "co"
    r = run("codistill", *CORRIDOR, "--total-steps", "2000", "--seed", "0", "--student-hidden", "8", "--student-loss", "kl",
            "--student-eval-interval", "500", "--student-eval-episodes", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "Teacher: best mean return 1.0" in r.stdout and "Student: best mean return 1.0" in r.stdout
    student, teacher = json.loads((out / "model.json").read_text()), json.loads((out / "teacher" / "model.json").read_text())
    assert student["architecture"]["hidden_sizes"] == [8] and student["config"]["co_distilled"] is True
    assert teacher["architecture"]["hidden_sizes"] == [32] and teacher["environment"] == "Corridor-6"
    assert student["config"]["teachers"] == [str(out / "teacher")]
    rows = (out / "metrics.csv").read_text().splitlines()
    assert "teacher_eval_mean" in rows[0].split(",") and any(",eval," in row for row in rows)
    c = run("compare", str(out / "teacher"), str(out), "--episodes", "2", "--json")
    assert c.returncode == 0 and json.loads(c.stdout)["action_agreement"] > 0.9, c.stderr
    bad = run("codistill", *CORRIDOR, "--student-temperature", "0", "--out", str(tmp_path / "bad"))
    assert "--student-temperature must be positive" in error_line(bad)
    worse = run("codistill", *CORRIDOR, "--student-hidden", "8", "--learning-rate", "-1", "--out", str(tmp_path / "bad"))
    assert "--learning-rate must be positive" in error_line(worse)
    # The finished run continues from its checkpoint; settings that cannot change are named as given.
    assert "--gamma cannot change when a run is resumed" in error_line(run("codistill", "--resume", "--out", str(out), "--gamma", "0.5"))
    refused = run("codistill", "--resume", "--out", str(out), "--student-hidden", "4")
    assert "--student-hidden cannot change when a run is resumed" in error_line(refused)
    assert "drop --env" in error_line(run("codistill", "--resume", "--out", str(out), "--env", "CartPole-v1"))
    more = run("codistill", "--resume", "--out", str(out), "--total-steps", "2400", "--student-learning-rate", "0.0005")
    assert more.returncode == 0, more.stderr
    assert "at step 2000" in more.stdout
    state = json.loads((out / "last" / "state.json").read_text())
    assert state["state"]["step"] == state["state"]["teacher"]["step"] == 2400 and state["config"]["learning_rate"] == 0.0005
    assert "holds a co-distillation; continue it with `distill codistill" in error_line(run("distill", "--resume", "--out", str(out)))
    assert "holds a co-distillation" in error_line(run("train", "--resume", "--out", str(out)))


def test_environments_without_zoo_settings_get_sb3_defaults_and_say_so(tmp_path):
    r = run("train", "--env", "fixture_envs:LineWorld", "--steps", "300", "--eval-interval", "0", "--out", str(tmp_path / "g"))
    assert r.returncode == 0, r.stderr
    assert "fixture_envs:LineWorld has no rl-baselines3-zoo settings: using Stable-Baselines3's DQN defaults" in r.stdout
    for setting in ("hidden_sizes=64,64", "learning_rate=0.0001", "buffer_size=1000000", "target_update_interval=10000",
                    "train_frequency=4", "exploration_final=0.05"):
        assert setting in r.stdout, setting
    zoo = run("train", "--env", "Acrobot-v1", "--steps", "200", "--eval-interval", "0", "--out", str(tmp_path / "a"))
    assert zoo.returncode == 0 and "rl-baselines3-zoo settings" not in zoo.stdout and "learning_rate=0.00063" in zoo.stdout
    toy = run("train", "--env", "Corridor-6", "--out", str(tmp_path / "c"))  # the built-in toy has defaults that solve it
    assert toy.returncode == 0 and "Best evaluation: mean return 1.0" in toy.stdout, toy.stdout


def test_image_observations_train_an_mlp_and_load_with_numpy(tmp_path):
    """A uint8 HWC image space is accepted (flattened row-major, scaled by 1/255 as SB3 does);
    the layout is recorded, and the NumPy loader takes raw images, one or a batch."""
    import swiftdistill as sd
    out = tmp_path / "img"
    r = run("train", "--env", "fixture_envs:ImageEnv", "--hidden", "16", "--steps", "400", "--learning-starts", "50",
            "--eval-interval", "200", "--eval-episodes", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    config = json.loads((out / "model.json").read_text())["config"]
    assert config["observation_shape"] == [6, 5, 3] and config["observation_scale"] == pytest.approx(1 / 255)
    model = sd.load(out)
    assert model.input_size == 90
    images = np.random.default_rng(0).integers(0, 256, size=(4, 6, 5, 3), dtype=np.uint8)
    scaled = images.reshape(4, -1).astype(np.float32) * np.float32(1 / 255)
    core = sd.core_q_values(model, scaled)
    assert np.allclose(model.q_values(images), core, atol=1e-5)
    assert np.allclose(model.q_values(images[0]), core[0], atol=1e-5)
    assert model.predict(images[1])[0] == int(np.argmax(core[1]))
    ev = run("eval", str(out), "--episodes", "1", "--json", "--trust-env", "fixture_envs:ImageEnv")
    assert ev.returncode == 0, ev.stderr


def test_convolutional_teacher_on_minatar_resumes_loads_with_numpy_and_distils(tmp_path):
    """--conv minatar on MinAtar Breakout (10×10×4 bool grids): the model records its
    convolutions (weights in PyTorch's layout), the NumPy loader runs it like the core, --resume
    continues it, and an MLP student distils from it."""
    pytest.importorskip("minatar")
    import swiftdistill as sd
    env = ["--env", "minatar.gym:BaseEnv", "--env-arg", "game=breakout", "--env-arg", "use_minimal_action_set=true"]
    out = tmp_path / "conv"
    r = run("train", *env, "--conv", "minatar", "--hidden", "32", "--steps", "600", "--learning-starts", "100",
            "--eval-interval", "300", "--eval-episodes", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    arch = json.loads((out / "model.json").read_text())["architecture"]
    assert arch["convolutions"] == [{"output_channels": 16, "kernel": 3, "stride": 1, "padding": 0}]
    assert arch["input_shape"] == [10, 10, 4] and arch["input_size"] == 400
    model = sd.load(out)
    assert model.params["convs.0.weight"].shape == (16, 4, 3, 3)
    grids = np.random.default_rng(1).random((6, 10, 10, 4)) > 0.85
    assert np.allclose(model.q_values(grids), sd.core_q_values(model, grids.reshape(6, -1).astype(np.float32)), atol=1e-5)
    # The recorded minatar.gym:BaseEnv is code: named again on --resume, vouched for elsewhere.
    resumed = run("train", "--resume", "--out", str(out), "--steps", "900", "--env", "minatar.gym:BaseEnv")
    assert resumed.returncode == 0 and "900 steps" in resumed.stdout, resumed.stderr
    trust = ["--trust-env", "minatar.gym:BaseEnv"]
    student = run("distill", "--teacher", str(out), "--hidden", "32", "--steps", "600", "--eval-interval", "0",
                  "--out", str(tmp_path / "student"), *trust)
    assert student.returncode == 0, student.stderr
    assert json.loads((tmp_path / "student" / "model.json").read_text())["architecture"].get("convolutions") is None
    assert run("compare", str(out), str(tmp_path / "student"), "--episodes", "1", *trust).returncode == 0
    conv_student = run("distill", "--teacher", str(out), "--conv", "8:3:2", "--hidden", "16", "--steps", "600",
                       "--eval-interval", "0", "--out", str(tmp_path / "conv-student"), *trust)
    assert conv_student.returncode == 0, conv_student.stderr
    student_arch = json.loads((tmp_path / "conv-student" / "model.json").read_text())["architecture"]
    assert student_arch["convolutions"] == [{"output_channels": 8, "kernel": 3, "stride": 2, "padding": 0}]
    small = sd.load(tmp_path / "conv-student")
    assert np.allclose(small.q_values(grids), sd.core_q_values(small, grids.reshape(6, -1).astype(np.float32)), atol=1e-5)
    too_big = run("distill", "--teacher", str(out), "--conv", "8:20", "--out", str(tmp_path / "too-big"), *trust)
    assert "has a 20×20 kernel but its input is only 10×10" in error_line(too_big)
    # ONNX (Conv in NCHW between two transposes) gives the core's Q-values on raw grids.
    ort = pytest.importorskip("onnxruntime")
    exported = run("export", str(out), "--output", str(tmp_path / "m.onnx"))
    assert exported.returncode == 0, exported.stderr
    q, action = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"observation": grids.astype(np.float32)})
    assert np.allclose(q, model.q_values(grids), atol=1e-5) and (action == model.act(grids)).all()
    with pytest.raises(ValueError, match="to_sb3 exports MLP models"):
        model.to_sb3(tmp_path / "m")
    # A layout neither reader knows is refused by both, in one sentence.
    import shutil
    shutil.copytree(out, tmp_path / "bad-layout", ignore=shutil.ignore_patterns("last", "tensorboard"))
    manifest = json.loads((tmp_path / "bad-layout" / "model.json").read_text())
    manifest["architecture"]["input_layout"] = "NCHW"
    (tmp_path / "bad-layout" / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="input_layout must be"):
        sd.load(tmp_path / "bad-layout")
    assert "input_layout is 'NCHW'; it must be \"HWC\" or \"CHW\"" in error_line(run("eval", str(tmp_path / "bad-layout")))
    flat = run("train", "--env", "CartPole-v1", "--conv", "minatar", "--out", str(tmp_path / "bad"))
    assert "--conv needs image or grid observations of shape (height, width, channels)" in error_line(flat)
    bad = run("train", *env, "--conv", "16:x", "--out", str(tmp_path / "bad2"))
    assert "--conv takes OUT:KERNEL[:STRIDE[:PADDING]] specs" in error_line(bad)


def test_atari_frame_stacks_train_channels_first_and_load_with_numpy(tmp_path):
    """ALE/Breakout-v5 under Gymnasium's AtariPreprocessing and FrameStackObservation, named with
    --wrapper: (4, 84, 84) uint8 frame stacks are channels-first, so the model records
    input_layout CHW and the wrappers; the NumPy loader runs it like the core on real frames, and
    eval reopens the same wrapped environment."""
    pytest.importorskip("ale_py")
    pytest.importorskip("cv2")
    import gymnasium as gym
    import ale_py
    import swiftdistill as sd
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation
    out = tmp_path / "atari"
    r = run("train", "--env", "ALE/Breakout-v5", "--env-arg", "frameskip=1", "--wrapper", "AtariPreprocessing(frame_skip=4)",
            "--wrapper", "FrameStackObservation(stack_size=4)", "--conv", "nature", "--hidden", "32", "--steps", "300",
            "--learning-starts", "280", "--batch-size", "4", "--buffer-size", "1000", "--eval-interval", "0", "--out", str(out))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "model.json").read_text())
    arch = manifest["architecture"]
    assert arch["input_layout"] == "CHW" and arch["input_shape"] == [84, 84, 4] and arch["input_size"] == 4 * 84 * 84
    assert [w["name"] for w in manifest["environment_wrappers"]] == ["AtariPreprocessing", "FrameStackObservation"]
    assert manifest["config"]["observation_shape"] == [4, 84, 84]
    gym.register_envs(ale_py)
    env = FrameStackObservation(AtariPreprocessing(gym.make("ALE/Breakout-v5", frameskip=1), frame_skip=4), stack_size=4)
    frames = []
    obs, _ = env.reset(seed=3)
    for t in range(3):
        frames.append(obs)
        obs, *_ = env.step(1 + t % 3)
    frames = np.stack(frames)
    assert frames.shape == (3, 4, 84, 84) and frames.dtype == np.uint8 and frames.max() > 0
    model = sd.load(out)
    core = sd.core_q_values(model, frames.reshape(3, -1).astype(np.float32) / 255)
    assert np.allclose(model.q_values(frames), core, atol=1e-5)
    assert model.act(frames[0]) == int(np.argmax(core[0]))
    # The layout matters: the same values laid out channels-last give other Q-values.
    hwc = model.q_values(frames.transpose(0, 2, 3, 1).copy().reshape(3, 4, 84, 84))
    assert not np.allclose(hwc, core, atol=1e-5)
    torch = pytest.importorskip("torch")
    exported = run("export", str(out), "--format", "torch", "--output", str(tmp_path / "atari.pt"))
    assert exported.returncode == 0, exported.stderr
    scripted = torch.jit.load(str(tmp_path / "atari.pt"))  # raw uint8 frames in, scaled inside
    assert np.allclose(scripted(torch.from_numpy(frames.astype(np.float32))).detach().numpy(), core, atol=1e-5)
    ev = run("eval", str(out), "--episodes", "1", "--json")
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["env"].endswith("AtariPreprocessing(frame_skip=4) + FrameStackObservation(stack_size=4)")
    bad = run("train", "--env", "CartPole-v1", "--wrapper", "Frame Stack", "--out", str(tmp_path / "bad"))
    assert "--wrapper takes one of Gymnasium's wrappers by name" in error_line(bad)
    missing = run("train", "--env", "CartPole-v1", "--wrapper", "NoSuchWrapper", "--out", str(tmp_path / "bad2"))
    assert "gymnasium.wrappers has no wrapper named 'NoSuchWrapper'" in error_line(missing)


def test_ids_from_packages_that_register_on_demand_and_from_the_old_gym(tmp_path):
    """MinAtar/Breakout-v1 needs minatar.gym.register_envs(), ALE ids need ale_py imported:
    --env finds both without the user importing anything. An id registered only with the
    old `gym` package opens through gym.make and its old step API."""
    pytest.importorskip("minatar")
    out = tmp_path / "minatar"
    r = run("train", "--env", "MinAtar/Breakout-v1", "--conv", "minatar", "--hidden", "16", "--steps", "200",
            "--learning-starts", "150", "--eval-interval", "0", "--out", str(out))
    assert r.returncode == 0, r.stderr
    ev = run("eval", str(out), "--episodes", "1", "--json")
    assert ev.returncode == 0 and json.loads(ev.stdout)["env"] == "MinAtar/Breakout-v1", ev.stderr
    unknown = run("train", "--env", "MinAtar/Pong-v1", "--out", str(tmp_path / "none"))
    assert "Unknown environment id 'MinAtar/Pong-v1'" in error_line(unknown)
    oldgym = ROOT / ".venv" / "oldgym"
    if not (oldgym / "gym").is_dir():
        pytest.skip("the old gym package is not in .venv/oldgym (make setup with SETUP_TEST_TOOLS=1 puts it there)")
    (tmp_path / "old_registry.py").write_text(
        "import gym, numpy as np\n"
        "from gym import spaces\n"
        "class Walk(gym.Env):\n"
        "    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)\n"
        "    action_space = spaces.Discrete(2)\n"
        "    def reset(self, seed=None, options=None):\n"
        "        self.t = 0\n"
        "        return np.zeros(2, np.float32), {}\n"
        "    def step(self, action):\n"
        "        self.t += 1\n"
        "        return np.array([self.t / 10, action], np.float32), float(action), self.t >= 10, False, {}\n"
        "gym.register(id='OldWalk-v0', entry_point='old_registry:Walk')\n")
    path = os.pathsep.join([str(tmp_path), str(oldgym), str(FIXTURES)])
    r = run("train", "--env", "old_registry:OldWalk-v0", "--hidden", "8", "--steps", "200", "--learning-starts", "100",
            "--eval-interval", "0", "--out", str(tmp_path / "old"), env={"PYTHONPATH": path})
    assert r.returncode == 0, r.stderr
    ev = run("eval", str(tmp_path / "old"), "--env", "old_registry:OldWalk-v0", "--episodes", "2", "--json", env={"PYTHONPATH": path})
    assert ev.returncode == 0, ev.stderr
    assert len(json.loads(ev.stdout)["returns"]) == 2


def test_bench_nn_measures_a_convolutional_network():
    r = run("bench", "nn", "--conv", "minatar", "--hidden", "16", "--batch", "8", "--seconds", "0.05", "--no-torch", "--json")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["net"] == "10×10×4→conv16:3:1→16→3" and row["updates_per_s"] > 0 and row["gflops"] > 0
    bad = run("bench", "nn", "--conv", "8:20", "--no-torch")
    assert "has a 20×20 kernel but its input is only 10×10" in error_line(bad)


def test_version_and_the_packages_distill_command():
    """`distill --version` prints the Python package's version, and the package's `distill`
    console script (what `pip install` puts beside the venv's python) runs the same tool."""
    import swiftdistill
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == swiftdistill.__version__, r
    script = ROOT / ".venv" / "bin" / "distill"
    assert script.exists(), "set-up installs python/ with its console script"
    via = subprocess.run([str(script), "--version"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert via.returncode == 0 and via.stdout.strip() == swiftdistill.__version__, via


def test_train_on_several_environments_and_resume(tmp_path):
    """--n-envs 3: every step acts in three copies and counts three timesteps; evaluations and
    checkpoints fall on the first step past each interval; a stopped run resumes with its copies."""
    out = tmp_path / "vector"
    r = run("train", *CORRIDOR, "--n-envs", "3", "--steps", "900", "--eval-interval", "200", "--eval-episodes", "2",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    state = json.loads((out / "last" / "state.json").read_text())
    assert state["config"]["environment_count"] == 3 and state["state"]["step"] == 900
    rows = (out / "metrics.csv").read_text().splitlines()
    evals = [int(line.split(",")[0]) for line in rows[1:] if line.split(",")[1] == "eval"]
    assert evals == [201, 402, 600, 801, 900], "each evaluation on the first step (of 3 timesteps) past a multiple of 200"
    episodes = [int(line.split(",")[0]) for line in rows[1:] if line.split(",")[1] == "episode"]
    assert episodes and all(step % 3 == 0 for step in episodes)
    r = run("train", "--out", str(out), "--resume", "--steps", "1200")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "last" / "state.json").read_text())["state"]["step"] == 1200


def test_environments_in_worker_processes_step_together_to_the_same_run(tmp_path):
    """With --env-isolation process each copy runs in its own worker and the copies step at the
    same time (each begun, then each ended): the run is the in-process one, bit for bit."""
    runs = {}
    for isolation in ("none", "process"):
        out = tmp_path / isolation
        r = run("train", "--env", "CartPole-v1", "--n-envs", "3", "--steps", "1500", "--learning-starts", "300",
                "--train-frequency", "4", "--gradient-steps", "4", "--hidden", "16", "--eval-interval", "0",
                "--env-isolation", isolation, "--out", str(out))
        assert r.returncode == 0, r.stderr
        runs[isolation] = out
    for f in sorted(p.name for p in runs["none"].glob("*.npy")):
        assert (runs["none"] / f).read_bytes() == (runs["process"] / f).read_bytes(), f
    episodes = [[line.split(",")[:5] for line in (runs[k] / "metrics.csv").read_text().splitlines() if ",episode," in line]
                for k in ("none", "process")]
    assert episodes[0] == episodes[1] and len(episodes[0]) > 10


def test_discrete_observations_are_one_hot(tmp_path):
    """A Discrete observation space (FrozenLake's cell) is read one-hot, as SB3 encodes it: the
    model records it, the NumPy loader encodes integers the same way (the core's outputs on the
    one-hot rows match the loader's on the integers), and `distill eval` acts as the loader's policy."""
    import numpy as np
    import swiftdistill as sd
    out = tmp_path / "frozen"
    r = run("train", "--env", "FrozenLake-v1", "--env-arg", "is_slippery=False", "--steps", "1500", "--learning-starts", "200",
            "--train-frequency", "4", "--gradient-steps", "1", "--hidden", "16", "--batch-size", "32", "--eval-interval", "0",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    model = sd.load(out)
    assert model.input_size == 16 and model.manifest["config"]["observation_one_hot_start"] == 0
    states = np.arange(16)
    core = sd.core_q_values(model, np.eye(16, dtype=np.float32))
    assert np.allclose(core, model.q_values(states), atol=1e-5) and np.array_equal(core.argmax(axis=1), model.act(states))
    assert isinstance(model.predict(5)[0], int) and model.act(states).shape == (16,)
    with pytest.raises(ValueError, match="Discrete"):
        model.q_values(16)
    r = run("eval", str(out), "--episodes", "3", "--seed", "100", "--json")
    assert r.returncode == 0, r.stderr
    import gymnasium
    returns = sd.evaluate(model, lambda: gymnasium.make("FrozenLake-v1", is_slippery=False), n_eval_episodes=3, seed=100,
                          return_episode_rewards=True)[0]
    assert json.loads(r.stdout)["returns"] == list(returns)


@pytest.mark.parametrize("keep", [True, False])
def test_checkpoint_replay_keeps_the_buffer_as_numpy_reads_it_and_resume_samples_it(tmp_path, keep):
    """--checkpoint-replay writes the replay buffer into last/ as plain .npy files (each frame
    once, per slot its frame ids): NumPy reads transitions that chain within episodes. A resumed
    run then trains from its first round; without the buffer it waits to refill one batch."""
    out = tmp_path / "run"
    settings = ["--env", "CartPole-v1", "--hidden", "16", "--learning-starts", "100", "--train-frequency", "4",
                "--gradient-steps", "1", "--batch-size", "32", "--eval-interval", "0", "--seed", "3"]
    r = run("train", *settings, "--steps", "600", *(["--checkpoint-replay"] if keep else []), "--out", str(out))
    assert r.returncode == 0, r.stderr
    last = out / "last"
    assert (last / "replay.json").exists() == keep
    if keep:
        layout = json.loads((last / "replay.json").read_text())
        assert layout["count"] == 600 and layout["position"] == 600 and layout["capacity"] == 100_000  # rl-zoo's CartPole buffer
        frames, ids = np.load(last / "replay.frames.npy"), np.load(last / "replay.frame_ids.npy")
        assert frames.dtype == np.float32 and ids.shape == (600, 2, 1)
        obs, nxt = frames[ids[:, 0, 0]], frames[ids[:, 1, 0]]
        discounts = np.load(last / "replay.discounts.npy")
        assert set(np.unique(discounts)) <= {0.0, np.float32(0.99)} and (discounts == 0).any()
        assert set(np.unique(np.load(last / "replay.actions.npy"))) <= {0, 1}
        assert (np.load(last / "replay.rewards.npy") == 1).all()
        # Within an episode the next observation is the next transition's observation; a
        # terminal transition is followed by a new episode's first one.
        going_on = discounts[:-1] != 0
        assert (obs[1:][going_on] == nxt[:-1][going_on]).all()
        assert not (obs[1:][~going_on] == nxt[:-1][~going_on]).all(axis=1).any()
        episodes = len((out / "monitor.csv").read_text().splitlines()) - 2
        assert (discounts == 0).sum() == episodes, "every episode here ends terminated, before CartPole's time limit"
        # A damaged buffer (an action CartPole does not have) is refused in a sentence.
        import shutil
        damaged = tmp_path / "damaged"
        shutil.copytree(out, damaged)
        np.save(damaged / "last" / "replay.actions.npy", np.full(600, 7, dtype=np.int32))
        said = run("train", "--resume", "--out", str(damaged), "--steps", "900")
        assert said.returncode != 0 and "its replay buffer holds actions outside the environment's 2; remove the replay.* " \
            "files from last/ to resume with an empty buffer" in error_line(said)
    resumed = run("train", "--resume", "--out", str(out), "--steps", "900")
    assert resumed.returncode == 0, resumed.stderr
    steps = json.loads((last / "state.json").read_text())["state"]["gradientSteps"]
    # Rounds every 4 steps past step 100: 125 by step 600; then 75 more (604 … 900) with the
    # buffer, or 67 (636 … 900) after waiting for a batch (past step 632) without it.
    assert steps == 125 + (75 if keep else 67)
    # The buffer's files are the run's own: --force replaces the run.
    again = run("train", *settings, "--steps", "200", "--out", str(out), "--force")
    assert again.returncode == 0, again.stderr
    assert not (last / "replay.json").exists()
