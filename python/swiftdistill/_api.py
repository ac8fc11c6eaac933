"""Calls into the Swift core (the ``_core`` extension module) in this process."""
from __future__ import annotations

import copy
import difflib
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ._model import Model, PathLike, load

EnvSpec = Union[str, Any, Callable[[], Any]]
Callback = Callable[[Dict[str, Any]], None]


def _python_names(error: Exception) -> Exception:
    """The core words its errors for the CLI (--learning-rate); in Python they are learning_rate."""
    import re
    text = re.sub(r"--([a-z][a-z-]*)", lambda m: m.group(1).replace("-", "_"), str(error))
    return type(error)(text)


def _core():
    try:
        from . import _core as core  # type: ignore[attr-defined]
    except ImportError as e:
        raise ImportError(
            "the Swift core of swiftdistill is not built; run `make setup` in the swift-distill checkout "
            f"(it builds python/swiftdistill/_core*.so) — {e}") from None
    return core


def _check_settings(given: Dict[str, Any], schema: Dict[str, Any], what: str) -> Dict[str, Any]:
    """Unknown names raise TypeError (with a suggestion); values of the wrong kind, ValueError."""
    defaults, types = schema["defaults"], schema["types"]
    out = {k: v for k, v in defaults.items()}
    for key in types:
        out.setdefault(key, None)
    for key, value in given.items():
        if key not in types:
            close = difflib.get_close_matches(key, types.keys(), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known settings: {', '.join(sorted(types))}"
            raise TypeError(f"{what}() got an unexpected keyword argument {key!r}{hint}")
        kind = types[key]
        if kind.startswith("optional_") and value is None:
            out[key] = None
            continue
        kind = kind.replace("optional_", "")
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be True or False, got {value!r}")
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{key} must be an integer, got {value!r}")
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} must be a number, got {value!r}")
            value = float(value)
        elif kind == "str":
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a string, got {value!r}")
        elif kind.endswith("_list"):
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise ValueError(f"{key} must be a list, got {value!r}")
            value = list(value)
            item = int if kind == "int_list" else str
            if not all(isinstance(v, item) and not isinstance(v, bool) for v in value):
                raise ValueError(f"{key} must be a list of {item.__name__}, got {value!r}")
        out[key] = value
    return out


def _progress(callback: Optional[Callback], progress: bool, total: int, unit: str) -> Tuple[Callback, Callable[[], None]]:
    """Combines the user's callback with a tqdm bar when tqdm is installed and progress is on."""
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=total, unit=unit, dynamic_ncols=True)
        except ImportError:
            bar = None

    def on_event(event: Dict[str, Any]) -> None:
        if bar is not None and event.get("kind") == "progress":
            bar.update(event["step"] - bar.n)
            post = {k: f"{event[k]:.3g}" for k in ("recent_mean_return", "epsilon", "loss", "kl") if k in event}
            if post:
                bar.set_postfix(post, refresh=False)
        if callback is not None:
            callback(event)

    return on_event, (lambda: bar.close() if bar is not None else None)


def _environment(env: EnvSpec, eval_needed: bool) -> Tuple[Union[str, Callable[[], Any]], str]:
    """Normalises ``env`` to an id or a factory, and a name for the manifest."""
    if isinstance(env, str):
        return env, env
    if isinstance(env, type) or (callable(env) and not hasattr(env, "step")):
        name = f"{getattr(env, '__module__', '?')}:{getattr(env, '__qualname__', type(env).__name__)}"
        return env, name
    if hasattr(env, "step") and hasattr(env, "reset"):
        spec = getattr(env, "spec", None)
        name = spec.id if spec is not None and getattr(spec, "id", None) else f"{type(env).__module__}:{type(env).__qualname__}"
        copies: List[Any] = [env]
        if eval_needed:
            try:
                copies.append(copy.deepcopy(env))
            except Exception:
                if spec is None:
                    raise ValueError("the environment instance cannot be copied for evaluation; pass its id or a "
                                     "factory (a class or function), or eval_interval=0") from None
                import gymnasium
                copies.append(gymnasium.make(spec.id))
        remaining = iter(copies)
        return (lambda: next(remaining)), name
    raise TypeError(f"env must be a Gymnasium id, a gymnasium.Env, or a factory returning one; got {type(env).__name__}")


