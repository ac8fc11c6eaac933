"""Round two of hostile input (issue 28): each case is tried as a user would, and must end in
one sentence (exit status 1, 2 or 64) with nothing lost and nothing imported from data."""
import json
import os
import shutil
import signal
import stat
import subprocess

import numpy as np
import pytest

from test_cli import CORRIDOR, DISTILL, FIXTURES, ROOT, corridor_teacher, error_line, run  # noqa: F401 (a fixture)


@pytest.mark.parametrize("how, cause", [("segfault", "was killed by SIGSEGV"), ("exit", "exited with status 3")])
def test_an_environment_that_kills_its_process_is_one_sentence_with_isolation(tmp_path, how, cause):
    out = tmp_path / "r"
    r = run("train", "--env", "fixture_envs:CrashingEnv", "--env-arg", "at=700", "--env-arg", f"how={how}",
            "--steps", "2000", "--learning-starts", "100", "--eval-interval", "0", "--checkpoint-interval", "300",
            "--env-isolation", "process", "--out", str(out))
    assert r.returncode == 1, r.stderr
    line = error_line(r)
    assert f"the worker process running fixture_envs:CrashingEnv {cause} during step" in line, r.stderr
    assert "of episode" in line
    state = json.loads((out / "last" / "state.json").read_text())["state"]
    assert 0 < state["step"] < 700, "the last checkpoint before the crash is kept"


def test_without_isolation_a_crash_says_how_to_isolate(tmp_path):
    r = run("train", "--env", "fixture_envs:CrashingEnv", "--env-arg", "at=300", "--steps", "1000",
            "--eval-interval", "0", "--out", str(tmp_path / "r"))
    assert r.returncode == -signal.SIGSEGV, r.returncode
    assert "distill crashed. If the environment's own code crashed" in r.stderr
    assert "--env-isolation process" in r.stderr


@pytest.mark.parametrize("env", [
    ["--env", "fixture_envs:LineWorld", "--env-arg", "n=4"],
    # Wrappers are applied in the worker, beside the environment they wrap.
    ["--env", "MountainCar-v0", "--wrapper", "RescaleObservation(max_obs=1, min_obs=-1)"],
])
def test_an_isolated_environment_trains_the_same_weights(tmp_path, env):
    args = ["train", *env, "--hidden", "16", "--steps", "600", "--learning-starts", "100", "--eval-interval", "300",
            "--eval-episodes", "1"]
    plain, isolated = tmp_path / "plain", tmp_path / "isolated"
    assert run(*args, "--out", str(plain)).returncode == 0
    r = run(*args, "--env-isolation", "process", "--out", str(isolated))
    assert r.returncode == 0, r.stderr
    for entry in json.loads((plain / "model.json").read_text())["tensors"]:
        assert (plain / entry["file"]).read_bytes() == (isolated / entry["file"]).read_bytes()


@pytest.mark.parametrize("flag, words", [
    (["--gradient-steps=1e12"], "--gradient-steps must be at most 100000"),
    (["--n-step=1e12"], "--n-step must be at most 1000"),
    (["--conv", "4:3:1:99999999"], "is too large: at most 65536 output channels"),
    (["--conv", "99999999:3"], "is too large"),
    (["--steps", "1e13"], "--steps must be at most 1000000000000"),
    (["--threads", "3"], "--threads must be 1 or 2"),
    (["--threads", "1000000"], "--threads must be 1 or 2"),
])
def test_counts_beyond_their_bounds_are_refused_before_allocating(tmp_path, flag, words):
    r = run("train", *CORRIDOR, *flag, "--out", str(tmp_path / "r"))
    assert r.returncode in (1, 64) and words in error_line(r), r.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flag, words", [
    ("--updates-per-step=1e12", "--updates-per-step must be at most 10000"),
    ("--final-updates=1e12", "--final-updates must be at most 100000000"),
])
def test_distillation_update_counts_are_bounded(tmp_path, corridor_teacher, flag, words):
    r = run("distill", "--teacher", str(corridor_teacher), flag, "--out", str(tmp_path / "s"))
    assert r.returncode in (1, 64) and words in error_line(r), r.stderr


