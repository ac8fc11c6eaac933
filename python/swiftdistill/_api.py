"""Calls into the Swift core (the ``_core`` extension module) in this process."""
from __future__ import annotations

import contextlib
import copy
import json
import math
import os
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union, overload

import numpy as np
from numpy.typing import NDArray

from ._heads import CONTINUOUS_HEADS
from ._model import Model, PathLike, load

EnvSpec = Union[str, Any, Callable[[], Any]]
Callback = Callable[[Dict[str, Any]], None]


def _core() -> ModuleType:
    try:
        from . import _core as core
    except ImportError as e:
        raise ImportError(
            "the Swift core of swiftdistill is not built; run `make setup` in the swift-distill checkout "
            f"(it builds python/swiftdistill/_core*.so) — {e}") from None
    return core


def _settings_json(settings: Dict[str, Any]) -> str:
    """Settings as the JSON object the core checks against its settings table (paths and NumPy
    scalars become plain values; names and values are checked by the core)."""
    def plain(value: Any) -> Any:
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if getattr(value, "ndim", 0) > 0:
            raise TypeError("a setting value is an array; settings take numbers, strings, bools or lists "
                            "(offline_observations takes the path of a .npy file: save the array with numpy.save)")
        if hasattr(value, "item") and callable(value.item):
            return value.item()
        if isinstance(value, (tuple, range)):
            return list(value)
        raise TypeError(f"setting value {value!r} of type {type(value).__name__} is not a number, string, bool or list")
    def finite(value: Any) -> Any:
        # JSON has no NaN or infinity: send them as text, which the core reads and then refuses.
        if isinstance(value, float) and (value != value or abs(value) == float("inf")):
            return str(value)
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        return value
    return json.dumps({k: finite(v) for k, v in settings.items()}, default=plain)


def settings(algorithm: str = "dqn", env: Optional[str] = None) -> List[Dict[str, Any]]:
    """The settings table of ``"dqn"`` (with ``env``'s defaults) or ``"distill"``: each setting's
    ``key``, ``kind``, ``default``, ``aliases``, ``choices``, ``flag`` and ``help`` — the same
    table the command line and config files use."""
    table: List[Dict[str, Any]] = json.loads(_core().settings_schema(algorithm=algorithm, env=env))
    return table


def _default(algorithm: str, key: str, env: Optional[str] = None) -> Any:
    """A setting's default from the core's table."""
    return next(s["default"] for s in settings(algorithm, env) if s["key"] == key)


def parse_losses(spec: str) -> List[Tuple[str, float]]:
    """``"kl,q-mse:0.5"`` → ``[("q-mse", 0.5), ("kl", 1.0)]`` (summation order), parsed by the core."""
    return [tuple(t) for t in _core().parse_losses(spec=spec)]


def _progress(callback: Optional[Callback], progress: bool, total: int, unit: str) -> Tuple[Callback, Callable[[], None]]:
    """Combines the user's callback with a tqdm bar when tqdm is installed and progress is on."""
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function taking an event dict, got {type(callback).__name__}")
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
            bar = tqdm(total=total, unit=unit, dynamic_ncols=True)
        except ImportError:
            bar = None

    def on_event(event: Dict[str, Any]) -> Any:
        if bar is not None and event.get("kind") == "progress":
            bar.update(event["step"] - bar.n)
            post = {k: f"{event[k]:.3g}" for k in ("recent_mean_return", "epsilon", "loss", "kl") if k in event}
            if post:
                bar.set_postfix(post, refresh=False)
        # A callback may return "checkpoint": the run then saves one after this event.
        return callback(event) if callback is not None else None

    return on_event, (lambda: bar.close() if bar is not None else None)


def _checkpointed_steps(out: PathLike) -> Optional[int]:
    """The step count a checkpoint in ``out/last`` was configured for (for the progress bar), if readable."""
    try:
        with open(os.path.join(os.fspath(out), "last", "state.json"), encoding="utf-8") as f:
            return int(json.load(f)["config"]["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _plain(value: Any) -> bool:
    """A value a manifest can record and give back unchanged: a bool, an int, a string, or a
    finite float (NaN and infinity have no JSON spelling)."""
    return isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value))


