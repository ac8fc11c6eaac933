"""Robust students (issue 30): `distill robustness` measures every model on the same episodes and
noise at each perturbation level, with bootstrap intervals, normalised returns and area scores,
and changes dynamics as Gymnasium would have them (checked against a pure-Python rollout)."""
import csv
import json

import numpy as np
import pytest

from test_cli import corridor_teacher, error_line, run  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def cartpole(tmp_path_factory):
    """A small CartPole-v1 Q-network (a few thousand steps: it balances for a while, not for 500)."""
    out = tmp_path_factory.mktemp("cartpole") / "t"
    r = run("train", "--env", "CartPole-v1", "--steps", "3000", "--hidden", "32", "--learning-starts", "500",
            "--eval-interval", "0", "--seed", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_every_model_meets_the_same_noise(tmp_path, corridor_teacher):
    """The reference twice: identical results at every level (common random numbers); the clean
    level normalises to 1; the files hold what the table says."""
    out = tmp_path / "study"
    r = run("robustness", str(corridor_teacher), str(corridor_teacher), "--episodes", "8", "--obs-noise", "0,0.5,3",
            "--random-actions", "0,1", "--sticky-actions", "none", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report == json.loads((out / "robustness.json").read_text())
    assert [a["axis"]["kind"] for a in report["axes"]] == ["observation_noise", "random_actions"]
    for axis in report["axes"]:
        assert axis["results"][0] == axis["results"][1], "the same model, the same noise: the same returns"
        assert axis["score_difference_ci"] == [[0, 0], [0, 0]], "paired: a copy of the reference differs by nothing"
        clean = axis["results"][0][0]
        assert clean["mean"] == report["reference_mean_return"] and clean["normalized_return"] == 1.0
        for level in axis["results"][0]:
            assert level["ci_low"] <= level["mean"] <= level["ci_high"] and len(level["returns"]) == 8
    random = report["axes"][1]["results"][0][1]
    assert abs(random["normalized_return"]) < 0.5, "all-random actions earn about what a random policy does"
    rows = list(csv.DictReader((out / "robustness.csv").open()))
    assert len(rows) == 2 * (3 + 2) and rows[0]["perturbation"] == "observation_noise"
    assert float(rows[0]["mean_return"]) == report["reference_mean_return"]
    png = (out / "robustness.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_attribute_level_changes_the_dynamics_as_gymnasium_would(tmp_path, cartpole):
    """--vary length=…: each level's returns equal a pure-Python rollout of the same model (the
    NumPy loader's greedy actions) on CartPole with that pole length, the same seeds."""
    import gymnasium as gym
    import swiftdistill as sd
    r = run("robustness", str(cartpole), "--episodes", "4", "--obs-noise", "none", "--random-actions", "none",
            "--sticky-actions", "none", "--vary", "length=0.5,1.5", "--json")
    assert r.returncode == 0, r.stderr
    axis = json.loads(r.stdout)["axes"][0]
    assert axis["axis"] == {"kind": "dynamics", "levels": [0.5, 1.5], "parameter": "length"}
    model = sd.load(cartpole)
    for level, result in zip([0.5, 1.5], axis["results"][0]):
        env = gym.make("CartPole-v1")
        u = env.unwrapped
        u.length = level
        u.total_mass = u.masspole + u.masscart
        u.polemass_length = u.masspole * u.length
        returns = []
        for seed in range(100, 104):
            obs, _ = env.reset(seed=seed)
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(model.act(obs))
                total += reward
                done = terminated or truncated
            returns.append(total)
        assert result["returns"] == returns, level
    assert axis["results"][0][0]["returns"] != axis["results"][0][1]["returns"], "a longer pole changes the episodes"


def test_a_keyword_level_remakes_the_environment(tmp_path, cartpole):
    """A name that is not an attribute goes to gymnasium.make: max_episode_steps=5 cuts every episode to 5."""
    r = run("robustness", str(cartpole), "--episodes", "3", "--obs-noise", "none", "--random-actions", "none",
            "--sticky-actions", "none", "--vary", "max_episode_steps=5,8", "--json")
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)["axes"][0]["results"][0]
    assert [max(x["returns"]) for x in results] == [5.0, 8.0]


def test_the_preset_the_table_and_noise_that_costs_return(cartpole):
    r = run("robustness", str(cartpole), "--episodes", "4", "--preset", "--obs-noise", "0,3", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    noise = report["axes"][0]["results"][0]
    assert noise[1]["returns"] != noise[0]["returns"], "three spreads of noise change the episodes"
    assert report["axes"][-1]["axis"]["parameter"] == "length"
    assert len(report["observation_spread"]) == 4 and min(report["observation_spread"]) > 0
    table = run("robustness", str(cartpole), "--episodes", "2", "--preset", "--obs-noise", "0,0.1")
    assert "dynamics:length (length)" in table.stdout and "observation_noise (σ / spread)" in table.stdout
    assert "score" in table.stdout and "[95% paired interval]" in table.stdout


@pytest.mark.parametrize("args, words", [
    (["--sticky-actions", "0,1.5"], "--sticky-actions levels are probabilities from 0 to 1"),
    (["--obs-noise", "0,200"], "--obs-noise levels are fractions of each value's spread, from 0 to 100"),
    (["--obs-noise", "a,b"], "--obs-noise takes comma-separated numbers (or none)"),
    (["--vary", "length"], "--vary takes NAME=v1,v2,…"),
    (["--preset"], "there is no preset dynamics change for Corridor-6"),
    (["--obs-noise", "none", "--random-actions", "none", "--sticky-actions", "none"], "every perturbation is 'none'"),
    (["--vary", "length=0.5,1"], "Corridor-6 is built in and has no parameters to vary"),
])
def test_bad_requests_are_one_sentence(corridor_teacher, args, words):
    r = run("robustness", str(corridor_teacher), "--episodes", "2", *args)
    assert words in error_line(r), r.stderr


def test_the_python_api_returns_arrays_and_the_clis_numbers(cartpole):
    import swiftdistill as sd
    report = sd.robustness([cartpole, sd.load(cartpole)], episodes=3, obs_noise=[0, 1], random_actions=None,
                           sticky_actions=[], vary={"length": [0.5, 1.5]})
    assert [a["kind"] for a in report["axes"]] == ["observation_noise", "dynamics"]
    noise, length = report["axes"]
    assert noise["mean"].shape == (2, 2) and noise["returns"].shape == (2, 2, 3) and noise["score"].shape == (2,)
    assert np.array_equal(noise["returns"][0], noise["returns"][1]), "one model twice: the same episodes"
    assert noise["score_difference_ci"].shape == (2, 2) and not noise["score_difference_ci"].any()
    assert length["parameter"] == "length" and np.array_equal(length["levels"], [0.5, 1.5])
    cli = json.loads(run("robustness", str(cartpole), "--episodes", "3", "--obs-noise", "0,1", "--random-actions", "none",
                         "--sticky-actions", "none", "--vary", "length=0.5,1.5", "--json").stdout)
    assert [[r["returns"] for r in a["results"][0]] for a in cli["axes"]] == [a["returns"][0].tolist() for a in report["axes"]]
    with pytest.raises(ValueError, match="sticky_actions levels are probabilities from 0 to 1"):
        sd.robustness([cartpole], sticky_actions=[2])


def student_weights(path):
    manifest = json.loads((path / "model.json").read_text())
    return [np.load(path / t["file"]) for t in manifest["tensors"]], manifest["config"]


@pytest.mark.parametrize("robust", [["--state-noise", "0.3"], ["--adversarial-epsilon", "0.1", "--adversarial-steps", "3"],
                                    ["--collect-perturbation", "sticky_actions:0.5"],
                                    ["--collect-perturbation", "observation_noise:0.5"]])
def test_robust_distillation_is_reproducible_and_changes_the_student(tmp_path, corridor_teacher, robust):
    common = ["distill", "--teacher", str(corridor_teacher), "--hidden", "16", "--steps", "800", "--eval-interval", "0",
              "--seed", "4"]
    for name, extra in (("a", robust), ("b", robust), ("plain", [])):
        r = run(*common, *extra, "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
    a, config = student_weights(tmp_path / "a")
    b, _ = student_weights(tmp_path / "b")
    plain, _ = student_weights(tmp_path / "plain")
    assert all(np.array_equal(x, y) for x, y in zip(a, b)), "the same seed, the same robust student"
    assert not all(np.array_equal(x, y) for x, y in zip(a, plain)), "the perturbed states change the student"
    key = robust[0][2:].replace("-", "_")
    assert config[key] == (robust[1] if key == "collect_perturbation" else float(robust[1]))


@pytest.mark.parametrize("args, words", [
    (["--loss", "kl,feature", "--adversarial-epsilon", "0.1"], "--adversarial-epsilon relabels moved states by the teacher's outputs only"),
    (["--collect-perturbation", "sticky:0.2"], "--collect-perturbation takes random_actions:P or sticky_actions:P"),
    (["--collect-perturbation", "random_actions:2"], "--collect-perturbation takes random_actions:P or sticky_actions:P"),
    (["--collect-perturbation", "observation_noise:-1"], "observation_noise:S with S spreads from 0 to 100"),
    (["--collect-perturbation", "dynamics:length"], "or dynamics:NAME=V1,V2,… (at most one of each kind, joined by +)"),
    (["--state-noise", "-1"], "--state-noise"),
])
def test_bad_robust_settings_are_one_sentence(tmp_path, corridor_teacher, args, words):
    r = run("distill", "--teacher", str(corridor_teacher), *args, "--out", str(tmp_path / "x"))
    assert words in error_line(r), r.stderr
    assert not (tmp_path / "x").exists()


def test_multi_task_distillation_refuses_robust_settings(tmp_path, corridor_teacher):
    r = run("distill", "--teacher", f"a={corridor_teacher}", "--teacher", f"b={corridor_teacher}", "--state-noise", "0.2",
            "--out", str(tmp_path / "mt"))
    assert "trains on its tasks' clean states" in error_line(r), r.stderr


def test_an_attribute_with_environment_isolation_is_one_sentence(cartpole):
    r = run("robustness", str(cartpole), "--episodes", "2", "--obs-noise", "none", "--random-actions", "none",
            "--sticky-actions", "none", "--vary", "length=0.5,1", "--env-isolation", "process")
    assert "so length could only be a gymnasium.make keyword" in error_line(r), r.stderr
    keyword = run("robustness", str(cartpole), "--episodes", "2", "--obs-noise", "none", "--random-actions", "none",
                  "--sticky-actions", "none", "--vary", "max_episode_steps=5", "--env-isolation", "process", "--json")
    assert keyword.returncode == 0 and max(json.loads(keyword.stdout)["axes"][0]["results"][0][0]["returns"]) == 5.0


def test_jobs_give_the_one_process_report(tmp_path, corridor_teacher):
    """--jobs 2: the models after the first measured in two processes, merged in the order given."""
    students = []
    for seed in (1, 2, 3):
        out = tmp_path / f"s{seed}"
        assert run("distill", "--teacher", str(corridor_teacher), "--hidden", "8", "--steps", "300", "--eval-interval", "0",
                   "--seed", str(seed), "--out", str(out)).returncode == 0
        students.append(str(out))
    args = ["robustness", str(corridor_teacher), *students, "--episodes", "4", "--obs-noise", "0,1", "--sticky-actions", "none",
            "--random-actions", "0,0.5", "--json"]
    one = run(*args)
    two = run(*args, "--jobs", "2")
    assert one.returncode == 0 and two.returncode == 0, two.stderr
    assert json.loads(one.stdout) == json.loads(two.stdout)
    # The package's console script runs in Python: its workers are that Python's, not a `distill` binary.
    import subprocess
    from test_cli import ROOT
    via = subprocess.run([str(ROOT / ".venv" / "bin" / "distill"), *args, "--jobs", "2"], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert via.returncode == 0, via.stderr
    assert json.loads(via.stdout) == json.loads(one.stdout)
    # And from Python: sd.robustness(jobs=2) gives the one-process report's arrays.
    import swiftdistill as sd
    kwargs = dict(episodes=4, obs_noise=[0, 1], sticky_actions=None, random_actions=[0, 0.5])
    alone, split = sd.robustness([corridor_teacher, *students], **kwargs), sd.robustness([corridor_teacher, *students], jobs=2, **kwargs)
    assert [a["kind"] for a in split["axes"]] == ["observation_noise", "random_actions"]
    for a, b in zip(alone["axes"], split["axes"]):
        assert np.array_equal(a["returns"], b["returns"]) and np.array_equal(a["score"], b["score"])
        assert np.array_equal(a["score_difference_ci"], b["score_difference_ci"]) and a["score_difference_ci"].shape == (4, 2)
        assert a["returns"].shape == (4, 2, 4)
    with pytest.raises(ValueError, match="jobs must be an integer from 1 to 64"):
        sd.robustness([corridor_teacher], jobs=0)


def test_codistillation_refuses_a_perturbed_collection(tmp_path):
    from test_cli import CORRIDOR
    r = run("codistill", *CORRIDOR, "--total-steps", "500", "--student-collect-perturbation", "sticky_actions:0.2",
            "--out", str(tmp_path / "co"))
    assert "--student-collect-perturbation has no collection to perturb" in error_line(r), r.stderr


def test_collection_under_changed_dynamics(tmp_path, cartpole):
    """`dynamics:length=…` collects each episode at the next pole length: reproducible, a different
    student from plain collection, recorded; a parameter CartPole lacks is one sentence before any step."""
    common = ["distill", "--teacher", str(cartpole), "--hidden", "8", "--steps", "600", "--eval-interval", "0", "--seed", "2"]
    varied = ["--collect-perturbation", "dynamics:length=0.5,2.0+sticky_actions:0.1"]
    for name, extra in (("a", varied), ("b", varied), ("plain", ["--collect-perturbation", "sticky_actions:0.1"])):
        r = run(*common, *extra, "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
    a, config = student_weights(tmp_path / "a")
    b, _ = student_weights(tmp_path / "b")
    plain, _ = student_weights(tmp_path / "plain")
    assert all(np.array_equal(x, y) for x, y in zip(a, b)), "the same seed, the same student"
    assert not all(np.array_equal(x, y) for x, y in zip(a, plain)), "the longer pole's states change the student"
    assert config["collect_perturbation"] == varied[1]
    r = run(*common, "--collect-perturbation", "dynamics:lenght=0.5,1", "--out", str(tmp_path / "bad"))
    assert "CartPole-v1 has no attribute 'lenght' and does not take it as a gymnasium.make keyword" in error_line(r), r.stderr
    assert not (tmp_path / "bad").exists()


def test_python_collects_under_changed_dynamics_as_the_cli_does(tmp_path, cartpole):
    """The same student from the CLI, from Python with the recorded environment, and from Python
    with a Gymnasium instance (copied once per level); a dynamics keyword cannot reach a factory's
    environment, and says so."""
    import gymnasium
    import swiftdistill as sd
    perturbation = "dynamics:length=0.5,2.0"
    r = run("distill", "--teacher", str(cartpole), "--hidden", "8", "--steps", "400", "--eval-interval", "0", "--seed", "3",
            "--collect-perturbation", perturbation, "--out", str(tmp_path / "cli"))
    assert r.returncode == 0, r.stderr
    settings = dict(hidden=[8], steps=400, eval_interval=0, seed=3, collect_perturbation=perturbation, progress=False)
    sd.distill(cartpole, out=tmp_path / "py", **settings)
    sd.distill(cartpole, env=gymnasium.make("CartPole-v1"), out=tmp_path / "instance", **settings)
    cli, _ = student_weights(tmp_path / "cli")
    for name in ("py", "instance"):
        weights, config = student_weights(tmp_path / name)
        assert all(np.array_equal(x, y) for x, y in zip(cli, weights)), name
        assert config["collect_perturbation"] == perturbation
    with pytest.raises(Exception, match="cannot reach an environment you make yourself"):
        sd.distill(cartpole, env=lambda: gymnasium.make("CartPole-v1"), out=tmp_path / "factory",
                   **{**settings, "collect_perturbation": "dynamics:sutton_barto_reward=True,False"})
