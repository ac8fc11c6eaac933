"""One trial of a study or one run of a sweep, in a process of its own:

    python -m swiftdistill._trial SPEC.json

The spec names the algorithm (``dqn`` or ``distill``), the environment or teachers, the run
directory and the settings. Periodic evaluations are reported to the Optuna trial (when the spec
names one) and a pruned trial stops at once. The result — the saved model's mean return over
fresh evaluation episodes, its parameter count, and for students the normalised return — is
written to ``RUN/trial.json``. Exit status: 0 done, 3 pruned, 1 failed (the message on stderr).
A separate process per trial means a crash or a kill loses that trial only.
"""
import json
import os
import sys
import traceback
from typing import Any, Dict, List, Optional, Tuple

PRUNED = 3


def _die_with_parent() -> None:
    """Asks Linux to stop this process when the study process dies (so a killed study leaves no
    orphaned trials that keep computing)."""
    try:
        import ctypes
        import signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _optuna_trial(spec: Dict[str, Any]) -> Any:
    if spec.get("trial_id") is None:
        return None
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    storage = JournalStorage(JournalFileBackend(spec["storage"]))
    study = optuna.load_study(study_name=spec["study_name"], storage=storage,
                              pruner=_pruner(spec.get("pruner", "none"), int(spec.get("prune_after", 0))))
    return optuna.trial.Trial(study, spec["trial_id"])


def _pruner(name: str, warmup_steps: int = 0) -> Any:
    """rl-zoo's: the median pruner after 5 trials, never before a third of the run."""
    import optuna
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup_steps)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


class _Pruned(Exception):
    pass


def run(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Runs the trial described by ``spec`` and returns its result dict (also written to trial.json)."""
    import swiftdistill as sd
    trial = _optuna_trial(spec)
    out = spec["out"]
    evaluations: List[Tuple[int, float]] = []

    def on_event(event: Dict[str, Any]) -> None:
        if event.get("kind") != "eval":
            return
        value = float(event.get("mean_return", event.get("return", 0.0)))
        step = int(event.get("step", len(evaluations)))
        evaluations.append((step, value))
        if trial is not None and spec.get("pruner", "none") != "none":
            trial.report(value, step)
            if trial.should_prune():
                raise _Pruned(f"pruned at step {step} (evaluation {value:.2f})")

    settings = dict(spec.get("settings", {}))
    result: Dict[str, Any] = {"out": out, "evaluations": evaluations}
    try:
        if spec["algorithm"] == "dqn":
            model, summary = sd.train(spec["env"], out=out, force=True, progress=False, callback=on_event, **settings)
            env = spec["env"]
        else:
            model, summary = sd.distill(spec["teachers"], out=out, force=True, progress=False, callback=on_event,
                                        **settings)
            env = sd.load(spec["teachers"][0]).environment
    except _Pruned as pruned:
        result.update(status="pruned", message=str(pruned))
        _write(out, result)
        return result
    episodes, seed = int(spec.get("final_episodes", 10)), int(spec.get("final_seed", 1_000_000))
    mean, std = sd.evaluate(model, env, n_eval_episodes=episodes, seed=seed)
    result.update(status="complete", mean_return=float(mean), std_return=float(std),  # type: ignore[arg-type]
                  parameters=model.parameter_count)
    if spec["algorithm"] == "distill":
        teacher_mean, random_mean = spec.get("teacher_return"), spec.get("random_return")
        if teacher_mean is not None and random_mean is not None and teacher_mean != random_mean:
            result["normalized_return"] = (float(mean) - random_mean) / (teacher_mean - random_mean)  # type: ignore[arg-type]
    _write(out, result)
    return result


def _write(out: str, result: Dict[str, Any]) -> None:
    os.makedirs(out, exist_ok=True)
    tmp = os.path.join(out, "trial.json.tmp")
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(out, "trial.json"))


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _die_with_parent()
    with open(argv[0]) as f:
        spec = json.load(f)
    try:
        result = run(spec)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the study records the failure with this message
        traceback.print_exc()
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return PRUNED if result["status"] == "pruned" else 0


if __name__ == "__main__":
    sys.exit(main())