def _recorded_wrappers(env: Any) -> Optional[str]:
    """The Gymnasium wrappers over an instance (``env.spec.additional_wrappers``) as the core
    records them (JSON), or None when there are none. A wrapper whose arguments are not plain
    values (a function, an object) is recorded as such: later commands ask for the environment."""
    spec = getattr(env, "spec", None)
    wrappers = []
    for w in getattr(spec, "additional_wrappers", None) or ():
        kwargs = dict(getattr(w, "kwargs", None) or {})
        plain = {k: v for k, v in kwargs.items() if _plain(v)}
        wrappers.append({"name": str(w.name), "entryPoint": str(w.entry_point), "arguments": plain,
                         "recordable": len(plain) == len(kwargs)})
    return json.dumps(wrappers) if wrappers else None


def _recorded_arguments(env: Any) -> Optional[str]:
    """The keyword arguments an instance was made with that differ from its id's registered ones
    (``gym.make("ALE/Pong-v5", frameskip=1)``: frameskip), as JSON, so later commands reopen the
    same environment; None when there are none. Only plain values; ``render_mode`` is left out."""
    spec = getattr(env, "spec", None)
    given = dict(getattr(spec, "kwargs", None) or {})
    if not given or not getattr(spec, "id", None):
        return None
    try:
        import gymnasium
        registered = dict(gymnasium.spec(str(getattr(spec, "id"))).kwargs or {})
    except Exception:
        registered = {}
    changed = {k: v for k, v in given.items()
               if k != "render_mode" and _plain(v) and (k not in registered or registered[k] != v)}
    return json.dumps(changed) if changed else None


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

        def another() -> Any:
            # The instance, then its copy; more (one per collect_perturbation dynamics level) are copies too.
            for made in remaining:
                return made
            try:
                return copy.deepcopy(env)
            except Exception:
                if spec is None:
                    raise ValueError("the environment instance cannot be copied for another environment; pass its id or a "
                                     "factory (a class or function)") from None
                import gymnasium
                return gymnasium.make(spec.id)
        return another, name
    raise TypeError(f"env must be a Gymnasium id, a gymnasium.Env, or a factory returning one; got {type(env).__name__}")


def _refuse_both(function: str, given: Dict[str, Any], settings: Dict[str, Any]) -> None:
    """A keyword and the setting it stands for (``hidden`` and ``hidden_sizes``) both given is
    refused: neither would silently win."""
    for keyword, keys in (("hidden", ("hidden_sizes",)), ("steps", ("total_steps", "n_timesteps"))):
        both = [k for k in keys if k in settings]
        if given.get(keyword) is not None and both:
            raise TypeError(f"{function}() got both {keyword}= and {both[0]}=, which name one setting; give one of them")


@contextlib.contextmanager
def _isolation(core: Any, mode: str, env_arg: Any) -> Iterator[None]:
    """Runs the block with environments opened by name in worker processes (``mode="process"``)."""
    if mode not in ("none", "process"):
        raise ValueError(f"env_isolation must be 'none' or 'process', not {mode!r}")
    if mode == "process" and env_arg is not None and not isinstance(env_arg, str):
        raise ValueError("env_isolation='process' opens the environment in a worker process from its id or "
                         "'module:attribute'; pass env as that string, not as an object or factory")
    previous = core.set_env_isolation(mode=mode)
    try:
        yield
    finally:
        core.set_env_isolation(mode=previous)