def train(env: EnvSpec, *, out: PathLike, steps: Optional[int] = None, seed: Optional[int] = None,
          hidden: Optional[Sequence[int]] = None, force: bool = False, resume: bool = False,
          callback: Optional[Callback] = None, progress: bool = True, **hyperparameters: Any) -> Tuple[Model, Dict[str, Any]]:
    """Trains a DQN teacher with the Swift core and returns ``(model, metrics)``.

    ``env`` is a Gymnasium id (``"CartPole-v1"``), a ``gymnasium.Env`` instance, or a factory
    (class or function) returning one. Defaults are rl-baselines3-zoo's tuned settings for the
    environment; any DQN setting may be given by name (``learning_rate=1e-3``, ``double_dqn=True``,
    …). ``out`` is the run directory (the best model at its top level, ``last/`` a checkpoint,
    ``metrics.csv``). ``callback`` receives event dicts (``kind`` is ``progress``, ``episode`` or
    ``eval``). The GIL is released during gradient steps; Ctrl-C raises KeyboardInterrupt after a
    checkpoint is saved, and ``resume=True`` continues it.
    """
    core = _core()
    env_arg, env_name = _environment(env, eval_needed=True)
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path, got {type(out).__name__}")
    schema = json.loads(core.dqn_defaults(env_name))
    given = dict(hyperparameters)
    if steps is not None:
        given["total_steps"] = steps
    if seed is not None:
        given["seed"] = seed
    if hidden is not None:
        given["hidden_sizes"] = list(hidden)
    config = _check_settings(given, schema, "train")
    on_event, close = _progress(callback, progress, config["total_steps"], "step")
    try:
        summary = core.train(env_arg, env_name, json.dumps(config), os.fspath(out), bool(force), bool(resume), on_event,
                             steps if (resume and steps is not None) else -1)
    except (ValueError, FileExistsError, FileNotFoundError) as e:
        raise _python_names(e) from None
    finally:
        close()
    return load(out), summary


def distill(teacher: Union[PathLike, Model, Sequence[Union[PathLike, Model]]], *, out: PathLike,
            hidden: Sequence[int] = (16, 16), loss: Union[str, Dict[str, float]] = "kl", temperature: float = 0.01,
            steps: int = 20_000, seed: int = 0, regime: str = "student", task_weight: float = 0.0,
            env: Optional[str] = None, force: bool = False, callback: Optional[Callback] = None,
            progress: bool = True, **settings: Any) -> Tuple[Model, Dict[str, Any]]:
    """Distils a teacher (a model directory or ``Model``; a list is an ensemble) into a student.

    ``loss`` names the distillation losses: ``"kl"``, ``"q-mse"``, ``"ce"``, a comma-separated
    mix, or a dict of weights (``{"kl": 1, "q-mse": 0.5}``); ``task_weight`` is λ in
    L = L_KD + λ·L_task. ``regime`` is ``student`` (DAgger), ``teacher``, ``mixed`` or ``offline``
    (with ``offline_observations="obs.npy"``). Other settings by name: ``feature_weight``,
    ``feature_student_layer``, ``feature_teacher_layer``, ``relational_weight``, ``learning_rate``,
    ``batch_size``, ``updates_per_step``, ``final_updates``, ``eval_interval``, … Returns
    ``(student, metrics)``.
    """
    core = _core()
    teachers = teacher if isinstance(teacher, (list, tuple)) else [teacher]
    paths = [os.fspath(t.path if isinstance(t, Model) else t) for t in teachers]
    weights: Dict[str, float]
    if isinstance(loss, dict):
        weights = {str(k): float(v) for k, v in loss.items()}
    elif isinstance(loss, str):
        weights = {}
        for part in loss.split(","):
            name, _, w = part.strip().partition(":")
            weights[name] = float(w) if w else 1.0
    else:
        raise TypeError(f"loss must be a string such as 'kl' or a dict of weights, got {type(loss).__name__}")
    names = {"q-mse": "q_mse_weight", "kl": "kl_weight", "ce": "cross_entropy_weight"}
    for name in weights:
        if name not in names:
            raise ValueError(f"unknown loss {name!r}: use q-mse, kl or ce (and task_weight, feature_weight, relational_weight)")
    schema = json.loads(core.distill_defaults())
    given = {"teachers": paths, "hidden_sizes": list(hidden), "temperature": float(temperature), "steps": steps,
             "seed": seed, "regime": regime, "task_weight": float(task_weight), "kl_weight": 0.0}
    given.update({names[k]: v for k, v in weights.items()})
    given.update(settings)
    config = _check_settings(given, schema, "distill")
    if config.get("offline_observations") and regime == "student":
        config["regime"] = "offline"
    config = {k: v for k, v in config.items() if v is not None}
    on_event, close = _progress(callback, progress, steps, "state")
    try:
        summary = core.distill(json.dumps(config), os.fspath(out), env, bool(force), on_event)
    except (ValueError, FileExistsError, FileNotFoundError) as e:
        raise _python_names(e) from None
    finally:
        close()
    return load(out), summary


def compare(teacher: Union[PathLike, Model], student: Union[PathLike, Model], *, episodes: int = 20,
            seed: int = 100, env: Optional[str] = None) -> Dict[str, Any]:
    """Measures teacher and student in one run (as ``distill compare --json``)."""
    t = os.fspath(teacher.path if isinstance(teacher, Model) else teacher)
    s = os.fspath(student.path if isinstance(student, Model) else student)
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    return json.loads(_core().compare(t, s, episodes, seed, env))


def core_q_values(model: Union[PathLike, Model], observations: Any):
    """The Swift core's Q-values for a batch (for checking the NumPy loader against it)."""
    import numpy as np
    path = os.fspath(model.path if isinstance(model, Model) else model)
    return _core().q_values(path, np.ascontiguousarray(np.atleast_2d(observations), dtype=np.float32))
