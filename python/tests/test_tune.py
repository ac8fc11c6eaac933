"""Studies and sweeps: a small Optuna study run with two jobs, continued, killed and interrupted;
its best settings accepted by the CLI; a distillation study's Pareto front; a sweep's aggregates;
IQM and stratified bootstrap against hand-worked numbers."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from swiftdistill._stats import iqm, stratified_bootstrap_ci, summarise

optuna = pytest.importorskip("optuna")

ROOT = Path(__file__).resolve().parents[2]
DISTILL = os.environ.get("DISTILL", str(ROOT / ".build" / "release" / "distill"))
QUICK = ["--set", "learning_starts=500", "--set", "train_frequency=4", "--set", "gradient_steps=1",
         "--set", "target_update_interval=500"]
SPACE = {"learning_rate": {"float": [5e-4, 5e-3], "log": True}, "hidden_sizes": {"choices": ["32", "64,64"]},
         "exploration_fraction": {"float": [0.1, 0.3]}}


def tune_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "swiftdistill.study", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_iqm_and_stratified_bootstrap_by_hand():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == 4.5          # cut 2 from each end: mean of 3, 4, 5, 6
    assert iqm([10, 1, 7, 3]) == 5.0                       # cut 1 from each end: mean of 3 and 7
    assert iqm([4, 8, 9]) == 7.0                           # ⌊3/4⌋ = 0: the plain mean
    assert iqm(list(range(10))) == pytest.approx(np.mean([2, 3, 4, 5, 6, 7]))  # cut ⌊2.5⌋ = 2
    # Stratified: each task keeps its run count, so two constant tasks always pool to the same mean.
    ci = stratified_bootstrap_ci({"a": [0, 0, 0], "b": [10, 10, 10]}, lambda x: float(np.mean(x)), reps=500)
    assert ci == {"low": 5.0, "high": 5.0}
    # One task [0, 10]: a resample's mean is 0, 5 or 10 with chances 1/4, 1/2, 1/4; the 95% interval spans both ends.
    ci = stratified_bootstrap_ci({"a": [0, 10]}, lambda x: float(np.mean(x)), reps=4000, seed=1)
    assert ci == {"low": 0.0, "high": 10.0}
    # The same seed gives the same interval; the replicate is what a hand-written loop computes.
    scores = {"a": [1.0, 5.0, 2.0, 8.0], "b": [3.0, 4.0, 9.0]}
    rng = np.random.default_rng(7)
    reps = [iqm(np.concatenate([np.asarray(v)[rng.integers(0, len(v), len(v))] for v in scores.values()]))
            for _ in range(300)]
    expected = np.quantile(reps, [0.025, 0.975])
    got = stratified_bootstrap_ci(scores, iqm, reps=300, seed=7)
    assert (got["low"], got["high"]) == (pytest.approx(expected[0]), pytest.approx(expected[1]))
    s = summarise(scores, reps=300, seed=7)
    assert s["runs"] == 7 and s["mean"] == pytest.approx(32 / 7) and s["iqm"] == iqm([1, 5, 2, 8, 3, 4, 9])
    assert s["sd"] == pytest.approx(np.std([1, 5, 2, 8, 3, 4, 9], ddof=1))


def test_a_study_runs_two_jobs_continues_and_its_best_settings_train(tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))
    study = tmp_path / "study"
    first = tune_cli("tune", "--env", "CartPole-v1", "--study", str(study), "--trials", "4", "--jobs", "2",
                     "--steps", "3000", "--space", str(space), *QUICK)
    assert first.returncode == 0, first.stderr
    table = rows(study / "trials.csv")
    assert len(table) == 4 and all(r["state"] == "complete" for r in table)
    assert sorted(int(r["seed"]) for r in table) == [0, 1, 2, 3]           # trial N trains with seed + N
    assert all(r["hidden_sizes"] in ("32", "64,64") and 5e-4 <= float(r["learning_rate"]) <= 5e-3 for r in table)
    for r in table:  # each trial's run directory is a model directory with the objective it was scored by
        result = json.loads((study / "trials" / f"{int(r['number']):04d}" / "trial.json").read_text())
        assert result["mean_return"] == pytest.approx(float(r["value"]))
    # Running the same command with a larger budget continues the study (the journal keeps the first trials).
    again = tune_cli("tune", "--env", "CartPole-v1", "--study", str(study), "--trials", "6", "--jobs", "2",
                     "--steps", "3000", "--space", str(space), *QUICK)
    assert again.returncode == 0, again.stderr
    table2 = rows(study / "trials.csv")
    assert len(table2) == 6 and table2[:4] == table
    best = json.loads((study / "best.json").read_text())
    values = [float(r["value"]) for r in table2]
    best_row = table2[int(np.argmax(values))]
    assert best["seed"] == int(best_row["seed"]) and best["learning_rate"] == pytest.approx(float(best_row["learning_rate"]))
    assert best["total_steps"] == 3000 and best["learning_starts"] == 500
    for plot in ("history.png", "importances.png"):
        assert (study / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # best.json is a config `distill train --config` accepts: the same seed and settings give the trial's weights.
    out = tmp_path / "retrained"
    r = subprocess.run([DISTILL, "train", "--env", "CartPole-v1", "--config", str(study / "best.json"),
                        "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    trial_dir = study / "trials" / f"{int(best_row['number']):04d}"
    for f in sorted(p.name for p in (trial_dir / "last").glob("*.npy")):
        assert (out / "last" / f).read_bytes() == (trial_dir / "last" / f).read_bytes(), f
    # Another command on the same directory is refused in one sentence.
    other = tune_cli("tune", "--env", "CartPole-v1", "--study", str(study), "--trials", "6", "--steps", "4000",
                     "--space", str(space))
    assert other.returncode == 2
    assert other.stderr.startswith(f"Error: {study} holds a study with other fixed settings")


def test_a_killed_or_interrupted_study_marks_running_trials_failed(tmp_path):
    study = tmp_path / "study"
    args = ["tune", "--env", "CartPole-v1", "--study", str(study), "--trials", "2", "--jobs", "1",
            "--steps", "60000", "--set", "train_frequency=1", "--set", "gradient_steps=1",
            "--space", str(tmp_path / "space.json")]
    (tmp_path / "space.json").write_text(json.dumps({"learning_rate": {"float": [1e-3, 2e-3]}}))

    def start_and_wait_for_a_trial(number):
        """Starts a session and waits until trial `number` (counting from 1) writes its metrics:
        on a busy machine a session can take seconds to start its own trial."""
        proc = subprocess.Popen([sys.executable, "-m", "swiftdistill.study", *args], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and len(list((study / "trials").glob("*/metrics.csv"))) < number:
            time.sleep(0.2)
        time.sleep(1.0)
        return proc

    proc = start_and_wait_for_a_trial(1)
    proc.kill()                                              # SIGKILL: no chance to clean up
    proc.wait()
    deadline = time.time() + 20                              # the trial process follows its study (PDEATHSIG)
    while time.time() < deadline and subprocess.run(["pgrep", "-f", str(study)], capture_output=True).returncode == 0:
        time.sleep(0.2)
    assert subprocess.run(["pgrep", "-f", str(study)], capture_output=True).returncode != 0, "an orphaned trial runs on"
    # Ctrl-C on the next session: the running trial stops, is marked failed, the command says how to continue.
    proc = start_and_wait_for_a_trial(2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command to continue" in err
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(study / "journal.log")))
    trials = optuna.load_study(study_name="swiftdistill", storage=storage).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL] * 2   # the killed one and the interrupted one
    table = rows(study / "trials.csv")
    assert [r["state"] for r in table] == ["fail", "fail"] and all(r["value"] == "" for r in table)


def test_a_study_whose_trials_fail_stops_with_their_reason(tmp_path):
    (tmp_path / "space.json").write_text(json.dumps({"gamma": {"float": [1.5, 2.0]}}))
    r = tune_cli("tune", "--env", "CartPole-v1", "--study", str(tmp_path / "s"), "--trials", "5", "--steps", "2000",
                 "--space", str(tmp_path / "space.json"))
    assert r.returncode == 2
    assert r.stderr.startswith("Error: the study stopped after 3 failed trials and none completed; the last said:")
    assert "gamma" in r.stderr
    bad = tune_cli("tune", "--env", "CartPole-v1", "--study", str(tmp_path / "s2"), "--space", str(tmp_path / "none.json"))
    assert bad.returncode == 2 and bad.stderr == f"Error: cannot read the search space {tmp_path / 'none.json'}: No such file or directory.\n"
    (tmp_path / "broken.json").write_text("{learning_rate")
    bad = tune_cli("tune", "--env", "CartPole-v1", "--study", str(tmp_path / "s2"), "--space", str(tmp_path / "broken.json"))
    assert bad.returncode == 2 and bad.stderr.startswith(f"Error: the search space {tmp_path / 'broken.json'} is not valid JSON (")
    (tmp_path / "wrong.json").write_text(json.dumps({"gamma": {"float": [0.99]}}))
    bad = tune_cli("tune", "--env", "CartPole-v1", "--study", str(tmp_path / "s2"), "--space", str(tmp_path / "wrong.json"))
    assert bad.returncode == 2 and "gamma needs" in bad.stderr
    # A damaged study directory is refused in one sentence, never a traceback.
    for name, text in (("study.json", "garbage"), ("journal.log", "not a journal {{{")):
        d = tmp_path / f"damaged-{name}"
        d.mkdir()
        (d / name).write_text(text)
        r = tune_cli("tune", "--env", "CartPole-v1", "--study", str(d), "--trials", "1", "--steps", "1000")
        assert r.returncode == 2 and r.stderr.startswith("Error: ") and "Traceback" not in r.stderr, r.stderr
        assert "start the study in another directory" in r.stderr


def test_a_distillation_study_finds_the_pareto_front(tmp_path):
    teacher = tmp_path / "teacher"
    r = subprocess.run([DISTILL, "train", "--env", "CartPole-v1", "--steps", "20000", "--seed", "0", "--out", str(teacher)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"hidden_sizes": {"choices": ["4", "16,16"]}, "loss": {"choices": ["kl", "ce"]}}))
    study = tmp_path / "students"
    res = tune_cli("tune", "--algorithm", "distill", "--teacher", str(teacher), "--study", str(study), "--trials", "4",
                   "--jobs", "2", "--steps", "2000", "--space", str(space), "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    table = [r for r in rows(study / "trials.csv") if r["state"] == "complete"]
    assert summary["complete"] == len(table) == 4
    points = [(float(r["value"]), int(r["parameters"])) for r in table]
    # The front is exactly the non-dominated trials (higher return, fewer parameters).
    dominated = lambda p: any(q[0] >= p[0] and q[1] <= p[1] and q != p for q in points)
    front = {(f["normalized_return"], f["parameters"]) for f in summary["pareto_front"]}
    assert front == {p for p in points if not dominated(p)}
    assert {int(r["parameters"]) for r in table} <= {4 * 4 + 4 + 4 * 2 + 2, 4 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2}
    assert (study / "pareto.png").exists()
    best = json.loads((study / "best.json").read_text())
    assert best["teachers"] == [str(teacher)] and best["steps"] == 2000
    out = tmp_path / "student"
    d = subprocess.run([DISTILL, "distill", "--config", str(study / "best.json"), "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert d.returncode == 0, d.stderr
    assert json.loads((out / "model.json").read_text())["architecture"]["hidden_sizes"] == best["hidden_sizes"]


def test_a_sweep_aggregates_settings_over_seeds(tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "--env", "CartPole-v1", "--out", str(out), "--seeds", "0,1,2", "--grid", "hidden_sizes=32,16x16",
            "--steps", "2000", "--jobs", "2", *QUICK, "--json"]
    r = tune_cli(*args)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    runs = rows(out / "runs.csv")
    assert len(runs) == 6 and len(summary) == 2
    for s in summary:
        scores = [float(x["mean_return"]) for x in runs if int(x["combination"]) == s["combination"]]
        assert sorted(int(x["seed"]) for x in runs if int(x["combination"]) == s["combination"]) == [0, 1, 2]
        assert s["mean"] == pytest.approx(np.mean(scores)) and s["iqm"] == pytest.approx(iqm(scores))
        assert s["iqm_low"] <= s["iqm"] <= s["iqm_high"]
    assert {s["hidden_sizes"] for s in summary} == {32, "16,16"}
    assert json.loads((out / "runs" / "001-seed2" / "model.json").read_text())["architecture"]["hidden_sizes"] in ([32], [16, 16])
    # Again: complete runs are kept, not run again (their files are untouched).
    stamp = (out / "runs" / "000-seed0" / "trial.json").stat().st_mtime_ns
    again = tune_cli(*args)
    assert again.returncode == 0 and json.loads(again.stdout) == summary
    assert (out / "runs" / "000-seed0" / "trial.json").stat().st_mtime_ns == stamp
    assert (out / "summary.png").exists()


@pytest.fixture
def ray_cluster(tmp_path):
    """A local Ray cluster with two worker CPUs, started and stopped by the test (as README says)."""
    pytest.importorskip("ray")
    ray_bin = str(Path(sys.executable).parent / "ray")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Ray waits a fixed 30 s for its raylet to register; on a machine busy with other work that
    # can pass, so a failed start is stopped and tried again (the property tested is the study's).
    for attempt in range(3):
        start = subprocess.run([ray_bin, "start", "--head", "--num-cpus", "2", "--port", str(port), "--node-ip-address",
                                "127.0.0.1", "--include-dashboard=false", "--disable-usage-stats"],
                               capture_output=True, text=True, timeout=180)
        if start.returncode == 0:
            break
        subprocess.run([ray_bin, "stop", "--force"], capture_output=True, timeout=120)
    assert start.returncode == 0, start.stderr[-2000:]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray_bin, "stop", "--force"], capture_output=True, timeout=120)


def test_a_study_on_a_ray_cluster_survives_a_killed_worker(tmp_path, ray_cluster):
    (tmp_path / "space.json").write_text(json.dumps({"learning_rate": {"float": [1e-3, 2e-3]}}))
    study = tmp_path / "study"
    # Trials of a few seconds each (256-256 networks, a gradient step per environment step).
    proc = subprocess.Popen([sys.executable, "-m", "swiftdistill.study", "tune", "--env", "CartPole-v1", "--study",
                             str(study), "--trials", "3", "--jobs", "2", "--steps", "15000", "--space",
                             str(tmp_path / "space.json"), "--set", "train_frequency=1", "--set", "gradient_steps=1",
                             "--set", "hidden_sizes=256,256",
                             "--ray-address", ray_cluster, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    # Kill the Ray worker running the first trial once it is training (SIGKILL: the node loses it).
    killed = None
    deadline = time.time() + 120
    while time.time() < deadline and killed is None and proc.poll() is None:
        for proc_dir in Path("/proc").glob("[0-9]*"):
            try:
                args = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                parent = int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if "swiftdistill._trial" in args and "0000.spec.json" in args:
                time.sleep(1.0)     # let it train a little
                killed = parent     # the Ray worker process that runs this trial's task
                os.kill(killed, signal.SIGKILL)
                break
        time.sleep(0.1)
    out, err = proc.communicate(timeout=600)
    assert killed is not None, f"no trial process was found to kill: {err[-3000:]} {out[-2000:]}"
    assert proc.returncode == 0, err
    assert out.strip(), f"no summary printed (killed {killed}); stderr: {err[-3000:]}"
    summary = json.loads(out)
    # The killed task ran again on the cluster: every trial completed, none is lost or counted twice.
    assert summary["complete"] == 3 and summary["failed"] == 0 and summary["trials"] == 3
    assert all(r["state"] == "complete" for r in rows(study / "trials.csv"))
    assert json.loads((study / "study.json").read_text())["pruner"] == "none"


@pytest.mark.parametrize("argv, words", [
    (["tune", "--env", "Corridor-6", "--set", "gamma=2", "--trials", "1"], "a fixed setting (--set) cannot be used: gamma must be in (0, 1] (got 2.0)"),
    (["tune", "--env", "Corridor-6", "--space", "{space}", "--trials", "1"], "is searched on a log scale"),
    (["sweep", "--env", "Corridor-6", "--seeds", "a,b"], "--seeds takes integers separated by commas"),
    (["sweep", "--env", "Corridor-6", "--seeds", ""], "--seeds takes integers separated by commas"),
    (["sweep", "--env", "Corridor-6", "--jobs", "-1"], "jobs must be a positive integer, got -1"),
    (["sweep", "--env", "Corridor-6", "--grid", "gamma=0.9,3"], "a setting of the sweep (--set or --grid) cannot be used: gamma must be in (0, 1] (got 3.0)"),
])
def test_bad_study_arguments_are_one_sentence_before_anything_is_written(tmp_path, capsys, argv, words):
    from swiftdistill.study import main
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"learning_rate": {"float": [0, 0.1], "log": True}}))
    where = tmp_path / "d"
    argv = [a.replace("{space}", str(space)) for a in argv] + (["--study", str(where)] if argv[0] == "tune" else ["--out", str(where)])
    assert main(argv) == 2
    assert words in capsys.readouterr().err
    assert not where.exists(), "nothing is written for arguments that cannot run"


def test_studies_and_sweeps_keep_out_of_other_directories(tmp_path, capsys, corridor_teacher):
    from swiftdistill.study import main
    run = corridor_teacher.path
    before = sorted(p.name for p in run.iterdir())
    assert main(["tune", "--env", "Corridor-6", "--study", str(run), "--trials", "1"]) == 2
    assert f"{run} holds a training run; give a study a directory of its own" in capsys.readouterr().err
    assert main(["sweep", "--env", "Corridor-6", "--out", str(run)]) == 2
    assert f"{run} holds a training run; give a sweep a directory of its own" in capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == before
    study = tmp_path / "study"
    study.mkdir()
    (study / "study.json").write_text("{}")
    assert main(["sweep", "--env", "Corridor-6", "--out", str(study)]) == 2
    assert "holds a study; give a sweep a directory of its own" in capsys.readouterr().err


def test_a_fixed_setting_leaves_the_search_space(tmp_path):
    import swiftdistill as sd
    summary = sd.tune("CartPole-v1", study=tmp_path / "s", trials=1, steps=300, settings={"gamma": 0.5, "learning_starts": 50},
                      space={"gamma": {"float": [0.8, 0.99]}, "learning_rate": {"float": [1e-4, 1e-3], "log": True}},
                      quiet=True)
    assert summary["complete"] == 1, summary
    description = json.loads((tmp_path / "s" / "study.json").read_text())
    assert set(description["space"]) == {"learning_rate"} and description["fixed"]["gamma"] == 0.5
    trial = next((tmp_path / "s" / "trials").glob("*/model.json"))
    assert json.loads(trial.read_text())["config"]["gamma"] == 0.5, "the trial trained with the fixed value"
