"""Hyper-parameter search (Optuna) and seed sweeps over the Swift core, on this machine.

    python -m swiftdistill.study tune  --env CartPole-v1 --study runs/study --trials 20 --steps 20000 --jobs 2
    python -m swiftdistill.tune tune  --algorithm distill --teacher runs/teacher --study runs/students --trials 30
    python -m swiftdistill.study sweep --env CartPole-v1 --out runs/sweep --seeds 0,1,2 --grid learning_rate=1e-3,2.3e-3

(``distill tune`` and ``distill sweep`` run the same.) Each trial is a process of its own
(``swiftdistill._trial``) that trains with the Swift core; ``--jobs N`` runs N at once. The study
lives in its directory — Optuna's journal file (``journal.log``), one run directory per trial
(``trials/0007``), the report — so running the same command again continues it. Ctrl-C or a kill
marks the trials that were running as failed: they never count as results. Optuna is an optional
extra: ``pip install "swiftdistill[tune]"``.
"""
import csv
import fcntl
import json
import logging
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ._stats import summarise

# rl-baselines3-zoo's `sample_dqn_params`, in this project's setting names. `subsample_steps`
# sets gradient_steps = max(train_frequency // subsample_steps, 1); `hidden_sizes` choices are
# comma-separated sizes.
DQN_SPACE: Dict[str, Dict[str, Any]] = {
    "learning_rate": {"float": [1e-5, 1e-2], "log": True},
    "batch_size": {"choices": [16, 32, 64, 100, 128, 256, 512]},
    "buffer_size": {"choices": [10_000, 50_000, 100_000, 1_000_000]},
    "gamma": {"choices": [0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999]},
    "exploration_fraction": {"float": [0.01, 0.5]},
    "exploration_final": {"float": [0.0, 0.2]},
    "target_update_interval": {"choices": [1, 1000, 5000, 10_000, 15_000, 20_000]},
    "learning_starts": {"choices": [0, 1000, 5000, 10_000, 20_000]},
    "train_frequency": {"choices": [1, 4, 8, 16, 128, 256, 1000]},
    "subsample_steps": {"choices": [1, 2, 4, 8]},
    "hidden_sizes": {"choices": ["64", "64,64", "256,256"]},
}

# Student size, losses, temperature, data regime and learning rate.
DISTILL_SPACE: Dict[str, Dict[str, Any]] = {
    "hidden_sizes": {"choices": ["8", "16", "8,8", "16,16", "32,32", "64,64"]},
    "loss": {"choices": ["kl", "ce", "q-mse", "kl,q-mse:0.1"]},
    "temperature": {"float": [0.005, 1.0], "log": True},
    "regime": {"choices": ["student", "teacher", "mixed"]},
    "learning_rate": {"float": [1e-4, 1e-2], "log": True},
}


class TuneError(ValueError):
    """A study that cannot run as asked, in one sentence."""


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as e:
        raise TuneError('tuning needs Optuna: pip install "swiftdistill[tune]" (or pip install optuna)') from e
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def load_space(path: "os.PathLike[str]") -> Dict[str, Dict[str, Any]]:
    """A search space from a JSON or YAML file: ``{name: {"float": [lo, hi], "log": true} |
    {"int": [lo, hi]} | {"choices": [...]}}``. It replaces the default space."""
    yaml_file = str(path).endswith((".yml", ".yaml"))
    try:
        text = Path(path).read_text()
        if yaml_file:
            import yaml  # type: ignore[import-untyped]
            try:
                space = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise ValueError(str(e)) from e
        else:
            space = json.loads(text)
    except OSError as e:
        raise TuneError(f"cannot read the search space {path}: {e.strerror or e}") from e
    except ValueError as e:  # JSON and YAML syntax errors
        raise TuneError(f"the search space {path} is not valid {'YAML' if yaml_file else 'JSON'} "
                        f"({str(e).splitlines()[0]})") from e
    if not isinstance(space, dict) or not space:
        raise TuneError(f"{path} must hold a mapping of setting names to ranges, e.g. "
                        '{"learning_rate": {"float": [1e-4, 1e-2], "log": true}}')
    for name, rule in space.items():
        _check_rule(name, rule, str(path))
    return space