def train(env: EnvSpec, *, out: PathLike, steps: Optional[int] = None, seed: Optional[int] = None,
          hidden: Optional[Sequence[int]] = None, force: bool = False, resume: bool = False,
          callback: Optional[Callback] = None, progress: bool = True, env_isolation: str = "none",
          event_interval: Optional[int] = None, _share_policy: bool = False, _replay_from: Optional[str] = None,
          _env_session: Optional[int] = None, _continue_episodes: bool = False, _continue_from: Optional[Dict[str, Any]] = None,
          _env_name: Optional[str] = None, _learning_rate_schedule: Optional[Callable[[int], float]] = None,
          **hyperparameters: Any) -> Tuple[Model, Dict[str, Any]]:
    """Trains a DQN teacher with the Swift core and returns ``(model, metrics)``.

    ``env`` is a Gymnasium id (``"CartPole-v1"``), a ``gymnasium.Env`` instance, or a factory
    (class or function) returning one. Defaults are rl-baselines3-zoo's tuned settings for the
    environment (Stable-Baselines3's DQN defaults, with a warning, where rl-zoo has none); any DQN setting may be given by name (``learning_rate=1e-3``, ``double_dqn=True``,
    …). ``out`` is the run directory (the best model at its top level, ``last/`` a checkpoint,
    ``metrics.csv``). ``callback`` receives event dicts (``kind`` is ``progress``, ``episode`` or
    ``eval``; a progress event every ``event_interval`` steps, 500 by default); one that returns
    ``"checkpoint"`` has the run save its checkpoint (``out/last``) right after that event. The GIL is released during gradient steps; Ctrl-C raises KeyboardInterrupt after a
    checkpoint is saved, and ``resume=True`` continues it (``steps``, ``learning_rate`` and the
    evaluation and checkpoint settings may change then; other settings are refused).
    ``env_isolation="process"`` runs the environment (given by id or ``"module:attribute"``) in a
    worker process, so one that crashes raises an exception here instead of killing the kernel.
    """
    core = _core()
    _refuse_both("train", {"hidden": hidden, "steps": steps}, hyperparameters)
    env_arg, env_name = _environment(env, eval_needed=True)
    env_name = _env_name or env_name
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path, got {type(out).__name__}")
    given = dict(hyperparameters)
    if steps is not None and not resume:
        given["total_steps"] = steps
    if seed is not None:
        given["seed"] = seed
    if hidden is not None:
        given["hidden_sizes"] = list(hidden)
    total = steps if steps is not None else _default("dqn", "total_steps", env_name)
    settings_text = _settings_json(given)
    on_event, close = _progress(callback, progress, total, "step")
    try:
        with _isolation(core, env_isolation, env_arg):
            summary = core.train(env=env_arg, env_name=env_name, env_wrappers=_recorded_wrappers(env), env_arguments=_recorded_arguments(env), settings=settings_text, out=os.fspath(out),
                             force=bool(force), resume=bool(resume), callback=on_event,
                             resume_steps=steps if resume else None, event_interval=event_interval,
                             share_policy=bool(_share_policy), replay_from=_replay_from, env_session=_env_session,
                             continue_episodes=bool(_continue_episodes), continue_from=_continue_from,
                             learning_rate_schedule=_learning_rate_schedule)
    finally:
        close()
    return load(out), summary


@overload
def distill(teacher: Dict[str, Any], *, out: PathLike, **settings: Any) -> Tuple[Dict[str, Model], Dict[str, Any]]: ...


@overload
def distill(teacher: Union[PathLike, Model, Sequence[Union[PathLike, Model]], None] = None, *, out: PathLike,
            **settings: Any) -> Tuple[Model, Dict[str, Any]]: ...