def test_the_progress_line_counts_past_two_to_the_31(tmp_path):
    # A run of 3e9 steps on a terminal (a pty: the live line), stopped by SIGINT once it shows.
    import pty
    master, slave = pty.openpty()
    proc = subprocess.Popen([DISTILL, "train", *CORRIDOR, "--steps", "3000000000", "--eval-interval", "0",
                             "--out", str(tmp_path / "r")], stdout=slave, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=str(FIXTURES)), cwd=ROOT)
    os.close(slave)
    seen = b""
    try:
        while b"/3000000000 (" not in seen and b"/-" not in seen and proc.poll() is None:
            seen += os.read(master, 4096)
    except OSError:
        pass
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    os.close(master)
    assert b"/3000000000 (" in seen, seen[-500:]


@pytest.mark.parametrize("name, text, words", [
    ("bomb.yml", "a: &a [1, 2, 3]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n", "uses YAML anchors or aliases"),
    ("object.json", '{"learning_rate": {"x": 1}}', "learning_rate must be a number"),
    ("gamma.json", '{"gamma": 2}', "gamma must be in (0, 1]"),
    ("gamma.yml", "gamma: 2\n", "gamma must be in (0, 1]"),
])
def test_config_files_are_worded_with_the_files_key(tmp_path, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    r = run("train", *CORRIDOR, "--config", str(path), "--out", str(tmp_path / "r"))
    line = error_line(r)
    assert r.returncode == 1 and f"The config file {path} cannot be used" in line and words in line, r.stderr
    assert "--gamma" not in line and "--learning-rate" not in line


def test_a_model_with_non_finite_weights_is_refused_everywhere(tmp_path, corridor_teacher):
    bad = tmp_path / "nan"
    shutil.copytree(corridor_teacher, bad)
    manifest = json.loads((bad / "model.json").read_text())
    entry = next(t for t in manifest["tensors"] if t["name"] == "layers.1.weight")
    weights = np.load(bad / entry["file"])
    weights[0, 0] = np.inf
    np.save(bad / entry["file"], weights)
    for t in manifest["tensors"]:
        t.pop("checksum", None)
    (bad / "model.json").write_text(json.dumps(manifest))
    for args in (["eval", str(bad)], ["compare", str(bad), str(corridor_teacher)], ["compare", str(corridor_teacher), str(bad)],
                 ["export", str(bad), "--format", "npy", "--output", str(tmp_path / "out")],
                 ["distill", "--teacher", str(bad), "--out", str(tmp_path / "s")]):
        r = run(*args)
        assert r.returncode == 1 and "holds NaN or infinite values (tensor layers.1.weight)" in error_line(r), (args, r.stderr)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_output_directory_is_named_as_such(tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        r = run("train", *CORRIDOR, "--steps", "300", "--out", str(out / "r"))
        assert "permission denied" in error_line(r) and "Another run" not in error_line(r), r.stderr
    finally:
        out.chmod(stat.S_IRWXU)


def test_an_output_path_under_a_regular_file_is_named_as_such(tmp_path):
    (tmp_path / "file").write_text("x")
    r = run("train", *CORRIDOR, "--steps", "300", "--out", str(tmp_path / "file" / "r"))
    line = error_line(r)
    assert r.returncode == 1 and f"{tmp_path / 'file'} is a regular file, not a directory" in line, r.stderr
    assert "NSCocoaErrorDomain" not in line


def test_resume_refuses_another_environment(tmp_path):
    out = tmp_path / "r"
    assert run("train", *CORRIDOR, "--steps", "300", "--eval-interval", "0", "--out", str(out)).returncode == 0
    r = run("train", "--resume", "--out", str(out), "--steps", "400", "--env", "Acrobot-v1")
    assert r.returncode in (1, 64) and "on its own environment, Corridor-6; drop --env Acrobot-v1" in error_line(r), r.stderr


def test_an_action_space_too_large_for_a_q_network_is_named(tmp_path):
    r = run("train", "--env", "fixture_envs:HugeActionEnv", "--out", str(tmp_path / "r"))
    line = error_line(r)
    assert r.returncode == 1 and "has 1000000000000 actions, and a Q-network has one output per action" in line, r.stderr
    assert "--buffer-size" not in line


def test_force_refuses_a_foreign_file_in_a_subdirectory(tmp_path):
    out = tmp_path / "r"
    assert run("train", *CORRIDOR, "--steps", "300", "--out", str(out)).returncode == 0
    mine = out / "tensorboard" / "mine.txt"
    mine.write_text("my notes")
    r = run("train", *CORRIDOR, "--steps", "300", "--out", str(out), "--force")
    assert r.returncode == 1 and "holds files swift-distill did not write (tensorboard/mine.txt)" in error_line(r), r.stderr
    assert mine.read_text() == "my notes" and (out / "model.json").exists()