def _check_rule(name: str, rule: Any, where: str) -> None:
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    kind = next((k for k in ("float", "int") if isinstance(rule, dict) and k in rule), None)
    ok = isinstance(rule, dict) and (
        ("choices" in rule and isinstance(rule["choices"], list) and bool(rule["choices"]))
        or (kind is not None and isinstance(rule[kind], list) and len(rule[kind]) == 2
            and all(number(v) for v in rule[kind]) and rule[kind][0] <= rule[kind][1]))
    if not ok:
        raise TuneError(f"{where}: {name} needs {{\"float\": [low, high]}}, {{\"int\": [low, high]}} or "
                        f"{{\"choices\": [...]}} (numbers, low ≤ high), got {rule!r}")
    if kind is not None and rule.get("log") and rule[kind][0] <= 0:
        raise TuneError(f"{where}: {name} is searched on a log scale (\"log\": true), so its low end must be "
                        f"above 0, got {rule[kind][0]!r}")


def _check_settings(algorithm: str, settings: Mapping[str, Any], env: Optional[str], what: str) -> None:
    """Refuses a setting the core's table would refuse, before any trial or run starts."""
    from swiftdistill._api import _core, _settings_json
    try:
        _core().check_settings(algorithm=algorithm, settings=_settings_json(dict(settings)), env=env)
    except (ValueError, TypeError) as e:
        raise TuneError(f"{what}: {str(e).rstrip('.')}") from None


def _refuse_other_directory(directory: Path, kind: str) -> None:
    """A study goes into a directory of its own: not a training run's, and not a sweep's (or,
    for a sweep, a study's)."""
    others = {"a training run": ("model.json", "last", "metrics.csv"), "a sweep": ("sweep.json",),
              "a study": ("study.json", "journal.log")}
    for what, names in others.items():
        if what != kind and any((directory / n).exists() for n in names):
            raise TuneError(f"{directory} holds {what}; give {kind} a directory of its own")