def distill(teacher: Union[PathLike, Model, Sequence[Union[PathLike, Model]], Dict[str, Any], None] = None, *, out: PathLike,
            hidden: Optional[Sequence[int]] = None, loss: Union[str, Dict[str, float], None] = None,
            temperature: Optional[float] = None, steps: Optional[int] = None, seed: Optional[int] = None,
            regime: Optional[str] = None, task_weight: Optional[float] = None, env: Optional[EnvSpec] = None,
            force: bool = False, resume: bool = False, callback: Optional[Callback] = None, progress: bool = True,
            env_isolation: str = "none",
            **more_settings: Any) -> Tuple[Union[Model, Dict[str, Model]], Dict[str, Any]]:
    """Distils a teacher (a model directory, ``Model`` or a Stable-Baselines3 DQN object or ``.zip``,
    written once as ``OUT.teacherK``; a list is an ensemble) into a student. A dict of teachers
    by task name (``{"cartpole": "runs/cp", "acrobot": "runs/ac"}``) distils them into one
    multi-task student (a shared trunk, an input layer and a head per task) and returns
    ``({task: Model}, metrics)`` with each task's returns in ``metrics["tasks"]``.

    ``loss`` names the distillation losses: ``"kl"``, ``"q-mse"``, ``"ce"``, a comma-separated
    mix, or a dict of weights (``{"kl": 1, "q-mse": 0.5}``); ``task_weight`` is λ in
    L = L_KD + λ·L_task. ``regime`` is ``student`` (DAgger), ``teacher``, ``mixed`` or ``offline``
    (with ``offline_observations="obs.npy"``). Other settings by name: ``feature_weight``,
    ``feature_student_layer``, ``feature_teacher_layer``, ``relational_weight``, ``learning_rate``,
    ``batch_size``, ``updates_per_step``, ``final_updates``, ``eval_interval``,
    ``distillation_schedule="linear"`` (kickstarting), ``generations=N`` (self-distillation into
    ``out/generation-G``), … ``sd.settings("distill")`` lists them all. ``env`` (an id, class,
    instance or factory) replaces the teacher's recorded environment. Returns ``(student, metrics)``
    (with ``generations``, the last generation's student).

    Ctrl-C (or an exception in ``callback``) saves a checkpoint in ``out/last``, as does every
    ``checkpoint_interval`` labelled states; ``resume=True`` continues it
    (``sd.distill(out="runs/student", resume=True, steps=60_000)``): the student, its optimiser,
    the losses' state, the step and random state come back, the labelled buffer refills from new
    states. ``steps``, ``learning_rate`` and the evaluation and checkpoint settings may change then;
    other settings are refused unless restated unchanged. Multi-task and co-distillation runs
    cannot be resumed.
    """
    core = _core()
    if teacher is None and not resume:
        raise TypeError("distill() needs a teacher: a model directory, a Model, a list of them, or a dict by task "
                        "(only resume=True continues without one)")
    if teacher is None:
        teacher = []
    if isinstance(teacher, dict):
        # Multi-task: {"cartpole": dir, "acrobot": [dir1, dir2]}; each task on its teacher's environment.
        if env is not None:
            raise ValueError("a multi-task distillation takes each task's environment from its teacher; drop env=")
        teachers: List[Tuple[Optional[str], Any]] = [(name, t) for name, value in teacher.items()
                                                     for t in (value if isinstance(value, (list, tuple)) else [value])]
    else:
        teachers = [(None, t) for t in (teacher if isinstance(teacher, (list, tuple)) else [teacher])]
    paths = []
    for k, (task, t) in enumerate(teachers):
        if hasattr(t, "q_net") or (isinstance(t, (str, os.PathLike)) and os.fspath(t).endswith(".zip")):
            # A Stable-Baselines3 DQN: written once as a model directory beside the student.
            from ._model import from_sb3
            converted = Path(os.fspath(out) + f".teacher{k}")
            t = from_sb3(t, converted, environment=env if isinstance(env, str) else None, force=converted.exists())
        path = os.fspath(t.path if isinstance(t, Model) else t)
        paths.append(path if task is None else f"{task}={path}")
    if isinstance(loss, dict):
        loss = ",".join(f"{k}:{float(v)}" for k, v in loss.items()) or "none"
    elif loss is not None and not isinstance(loss, str):
        raise TypeError(f"loss must be a string such as 'kl' or a dict of weights, got {type(loss).__name__}")
    named = {"hidden_sizes": None if hidden is None else list(hidden), "temperature": temperature, "steps": steps,
             "seed": seed, "regime": regime, "loss": loss, "task_weight": task_weight}
    # Defaults live in the core's settings table: only what the caller gave is sent.
    _refuse_both("distill", {"hidden": hidden}, more_settings)
    given = {**({"teachers": paths} if paths else {}), **{k: v for k, v in named.items() if v is not None}, **more_settings}
    total = steps if steps is not None else _checkpointed_steps(out) if resume else None
    total = total if total is not None else _default("distill", "steps")
    env_arg, env_name = _environment(env, eval_needed=True) if env is not None else (None, None)
    settings_text = _settings_json(given)
    on_event, close = _progress(callback, progress, total, "state")
    try:
        with _isolation(core, env_isolation, env_arg):
            summary = core.distill(settings=settings_text, out=os.fspath(out), env=env_arg, env_name=env_name,
                               env_wrappers=None if env is None else _recorded_wrappers(env),
                               env_arguments=None if env is None else _recorded_arguments(env),
                               force=bool(force), callback=on_event, resume=bool(resume))
    finally:
        close()
    if "tasks" in summary:
        return {name: load(summary["out"], task=name) for name in summary["tasks"]}, summary
    return load(summary["out"]), summary