def suggest(trial: Any, space: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    """The trial's settings, in the core's names (derived ones resolved)."""
    raw: Dict[str, Any] = {}
    for name, rule in space.items():
        if "choices" in rule:
            raw[name] = trial.suggest_categorical(name, list(rule["choices"]))
        elif "int" in rule:
            raw[name] = trial.suggest_int(name, int(rule["int"][0]), int(rule["int"][1]), log=bool(rule.get("log")))
        else:
            raw[name] = trial.suggest_float(name, float(rule["float"][0]), float(rule["float"][1]),
                                            log=bool(rule.get("log")))
    return resolve(raw)


def resolve(raw: Mapping[str, Any]) -> Dict[str, Any]:
    settings = dict(raw)
    if isinstance(settings.get("hidden_sizes"), str):
        settings["hidden_sizes"] = [int(s) for s in settings["hidden_sizes"].split(",") if s.strip()]
    elif isinstance(settings.get("hidden_sizes"), int):
        settings["hidden_sizes"] = [settings["hidden_sizes"]]
    if "subsample_steps" in settings:
        sub = int(settings.pop("subsample_steps"))
        settings["gradient_steps"] = max(int(settings.get("train_frequency", 1)) // sub, 1)
    return settings


def _write_spec(spec: Dict[str, Any]) -> Path:
    """The trial's spec beside its run directory (``trials/0007.spec.json``), for ``swiftdistill._trial``."""
    path = Path(spec["out"] + ".spec.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec))
    return path


def _fixed_settings(settings: Optional[Mapping[str, Any]], algorithm: str, steps: Optional[int]) -> Dict[str, Any]:
    """The settings every trial or run shares, with ``steps`` under the algorithm's own name."""
    fixed = resolve(settings or {})
    if steps is not None:
        fixed["total_steps" if algorithm == "dqn" else "steps"] = int(steps)
    return fixed


def run_trial_process(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Runs one trial as a child process here and returns its exit code, log and result. This is
    what a Ray task executes on a cluster node (the run directory is written on that node)."""
    out = Path(spec["out"])
    spec_path = _write_spec(spec)
    proc = subprocess.run([sys.executable, "-m", "swiftdistill._trial", str(spec_path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    result_path = out / "trial.json"
    result = json.loads(result_path.read_text()) if result_path.exists() else None
    return {"code": proc.returncode, "log": proc.stdout, "result": result}


class _Workers:
    """The trial processes running now (here, or as Ray tasks), so Ctrl-C can be passed on and
    waited for."""

    def __init__(self, ray_address: Optional[str] = None):
        self.lock = threading.Lock()
        self.processes: List["subprocess.Popen[bytes]"] = []
        self.tasks: List[Any] = []
        self.stopping = threading.Event()
        self.ray: Any = None
        if ray_address:
            try:
                import ray
            except ImportError as e:
                raise TuneError('--ray-address needs Ray: pip install "swiftdistill[ray]"') from e
            try:
                ray.init(address=ray_address, ignore_reinit_error=True, log_to_driver=False,
                         logging_level=logging.ERROR, configure_logging=False)
            except Exception as e:
                raise TuneError(f"cannot connect to the Ray cluster at {ray_address} ({type(e).__name__}: {e}); "
                                "start one with `ray start --head`") from e
            self.ray = ray
            # One CPU per trial; a task whose worker dies is run again, up to twice, elsewhere.
            self.remote = ray.remote(num_cpus=1, max_retries=2, retry_exceptions=False)(run_trial_process)

    def run(self, spec: Dict[str, Any], log_path: Path) -> int:
        if self.ray is not None:
            return self._run_on_ray(spec, log_path)
        spec_path = _write_spec(spec)
        with open(log_path, "w") as log:
            # Its own process group: a Ctrl-C in the terminal reaches the study first, which passes it on.
            proc = subprocess.Popen([sys.executable, "-m", "swiftdistill._trial", str(spec_path)], stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            with self.lock:
                self.processes.append(proc)
            try:
                return proc.wait()
            finally:
                with self.lock:
                    self.processes.remove(proc)

    def _run_on_ray(self, spec: Dict[str, Any], log_path: Path) -> int:
        ref = self.remote.remote(spec)
        with self.lock:
            self.tasks.append(ref)
        try:
            outcome = self.ray.get(ref)
        except Exception as e:  # the task's retries ran out, or it was cancelled
            log_path.write_text(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}\n")
            return 1
        finally:
            with self.lock:
                self.tasks.remove(ref)
        log_path.write_text(outcome["log"])
        if outcome["result"] is not None:
            # Keep the result beside the study too (the run directory may be on another node).
            Path(spec["out"]).mkdir(parents=True, exist_ok=True)
            (Path(spec["out"]) / "trial.json").write_text(json.dumps(outcome["result"], indent=1))
        return int(outcome["code"])

    def interrupt(self) -> None:
        self.stopping.set()
        with self.lock:
            for p in self.processes:
                try:
                    p.send_signal(signal.SIGINT)
                except ProcessLookupError:
                    pass
            for ref in self.tasks:
                self.ray.cancel(ref, force=True)


def _lock(directory: Path) -> Any:
    directory.mkdir(parents=True, exist_ok=True)
    f = open(directory / "study.lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise TuneError(f"{directory} is in use by another tune or sweep process; wait for it or use another directory")
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def _last_error(log_path: Path) -> str:
    try:
        lines = [l for l in log_path.read_text().splitlines() if l.strip()]
    except OSError:
        return "no output"
    return lines[-1] if lines else "no output"


def _random_return(env_id: str, episodes: int, seed: int) -> float:
    import gymnasium as gym
    import numpy as np
    env = gym.make(env_id)
    env.action_space.seed(seed)
    total = []
    for i in range(episodes):
        env.reset(seed=seed + i)
        done, ret = False, 0.0
        while not done:
            _, r, term, trunc, _ = env.step(env.action_space.sample())
            ret += float(r)
            done = term or trunc
        total.append(ret)
    return float(np.mean(total))


def tune(env: Optional[str] = None, *, study: "os.PathLike[str]", algorithm: str = "dqn", trials: int = 20, jobs: int = 1,
         steps: Optional[int] = None, seed: int = 0, teacher: Optional[Sequence["os.PathLike[str]"]] = None,
         space: Optional[Mapping[str, Mapping[str, Any]]] = None, sampler: str = "tpe", pruner: str = "median",
         settings: Optional[Mapping[str, Any]] = None, eval_interval: Optional[int] = None, eval_episodes: int = 5,
         final_episodes: int = 10, keep: float = 1.0, ray_address: Optional[str] = None,
         quiet: bool = False) -> Dict[str, Any]:
    """Runs (or continues) an Optuna study and returns its summary.

    ``algorithm="dqn"`` searches DQN settings (rl-zoo's space, objective: the saved model's mean
    return over ``final_episodes`` fresh episodes, pruned on the periodic evaluations).
    ``algorithm="distill"`` searches student settings for ``teacher`` with two objectives —
    normalised return (maximise) and student parameters (minimise) — and reports the Pareto front;
    ``best.json`` is then the smallest student keeping ``keep`` of the teacher's return (or the
    best return when none does). ``settings`` are fixed for every trial; ``space`` replaces the
    default search space. The study directory holds ``journal.log``, ``trials/NNNN`` run
    directories, ``trials.csv``, ``best.json`` (a config for ``distill train|distill --config``)
    and the plots. With ``ray_address`` (``"auto"``, ``"ray://host:10001"``) each trial is a Ray task
    (one CPU) on that cluster; a trial whose worker dies is retried there (twice) or marked failed.
    Trials on Ray are not pruned (their evaluations are not reported back while they run).
    """
    optuna = _optuna()
    if algorithm not in ("dqn", "distill"):
        raise TuneError(f"algorithm must be dqn or distill, not {algorithm!r}")
    if not isinstance(trials, int) or trials < 1:
        raise TuneError(f"trials must be a positive integer, got {trials!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise TuneError(f"jobs must be a positive integer, got {jobs!r}")
    if sampler not in ("tpe", "random"):
        raise TuneError(f"sampler must be tpe or random, not {sampler!r}")
    if pruner not in ("median", "halving", "none"):
        raise TuneError(f"pruner must be median, halving or none, not {pruner!r}")
    teachers = [os.fspath(t) for t in (teacher or [])]
    if algorithm == "distill":
        if not teachers:
            raise TuneError("a distillation study needs --teacher (a trained model directory)")
        import swiftdistill as sd
        teacher_model = sd.load(teachers[0])
        env = env or teacher_model.environment
    if not env:
        raise TuneError("name the environment: --env CartPole-v1 (a Gymnasium id or module:attribute)")
    space = dict(space or (DQN_SPACE if algorithm == "dqn" else DISTILL_SPACE))
    for name, rule in space.items():
        _check_rule(name, rule, "the search space")
    fixed = _fixed_settings(settings, algorithm, steps)
    _check_settings(algorithm, fixed, env, "a fixed setting (--set) cannot be used")
    # A fixed setting is fixed: it leaves the search space (the sampler would otherwise override it).
    space = {k: v for k, v in space.items() if k not in fixed and not (k == "subsample_steps" and "gradient_steps" in fixed)}
    if not space:
        raise TuneError("every setting of the search space is fixed by --set; leave one to search")
    directory = Path(study)
    _refuse_other_directory(directory, "a study")
    lock = _lock(directory)
    try:
        if eval_interval is not None:
            fixed["eval_interval"] = int(eval_interval)
        elif steps is not None:
            fixed.setdefault("eval_interval", max(int(steps) // 5, 1))
        fixed.setdefault("eval_episodes", int(eval_episodes))
        description = {"algorithm": algorithm, "env": env, "teachers": teachers, "space": space, "fixed": fixed,
                       "seed": seed, "sampler": sampler,
                       "pruner": pruner if algorithm == "dqn" and not ray_address else "none"}
        described = directory / "study.json"
        if described.exists():
            try:
                before = json.loads(described.read_text())
            except ValueError as e:
                raise TuneError(f"{described} is damaged ({e}); start the study in another directory") from e
            words = {"algorithm": "algorithm", "env": "environment", "teachers": "teachers", "space": "search space",
                     "fixed": "fixed settings (--steps, --set, evaluation)", "seed": "seed", "sampler": "sampler",
                     "pruner": "pruner"}
            changed = [words[k] for k in description if before.get(k) != description[k]]
            if changed:
                raise TuneError(f"{directory} holds a study with other {', '.join(changed)}; continue it with the same "
                                "command, or start a new study in another directory")
        else:
            described.write_text(json.dumps(description, indent=1))
        storage = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(directory / "journal.log")))
        directions = ["maximize"] if algorithm == "dqn" else ["maximize", "minimize"]
        sampler_obj = (optuna.samplers.TPESampler(seed=seed) if sampler == "tpe"
                       else optuna.samplers.RandomSampler(seed=seed))
        try:
            study_obj = optuna.create_study(study_name="swiftdistill", storage=storage, directions=directions,
                                            sampler=sampler_obj, load_if_exists=True)
        except Exception as e:  # a damaged journal: Optuna's own error, in one sentence
            raise TuneError(f"{directory / 'journal.log'} cannot be read as an Optuna journal ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}); start the study in another directory") from e
        # Trials left running by a killed study never finished: they are failures, not results.
        for t in study_obj.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study_obj.tell(t.number, state=optuna.trial.TrialState.FAIL)
        extra: Dict[str, Any] = {}
        if algorithm == "distill":
            teacher_mean = sd.evaluate(teacher_model, env, n_eval_episodes=final_episodes, seed=1_000_000)[0]
            extra["teacher_return"] = float(teacher_mean)  # type: ignore[arg-type]
            extra["random_return"] = _random_return(env, final_episodes, 1_000_000)
        workers = _Workers(ray_address)
        counter = threading.Lock()
        session: Dict[str, Any] = {"complete": 0, "failed": 0, "last_error": ""}
        (directory / "trials").mkdir(exist_ok=True)

        def finished_or_running() -> int:
            done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
            return len(study_obj.get_trials(deepcopy=False, states=done))

        def worker() -> None:
            while not workers.stopping.is_set():
                with counter:
                    if finished_or_running() >= trials:
                        return
                    # Failures do not use up the budget, so a study whose trials keep failing stops here.
                    if session["failed"] >= max(3, trials) or (session["failed"] >= 3 and session["complete"] == 0):
                        workers.stopping.set()
                        return
                    trial = study_obj.ask()
                params = suggest(trial, space)
                trial_seed = seed + trial.number
                trial.set_user_attr("seed", trial_seed)
                out = directory / "trials" / f"{trial.number:04d}"
                spec = {"algorithm": algorithm, "env": env, "teachers": teachers, "out": str(out),
                        "settings": {**fixed, **params, "seed": trial_seed}, "storage": str(directory / "journal.log"),
                        "study_name": "swiftdistill", "trial_id": trial._trial_id,
                        "pruner": description["pruner"], "final_episodes": final_episodes,
                        "prune_after": int(fixed.get("total_steps", fixed.get("steps", 0))) // 3, **extra}
                started = time.time()
                code = workers.run(spec, out.with_suffix(".log"))
                result_path = out / "trial.json"
                result = json.loads(result_path.read_text()) if result_path.exists() and code in (0, 3) else None
                if workers.stopping.is_set() and code != 0:
                    study_obj.tell(trial, state=optuna.trial.TrialState.FAIL)
                    return
                if code == 3:
                    study_obj.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    outcome = "pruned"
                elif code == 0 and result:
                    values = ([result["mean_return"]] if algorithm == "dqn"
                              else [result.get("normalized_return", result["mean_return"]), result["parameters"]])
                    session["complete"] += 1
                    trial.set_user_attr("parameters", result["parameters"])
                    trial.set_user_attr("mean_return", result["mean_return"])
                    study_obj.tell(trial, values)
                    outcome = "return %.1f" % result["mean_return"] + (
                        "" if algorithm == "dqn" else ", normalised %.2f, %d parameters" % (values[0], values[1]))
                else:
                    reason = _last_error(out.with_suffix(".log"))
                    session["failed"] += 1
                    session["last_error"] = reason
                    trial.set_user_attr("error", reason)
                    study_obj.tell(trial, state=optuna.trial.TrialState.FAIL)
                    outcome = f"failed: {reason}"
                if not quiet:
                    print(f"trial {trial.number}: {outcome} ({time.time() - started:.1f} s)", flush=True)

        interrupted = False
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(worker) for _ in range(jobs)]
            try:
                while not all(f.done() for f in futures):
                    time.sleep(0.2)
            except KeyboardInterrupt:
                interrupted = True
                workers.interrupt()
            for f in futures:
                f.result()
        summary = report(study_obj, directory, algorithm, fixed, teachers, keep=keep)
        if interrupted:
            raise KeyboardInterrupt
        if session["failed"] and not session["complete"] and finished_or_running() < trials:
            raise TuneError(f"the study stopped after {session['failed']} failed trials and none completed; the last "
                            f"said: {session['last_error']} (logs in {directory / 'trials'})")
        return summary
    finally:
        lock.close()


def report(study_obj: Any, directory: Path, algorithm: str, fixed: Mapping[str, Any], teachers: Sequence[str],
           keep: float = 1.0) -> Dict[str, Any]:
    """Writes trials.csv, best.json and the plots; returns the summary."""
    optuna = _optuna()
    trials = study_obj.get_trials(deepcopy=False)
    columns = ["number", "state", "value", "parameters", "mean_return", "seed", "duration_s"]
    names = sorted({k for t in trials for k in t.params})
    rows = []
    for t in trials:
        values = t.values or []
        rows.append({"number": t.number, "state": t.state.name.lower(),
                     "value": values[0] if values else "", "parameters": t.user_attrs.get("parameters", ""),
                     "mean_return": t.user_attrs.get("mean_return", ""), "seed": t.user_attrs.get("seed", ""),
                     "duration_s": round(t.duration.total_seconds(), 2) if t.duration else "",
                     **{n: t.params.get(n, "") for n in names}})
    _atomic_csv(directory / "trials.csv", columns + names, rows)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    summary: Dict[str, Any] = {"study": str(directory), "trials": len(trials), "complete": len(complete),
                               "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in trials),
                               "failed": sum(t.state == optuna.trial.TrialState.FAIL for t in trials)}
    if not complete:
        return summary
    if algorithm == "dqn":
        best = study_obj.best_trial
        summary.update(best_trial=best.number, best_value=best.value)
    else:
        front = sorted(study_obj.best_trials, key=lambda t: t.values[1])
        keeping = [t for t in front if t.values[0] >= keep]
        best = keeping[0] if keeping else max(front, key=lambda t: t.values[0])
        summary.update(best_trial=best.number, best_value=best.values[0], best_parameters=int(best.values[1]),
                       pareto_front=[{"trial": t.number, "normalized_return": t.values[0], "parameters": int(t.values[1])}
                                     for t in front],
                       keeps_teacher=bool(keeping))
    config = {**fixed, **resolve(best.params), "seed": best.user_attrs.get("seed", 0)}
    if algorithm == "distill":
        config["teachers"] = list(teachers)
    _atomic_text(directory / "best.json", json.dumps(config, indent=1) + "\n")
    summary["best_config"] = str(directory / "best.json")
    summary["plots"] = _plots(study_obj, directory, algorithm)
    return summary


def _atomic_text(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


def _atomic_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns))
        w.writeheader()
        w.writerows(rows)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


def _plots(study_obj: Any, directory: Path, algorithm: str) -> List[str]:
    """history.png, importances.png and (distillation) pareto.png; none without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    optuna = _optuna()
    complete = [t for t in study_obj.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    written = []
    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs, ys = [t.number for t in complete], [t.values[0] for t in complete]
    ax.scatter(xs, ys, s=14, label="trial")
    best, running = [], -math.inf
    for y in ys:
        running = max(running, y)
        best.append(running)
    ax.step(xs, best, where="post", color="C1", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("mean return" if algorithm == "dqn" else "normalised return")
    ax.set_title("Optimisation history")
    ax.legend()
    fig.tight_layout()
    fig.savefig(directory / "history.png", dpi=100)
    plt.close(fig)
    written.append(str(directory / "history.png"))
    if len(complete) >= 2 and len({tuple(sorted(t.params.items())) for t in complete}) >= 2:
        try:
            # PED-ANOVA (no scikit-learn needed) ranks what it takes to reach *low* values: negate the return.
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its reminder that it ranks low values: we negated them
                importances = optuna.importance.get_param_importances(
                    study_obj, evaluator=optuna.importance.PedAnovaImportanceEvaluator(),
                    target=lambda t: -t.values[0])
        except Exception:
            importances = {}
        if importances:
            fig, ax = plt.subplots(figsize=(6, 0.4 * len(importances) + 1.2))
            names = list(importances)[::-1]
            ax.barh(names, [importances[n] for n in names])
            ax.set_xlabel("importance for a high return (PED-ANOVA)")
            ax.set_title("Parameter importances")
            fig.tight_layout()
            fig.savefig(directory / "importances.png", dpi=100)
            plt.close(fig)
            written.append(str(directory / "importances.png"))
    if algorithm == "distill":
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.scatter([t.values[1] for t in complete], [t.values[0] for t in complete], s=14, label="trial")
        front = sorted(study_obj.best_trials, key=lambda t: t.values[1])
        ax.plot([t.values[1] for t in front], [t.values[0] for t in front], "o-", color="C1", label="Pareto front")
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("student parameters")
        ax.set_ylabel("normalised return")
        ax.set_title("Return against size")
        ax.legend()
        fig.tight_layout()
        fig.savefig(directory / "pareto.png", dpi=100)
        plt.close(fig)
        written.append(str(directory / "pareto.png"))
    return written


def sweep(env: Optional[str] = None, *, out: "os.PathLike[str]", seeds: Sequence[int] = (0, 1, 2),
          grid: Optional[Mapping[str, Sequence[Any]]] = None, algorithm: str = "dqn",
          teacher: Optional[Sequence["os.PathLike[str]"]] = None, steps: Optional[int] = None,
          settings: Optional[Mapping[str, Any]] = None, jobs: int = 1, final_episodes: int = 10,
          bootstrap: int = 2000, ray_address: Optional[str] = None, quiet: bool = False) -> List[Dict[str, Any]]:
    """Runs every combination of ``grid`` × ``seeds`` (a run directory each, kept between calls:
    runs already complete are not run again) and aggregates each combination over its seeds:
    mean ± sd, interquartile mean and stratified-bootstrap 95% intervals (rliable's). Writes
    ``runs.csv``, ``summary.csv`` and ``summary.png`` into ``out``; returns the summary rows.
    ``ray_address`` runs each run as a Ray task, as in ``tune``."""
    if algorithm not in ("dqn", "distill"):
        raise TuneError(f"algorithm must be dqn or distill, not {algorithm!r}")
    try:
        seeds = [int(s) for s in seeds]
    except (TypeError, ValueError):
        raise TuneError(f"seeds must be integers, got {list(seeds)!r}") from None
    if not seeds:
        raise TuneError("a sweep needs at least one seed")
    if any(s < 0 for s in seeds):
        raise TuneError(f"seeds must be 0 or more, got {seeds}")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise TuneError(f"jobs must be a positive integer, got {jobs!r}")
    teachers = [os.fspath(t) for t in (teacher or [])]
    if algorithm == "distill" and not teachers:
        raise TuneError("a distillation sweep needs --teacher (a trained model directory)")
    if algorithm == "dqn" and not env:
        raise TuneError("name the environment: --env CartPole-v1 (a Gymnasium id or module:attribute)")
    grid = {k: list(v) for k, v in (grid or {}).items()}
    for k, v in grid.items():
        if not v:
            raise TuneError(f"the grid gives {k} no values")
    fixed = _fixed_settings(settings, algorithm, steps)
    names = sorted(grid)
    combos = [dict(zip(names, values)) for values in product(*(grid[n] for n in names))] or [{}]
    for combo in combos:
        _check_settings(algorithm, {**fixed, **resolve(combo)}, env,
                        "a setting of the sweep (--set or --grid) cannot be used")
    directory = Path(out)
    _refuse_other_directory(directory, "a sweep")
    lock = _lock(directory)
    try:
        description = {"algorithm": algorithm, "env": env, "teachers": teachers, "grid": grid, "fixed": fixed,
                       "final_episodes": final_episodes}
        described = directory / "sweep.json"
        if described.exists() and json.loads(described.read_text()) != description:
            raise TuneError(f"{directory} holds a sweep with other settings; run the same command to continue it, "
                            "or use another directory")
        _atomic_text(described, json.dumps(description, indent=1))
        tasks = []
        for index, combo in enumerate(combos):
            for s in seeds:
                run_dir = directory / "runs" / f"{index:03d}-seed{s}"
                tasks.append((index, combo, s, run_dir))
        (directory / "runs").mkdir(parents=True, exist_ok=True)
        workers = _Workers(ray_address)
        results: Dict[Path, Dict[str, Any]] = {}

        def one(task: Tuple[int, Dict[str, Any], int, Path]) -> None:
            index, combo, s, run_dir = task
            done = run_dir / "trial.json"
            if done.exists():
                r = json.loads(done.read_text())
                if r.get("status") == "complete":
                    results[run_dir] = r
                    return
            if workers.stopping.is_set():
                return
            spec = {"algorithm": algorithm, "env": env, "teachers": teachers, "out": str(run_dir),
                    "settings": {**fixed, **resolve(combo), "seed": s}, "final_episodes": final_episodes}
            code = workers.run(spec, run_dir.with_suffix(".log"))
            if code == 0 and done.exists():
                results[run_dir] = json.loads(done.read_text())
                if not quiet:
                    print(f"{run_dir.name}: return {results[run_dir]['mean_return']:.1f}", flush=True)
            elif not workers.stopping.is_set():
                raise TuneError(f"run {run_dir} failed: {_last_error(run_dir.with_suffix('.log'))}")

        interrupted = False
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(one, t) for t in tasks]
            try:
                while not all(f.done() for f in futures):
                    time.sleep(0.2)
            except KeyboardInterrupt:
                interrupted = True
                workers.interrupt()
            errors = [f.exception() for f in futures if f.exception() is not None]
        if interrupted:
            raise KeyboardInterrupt
        if errors:
            raise errors[0]  # type: ignore[misc]
        run_rows, summary_rows = [], []
        for index, combo in enumerate(combos):
            scores = []
            for _, c, s, run_dir in (t for t in tasks if t[0] == index):
                r = results[run_dir]
                scores.append(r["mean_return"])
                run_rows.append({"combination": index, **{n: c[n] for n in names}, "seed": s,
                                 "mean_return": r["mean_return"], "std_return": r["std_return"], "run": str(run_dir)})
            stats = summarise({env or "task": scores}, reps=bootstrap, seed=0)
            summary_rows.append({"combination": index, **{n: combo[n] for n in names}, **stats})
        _atomic_csv(directory / "runs.csv", ["combination", *names, "seed", "mean_return", "std_return", "run"], run_rows)
        _atomic_csv(directory / "summary.csv", ["combination", *names, "runs", "mean", "sd", "iqm", "iqm_low",
                                                "iqm_high", "mean_low", "mean_high"], summary_rows)
        _sweep_plot(directory, summary_rows, names)
        return summary_rows
    finally:
        lock.close()


def _sweep_plot(directory: Path, rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    labels = [", ".join(f"{n}={r[n]}" for n in names) or "settings" for r in rows]
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(rows) + 1.5))
    for i, r in enumerate(rows):
        ax.plot([r["iqm_low"], r["iqm_high"]], [i, i], color="C0", lw=6, alpha=0.4)
        ax.plot([r["iqm"]], [i], "o", color="C0")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels)
    ax.set_xlabel("IQM return (95% stratified-bootstrap interval)")
    ax.set_title("Sweep over seeds")
    fig.tight_layout()
    fig.savefig(directory / "summary.png", dpi=100)
    plt.close(fig)