def codistill(env: EnvSpec, *, out: PathLike, steps: Optional[int] = None, seed: Optional[int] = None,
              teacher: Optional[Dict[str, Any]] = None, hidden: Optional[Sequence[int]] = None,
              loss: Union[str, Dict[str, float], None] = None, temperature: Optional[float] = None, force: bool = False,
              resume: bool = False, callback: Optional[Callback] = None, progress: bool = True,
              env_isolation: str = "none", **student_settings: Any) -> Tuple[Model, Model, Dict[str, Any]]:
    """Online co-distillation: trains a DQN teacher on ``env`` (as ``train`` would: rl-zoo's
    defaults, ``teacher={"learning_rate": …}`` for its settings, ``steps`` and ``seed``) and, in
    the same loop, a student of ``hidden`` sizes distilling the teacher's current Q-values on its
    replay (``loss``, ``temperature`` and any distillation setting by name). The teacher's run is
    the one it would have had alone. Returns ``(teacher, student, metrics)``: the teacher's best
    network is in ``out/teacher``, the best student in ``out``. Ctrl-C saves a checkpoint of both
    in ``out/last`` (as do every ``teacher={"checkpoint_interval": N}`` steps, 10,000 by default); ``resume=True``
    continues it on ``env`` (``steps``, the learning rates and evaluation settings may change)."""
    core = _core()
    env_arg, env_name = _environment(env, eval_needed=True)
    teacher_given = dict(teacher or {})
    if steps is not None:
        teacher_given["total_steps"] = steps
    if seed is not None:
        teacher_given["seed"] = seed
    if isinstance(loss, dict):
        loss = ",".join(f"{k}:{float(v)}" for k, v in loss.items()) or "none"
    named = {"hidden_sizes": None if hidden is None else list(hidden), "temperature": temperature, "seed": seed, "loss": loss}
    _refuse_both("codistill", {"hidden": hidden}, student_settings)
    student_given = {**{k: v for k, v in named.items() if v is not None}, **student_settings}
    total = steps if steps is not None else _default("dqn", "total_steps", env_name)
    on_event, close = _progress(callback, progress, total, "step")
    try:
        with _isolation(core, env_isolation, env_arg):
            summary = core.codistill(env=env_arg, env_name=env_name, env_wrappers=_recorded_wrappers(env), env_arguments=_recorded_arguments(env),
                                 teacher_settings=_settings_json(teacher_given), student_settings=_settings_json(student_given),
                                 out=os.fspath(out), force=bool(force), callback=on_event, resume=bool(resume))
    finally:
        close()
    return load(summary["teacher"]), load(summary["out"]), summary


def evaluate(model: Union[PathLike, Model], env: EnvSpec, n_eval_episodes: int = 10, deterministic: bool = True,
             seed: Optional[int] = None, return_episode_rewards: bool = False,
             max_episode_steps: int = 100_000) -> Union[Tuple[float, float], Tuple[List[float], List[int]]]:
    """Stable-Baselines3's ``evaluate_policy`` for a saved model, in pure NumPy and Gymnasium:
    ``(mean, std)`` of the episode returns (population std, as NumPy), or the returns and
    lengths with ``return_episode_rewards=True``. Episode i is reset with ``seed + i`` when
    ``seed`` is given, as ``distill eval`` does. ``env`` may also be an SB3 ``VecEnv``: then the
    episodes are shared out among its environments as ``evaluate_policy`` shares them (and
    ``seed`` seeds the VecEnv). Continuous-action models step with their float actions."""
    m = model if isinstance(model, Model) else load(model)
    if not isinstance(n_eval_episodes, int) or n_eval_episodes < 1:
        raise ValueError(f"n_eval_episodes must be a positive integer, got {n_eval_episodes!r}")
    if hasattr(env, "num_envs") and hasattr(env, "step_async"):
        return _evaluate_vec_env(m, env, n_eval_episodes, deterministic, seed, return_episode_rewards)
    if isinstance(env, str):
        import gymnasium
        instance: Any = gymnasium.make(env)
    elif hasattr(env, "step") and hasattr(env, "reset"):
        instance = env
    elif callable(env):
        instance = env()
    else:
        raise TypeError(f"env must be a Gymnasium id, a gymnasium.Env, or a factory returning one; got {type(env).__name__}")
    start = getattr(getattr(instance, "action_space", None), "start", 0)
    returns: List[float] = []
    lengths: List[int] = []
    for episode in range(n_eval_episodes):
        obs, _ = instance.reset(seed=None if seed is None else seed + episode)
        total, length = 0.0, 0
        while length < max_episode_steps:
            action, _ = m.predict(obs, deterministic=deterministic)
            step_action = action if m.head in CONTINUOUS_HEADS else int(action) + int(start)
            obs, reward, terminated, truncated, _ = instance.step(step_action)
            total += float(reward)
            length += 1
            if terminated or truncated:
                break
        returns.append(total)
        lengths.append(length)
    if return_episode_rewards:
        return returns, lengths
    return float(np.mean(returns)), float(np.std(returns))


def _evaluate_vec_env(m: Model, venv: Any, n_eval_episodes: int, deterministic: bool, seed: Optional[int],
                      return_episode_rewards: bool) -> Union[Tuple[float, float], Tuple[List[float], List[int]]]:
    """``evaluate_policy`` on an SB3 ``VecEnv``: environment i plays (n + i) // num_envs episodes,
    every environment steps together (a finished one resets itself), and each episode counts
    when its environment reports it done; a ``Monitor`` underneath gives the episode's own return."""
    n = int(venv.num_envs)
    targets = [(n_eval_episodes + i) // n for i in range(n)]
    counts = [0] * n
    current_returns, current_lengths = np.zeros(n), np.zeros(n, dtype=int)
    returns: List[float] = []
    lengths: List[int] = []
    if seed is not None:
        venv.seed(seed)
    observations = venv.reset()
    while any(c < t for c, t in zip(counts, targets)):
        actions, _ = m.predict(observations, deterministic=deterministic)
        observations, rewards, dones, infos = venv.step(actions)
        current_returns += rewards
        current_lengths += 1
        for i in range(n):
            if counts[i] < targets[i] and dones[i]:
                episode = infos[i].get("episode")
                returns.append(float(episode["r"]) if episode else float(current_returns[i]))
                lengths.append(int(episode["l"]) if episode else int(current_lengths[i]))
                counts[i] += 1
            if dones[i]:
                current_returns[i], current_lengths[i] = 0, 0
    if return_episode_rewards:
        return returns, lengths
    return float(np.mean(returns)), float(np.std(returns))


def compare(teacher: Union[PathLike, Model], student: Union[PathLike, Model], *, episodes: int = 20,
            seed: int = 100, env: Optional[EnvSpec] = None) -> Dict[str, Any]:
    """Measures teacher and student in one run (as ``distill compare --json``). ``env`` (an id,
    class, instance or factory) replaces the environment the teacher recorded."""
    t = os.fspath(teacher.path if isinstance(teacher, Model) else teacher)
    s = os.fspath(student.path if isinstance(student, Model) else student)
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    env_arg = None if env is None else _environment(env, eval_needed=False)[0]
    report: Dict[str, Any] = json.loads(_core().compare(teacher=t, student=s, episodes=episodes, seed=seed, env=env_arg))
    return report


def robustness(models: Sequence[Union[PathLike, Model]], env: Optional[EnvSpec] = None, *, episodes: int = 20,
               seed: int = 100, obs_noise: Optional[Sequence[float]] = (0, 0.01, 0.03, 0.1, 0.3),
               random_actions: Optional[Sequence[float]] = (0, 0.1, 0.25),
               sticky_actions: Optional[Sequence[float]] = (0, 0.1, 0.25),
               vary: Optional[Dict[str, Sequence[float]]] = None, preset: bool = False, jobs: int = 1) -> Dict[str, Any]:
    """How ``models`` degrade under perturbation (as ``distill robustness``): each model on the
    same episodes (seeds ``seed``…) with the same noise at every level. The first model is the
    reference (usually the teacher): normalised returns are (R − random) / (reference − random),
    both clean, and observation noise levels are fractions of each value's spread on its states.

    ``obs_noise``, ``random_actions``, ``sticky_actions``: levels (None or empty leaves one out);
    ``vary``: ``{name: levels}`` of environment attributes (CartPole ``length``) or
    ``gymnasium.make`` keywords (LunarLander ``gravity``); ``preset``: the environment's preset;
    ``jobs``: worker processes measuring the models after the first side by side (as ``--jobs``;
    the report is the one-process one, as every worker plays the same episodes and noise). Workers
    open the environment by id, so with ``jobs`` > 1 ``env`` is an id or left to the models.

    Returns the report as a dict (``environment``, ``models``, ``reference_mean_return``,
    ``random_mean_return``, ``observation_spread``) with ``axes``: one dict per perturbation with
    ``kind``, ``parameter``, ``levels`` (array) and, per model × level, ``mean``, ``ci_low``,
    ``ci_high``, ``normalized_return`` (arrays of shape (models, levels)), ``returns`` (models,
    levels, episodes) and ``score`` (models,): the area under each model's normalised-return curve
    divided by the levels' span, and ``score_difference_ci`` (models, 2): the 95% interval of each
    model's score minus the reference's, by a paired bootstrap over the episodes (an interval
    holding 0 is a difference these episodes cannot tell from none)."""
    paths = [os.fspath(m.path if isinstance(m, Model) else m) for m in models]
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    env_arg = None if env is None else _environment(env, eval_needed=False)[0]
    levels = {name: [float(v) for v in (given or [])] for name, given in
              (("obs_noise", obs_noise), ("random_actions", random_actions), ("sticky_actions", sticky_actions))}
    texts = {str(name): [repr(v) if isinstance(v, (int, float)) else str(v) for v in values] for name, values in (vary or {}).items()}
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= 64:
        raise ValueError(f"jobs must be an integer from 1 to 64, got {jobs!r}")
    if jobs > 1 and len(paths) > 2:
        raw = _robustness_in_processes(paths, env_arg, episodes, seed, levels, texts, bool(preset), jobs)
    else:
        raw = json.loads(_core().robustness(models=paths, env=env_arg, episodes=episodes, seed=seed, vary=texts,
                                            preset=bool(preset), **levels))
    axes = []
    for a in raw["axes"]:
        results = a["results"]
        def field(key: str, results: List[List[Dict[str, Any]]] = results) -> NDArray[np.float64]:
            return np.array([[level[key] for level in model] for model in results], dtype=np.float64)
        axes.append({"kind": a["axis"]["kind"], "parameter": a["axis"].get("parameter"),
                     "levels": np.array(a["axis"]["levels"], dtype=np.float64),
                     "mean": field("mean"), "ci_low": field("ci_low"), "ci_high": field("ci_high"),
                     "normalized_return": field("normalized_return"),
                     "returns": np.array([[level["returns"] for level in model] for model in results], dtype=np.float64),
                     "score": np.array(a["scores"], dtype=np.float64),
                     "score_difference_ci": np.array(a.get("score_difference_ci") or [[0.0, 0.0]] * len(results),
                                                     dtype=np.float64)})
    raw["axes"] = axes
    raw["observation_spread"] = np.array(raw["observation_spread"], dtype=np.float32)
    return raw


def _robustness_in_processes(paths: List[str], env: Any, episodes: int, seed: int, levels: Dict[str, List[float]],
                             texts: Dict[str, List[str]], preset: bool, jobs: int) -> Dict[str, Any]:
    """``robustness(jobs=N)``: ``distill robustness --jobs N --json`` run by this interpreter (the
    package's own command, so the same core and the same packages), its JSON report returned."""
    import subprocess
    import sys
    if env is not None and not isinstance(env, str):
        raise ValueError("robustness(jobs > 1) measures in worker processes, which open the environment by its id; "
                         "pass env as a Gymnasium id, or jobs=1 for an environment instance or factory")
    argv = [sys.executable, "-m", "swiftdistill._cli", "robustness", *paths, "--episodes", str(episodes), "--seed", str(seed),
            "--jobs", str(jobs), "--json"]
    for flag, key in (("--obs-noise", "obs_noise"), ("--random-actions", "random_actions"), ("--sticky-actions", "sticky_actions")):
        argv += [flag, ",".join(repr(v) for v in levels[key]) or "none"]
    for name, values in texts.items():
        argv += ["--vary", f"{name}={','.join(values)}"]
    if preset:
        argv.append("--preset")
    if env is not None:
        argv += ["--env", env]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        message = lines[0].removeprefix("Error: ") if lines else f"the robustness workers failed with status {proc.returncode}"
        raise ValueError(message)
    report: Dict[str, Any] = json.loads(proc.stdout)
    return report


def quantize(model: Union[PathLike, Model], out: PathLike, *, calibration_states: int = 10_000,
             env: Optional[EnvSpec] = None, force: bool = False, recalibrate: bool = False) -> Model:
    """Quantises a ReLU student (dense or convolutional) to int8 (as ``distill quantize``): int8 weights with a scale per
    output unit, activations calibrated on ``calibration_states`` states the student visits in its
    recorded environment (or ``env``), int32 sums. Returns the int8 model, which ``load``,
    ``distill eval`` and ``Model.to_c`` run with the same integer arithmetic. A student distilled
    with ``quantize="int8"`` keeps the activation ranges it trained with (``recalibrate=True``
    calibrates anyway)."""
    path = os.fspath(model.path if isinstance(model, Model) else model)
    env_arg = None if env is None else _environment(env, eval_needed=False)[0]
    written = _core().quantize(model=path, out=os.fspath(out), calibration_states=calibration_states, env=env_arg,
                               force=bool(force), recalibrate=bool(recalibrate))
    return load(written)


def core_q_values(model: Union[PathLike, Model], observations: Any) -> NDArray[np.float32]:
    """The Swift core's Q-values for a batch (for checking the NumPy loader against it)."""
    import numpy as np
    path = os.fspath(model.path if isinstance(model, Model) else model)
    q: NDArray[np.float32] = _core().q_values(model=path, observations=np.ascontiguousarray(np.atleast_2d(observations),
                                                                                          dtype=np.float32))
    return q
