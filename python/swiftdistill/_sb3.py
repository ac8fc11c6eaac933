"""``swiftdistill.DQN``: Stable-Baselines3's DQN class — its constructor, defaults and methods —
trained by the Swift core. A user of SB3 changes the import, not the code:

    >>> from swiftdistill import DQN
    >>> model = DQN("MlpPolicy", "CartPole-v1", learning_rate=2.3e-3, seed=0).learn(50_000)
    >>> action, _ = model.predict(obs, deterministic=True)
    >>> model.save("dqn_cartpole"); model = DQN.load("dqn_cartpole")

Training runs in a run directory of its own (``tensorboard_log/DQN_N`` as SB3 names them, or a
temporary one), which a second ``learn`` continues (with its replay buffer, and with the
episodes in progress when ``reset_num_timesteps=False``). Callbacks follow SB3's protocol (``_on_step``
returning False stops training), so SB3's own ``CheckpointCallback``, ``EvalCallback``,
``StopTrainingOnRewardThreshold``, ``CallbackList`` and ``ProgressBarCallback`` work when SB3 is
installed. A vector environment (SB3's ``make_vec_env(id, n_envs=4)``, or a Gymnasium
``VectorEnv``) trains on its copies (in-process ones are its own objects), stepped together with
SB3's semantics (one step counts ``n_envs`` timesteps; ``train_freq`` counts steps of them all,
``target_update_interval`` timesteps); a ``SubprocVecEnv`` or ``AsyncVectorEnv`` runs them in
worker processes that step at the same time. ``learning_rate`` may be SB3's schedule and
``train_freq`` may count episodes, ``(n, "episode")``, as SB3's.
"""
import copy
import inspect
import itertools
import json
import os
import tempfile
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from numpy.typing import NDArray

from ._model import _CPU, Model, load, rewrite_tensors
from ._replay import ReplayBuffer, holds_replay, replay_files
from ._runzip import ScratchDirectory, archive, extract, run_directory, unpack, zip_path

__all__ = ["DQN"]


class _EnvironmentCountError(ValueError, AssertionError):
    """A new environment steps a different number of copies than the model's (a ValueError, and
    an AssertionError as SB3's ``set_env`` raises)."""


class _ParameterMismatch(ValueError, RuntimeError):
    """Parameters whose names do not match the network's (a ValueError, and a RuntimeError as
    torch's ``load_state_dict`` raises for SB3's ``set_parameters``)."""


# The SB3 attributes a save keeps beside the run (whose config holds the training settings), as
# SB3 keeps its model's data; ``save(exclude=…)`` leaves some out, ``include=…`` adds others.
_SAVED_ATTRIBUTES = ("verbose", "tensorboard_log", "num_timesteps", "_step_offset", "exploration_rate")


class _StopTraining(Exception):
    """A callback's ``on_step`` returned False: the run stops after its checkpoint."""


class _Logger:
    """The part of SB3's ``Logger`` callbacks use when SB3 is not installed: ``record`` keeps
    the last value of each key in ``name_to_value``; ``dump`` does nothing else."""

    def __init__(self) -> None:
        self.name_to_value: Dict[str, Any] = {}

    def record(self, key: str, value: Any, exclude: Any = None) -> None:
        """Keeps ``value`` under ``key``."""
        self.name_to_value[key] = value

    def record_mean(self, key: str, value: Any, exclude: Any = None) -> None:
        """As ``record`` (one value per key)."""
        self.name_to_value[key] = value

    def dump(self, step: int = 0) -> None:
        """Nothing to write: the run's own logs are metrics.csv and TensorBoard files."""


def _protocol_callback(callback: Any, progress_bar: bool) -> Any:
    """``callback`` (an SB3-style callback, a list of them, or None) as one object, with SB3's
    ``ProgressBarCallback`` added for ``progress_bar`` when SB3 is installed (without SB3 the
    package's own bar shows progress). A list becomes SB3's ``CallbackList``, or without SB3
    ``swiftdistill.callbacks.CallbackList``."""
    CallbackList: Any
    ProgressBarCallback: Any
    try:
        from stable_baselines3.common.callbacks import CallbackList, ProgressBarCallback
    except ImportError:
        from .callbacks import CallbackList
        ProgressBarCallback = None
    callbacks = list(callback) if isinstance(callback, (list, tuple)) else ([] if callback is None else [callback])
    if progress_bar and ProgressBarCallback is not None:
        callbacks.append(ProgressBarCallback())
    if not callbacks:
        return None
    return callbacks[0] if len(callbacks) == 1 else CallbackList(callbacks)


def _is_locals_function(callback: Any) -> bool:
    """A function of ``(locals, globals)``, SB3's old-style callback (``sd.train``'s callbacks
    take one event dict)."""
    if not callable(callback) or hasattr(callback, "on_step"):
        return False
    try:
        parameters = list(inspect.signature(callback).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    return len(positional) == 2


def _is_protocol_callback(callback: Any) -> bool:
    items = callback if isinstance(callback, (list, tuple)) else [callback]
    return callback is not None and all(hasattr(c, "on_step") and hasattr(c, "init_callback") for c in items)


def _activation_name(activation_fn: Any) -> str:
    """``torch.nn.ReLU`` or ``torch.nn.Tanh`` (the class, an instance, or its name) as a setting."""
    name = activation_fn if isinstance(activation_fn, str) else getattr(activation_fn, "__name__", type(activation_fn).__name__)
    if name.lower() in ("relu", "tanh"):
        return name.lower()
    raise ValueError(f"policy_kwargs activation_fn={name} is not supported; use torch.nn.ReLU or torch.nn.Tanh")


class DQN:
    """Stable-Baselines3's ``DQN`` with the Swift core doing the training.

    The arguments are SB3's, with its defaults and meanings; ``policy`` is ``"MlpPolicy"`` (a
    ``[64, 64]`` Q-network unless ``policy_kwargs=dict(net_arch=[…])``) or ``"CnnPolicy"`` (the
    Nature DQN network for image observations). ``env`` is a Gymnasium id, a ``gymnasium.Env``
    or a factory. ``seed=None`` draws a seed, as SB3 does; ``device`` may be ``"auto"`` or
    ``"cpu"`` (anything else runs on the CPU with a warning).
    """

    def __init__(self, policy: str, env: Any, learning_rate: Union[float, Callable[[float], float]] = 1e-4,
                 buffer_size: int = 1_000_000, learning_starts: int = 100, batch_size: int = 32, tau: float = 1.0,
                 gamma: float = 0.99, train_freq: Union[int, Tuple[int, str]] = 4, gradient_steps: int = 1,
                 replay_buffer_class: Any = None, replay_buffer_kwargs: Optional[Dict[str, Any]] = None,
                 optimize_memory_usage: bool = False, target_update_interval: int = 10_000,
                 exploration_fraction: float = 0.1, exploration_initial_eps: float = 1.0,
                 exploration_final_eps: float = 0.05, max_grad_norm: float = 10, stats_window_size: int = 100,
                 tensorboard_log: Optional[str] = None, policy_kwargs: Optional[Dict[str, Any]] = None,
                 verbose: int = 0, seed: Optional[int] = None, device: str = "auto", _init_setup_model: bool = True) -> None:
        if policy not in ("MlpPolicy", "CnnPolicy"):
            raise ValueError(f"policy={policy!r} is not supported; use 'MlpPolicy' or 'CnnPolicy'")
        if replay_buffer_class is not None:
            raise ValueError("replay_buffer_class is not supported: the Swift core has its own replay buffer "
                             "(prioritized_replay=True is its prioritized one)")
        buffer_kwargs = dict(replay_buffer_kwargs or {})
        # handle_timeout_termination=True (SB3's default) bootstraps from a time-limit
        # truncation's last observation, False treats it as terminal: the core's
        # time_limit_terminal. The core stores every observation once, as
        # optimize_memory_usage=True does: that is what it always does.
        self._time_limit_terminal = not buffer_kwargs.pop("handle_timeout_termination", True)
        if buffer_kwargs:
            raise ValueError(f"replay_buffer_kwargs {', '.join(sorted(buffer_kwargs))} not supported; the core's replay "
                             "buffer takes buffer_size (and prioritized_replay) only")
        del optimize_memory_usage  # always on: frames are stored once and shared by the transitions that use them
        self.train_freq_unit = "step"
        if isinstance(train_freq, tuple):
            frequency, unit = train_freq
            if unit not in ("step", "episode"):
                raise ValueError(f"train_freq={train_freq!r}: the unit must be 'step' or 'episode', e.g. (4, 'step') or 4")
            train_freq, self.train_freq_unit = int(frequency), str(unit)
        if str(device) not in ("auto", "cpu"):
            warnings.warn(f"device={device!r}: swift-distill trains on the CPU", stacklevel=2)
        if stats_window_size != 100:
            warnings.warn("stats_window_size has no effect: episode returns go to the run's monitor.csv and logs",
                          stacklevel=2)
        self.n_envs = self._check_env(env)
        if self.n_envs > target_update_interval:
            warnings.warn(f"The number of environments used is greater than the target network update interval "
                          f"({self.n_envs} > {target_update_interval}), therefore the target network will be updated "
                          f"after each step of all of them, which corresponds to {self.n_envs} timesteps.", stacklevel=2)
        self.policy_name = policy
        self._env = env
        # A schedule is SB3's: a function of the progress remaining (1 at the start of a learn,
        # 0 at its end), asked for each training round's learning rate.
        self._learning_rate_schedule = learning_rate if callable(learning_rate) else None
        self.learning_rate = float(learning_rate(1.0) if callable(learning_rate) else learning_rate)
        self._schedule_start = self.learning_rate
        self.buffer_size, self.learning_starts, self.batch_size = buffer_size, learning_starts, batch_size
        self.tau, self.gamma, self.train_freq, self.gradient_steps = tau, gamma, int(train_freq), gradient_steps
        self.target_update_interval = target_update_interval
        self.exploration_fraction = exploration_fraction
        self.exploration_initial_eps, self.exploration_final_eps = exploration_initial_eps, exploration_final_eps
        self.exploration_rate = exploration_initial_eps
        self.max_grad_norm = max_grad_norm
        self.tensorboard_log, self.verbose = tensorboard_log, verbose
        self.policy_kwargs = dict(policy_kwargs or {})
        self.seed = int(seed) if seed is not None else int(int(np.random.SeedSequence().entropy) % (2**31 - 1))  # type: ignore[arg-type]
        self.device = _CPU  # a torch-like device (``.type == "cpu"``), as SB3's model.device
        self.num_timesteps = 0
        # The core counts every step of the run; num_timesteps counts from the start of the learn
        # that reset it (SB3's reset_num_timesteps=True): the core's step there.
        self._step_offset = 0
        self._run: Optional[Path] = None
        self._temporary: Optional[tempfile.TemporaryDirectory[str]] = None
        self._model: Optional[Model] = None
        self._initial: Optional[tempfile.TemporaryDirectory[str]] = None
        self._initial_weights: Optional[Path] = None
        self._rng = np.random.default_rng(self.seed)
        self._training = False
        self._pending_saves: List[Any] = []
        self._logger: Any = None
        self._vec_env: Any = None
        # The replay buffer the next learn starts from when it is not the run's own (last/replay.*):
        # one load_replay_buffer read, or the view after add/extend; or none at all once set to None.
        self._replay_view: Optional[ReplayBuffer] = None
        self._replay_source: Optional[Path] = None
        self._replay_scratch: List[Any] = []
        self._replay_dropped = False
        # The environment objects the core steps are kept between learns (a session of the core),
        # so a learn with reset_num_timesteps=False goes on with their episodes, as SB3's does.
        self._env_session = next(_SESSIONS)
        # Where a saved model's episodes stood, for a first learn(reset_num_timesteps=False) after
        # DQN.load(…, force_reset=False) on the environment that was saved with it.
        self._saved_episodes: Optional[Dict[str, Any]] = None
        self._env_session_finalizer = weakref.finalize(self, _release_env_session, self._env_session)
        self._settings()  # refuses what policy_kwargs cannot say, now rather than at learn

    @staticmethod
    def _is_vector(env: Any) -> bool:
        """An SB3 VecEnv or a Gymnasium VectorEnv."""
        if hasattr(env, "num_envs") and hasattr(env, "step_async"):
            return True
        try:
            import gymnasium
            return isinstance(env, gymnasium.vector.VectorEnv)
        except ImportError:
            return False

    @classmethod
    def _check_env(cls, env: Any) -> int:
        """How many environments ``env`` steps together (1 for one environment); an in-process
        vector environment's (DummyVecEnv, SyncVectorEnv) copies are its own objects, stepped as
        SB3 steps them; a process-based one's are opened by the core from their registered id."""
        if not cls._is_vector(env):
            return 1
        cls._vector_source(env)
        return int(env.num_envs)

    @staticmethod
    def _vector_name(env: Any) -> Optional[str]:
        """The registered id of a vector environment's copies, for the manifest; None when it has none."""
        try:
            return DQN._vector_id(env)
        except ValueError:
            return None

    @classmethod
    def _vector_source(cls, env: Any) -> Any:
        """What the core steps a vector environment's copies from: an in-process vector
        environment's own copies in turn (copies of them after that, for evaluation), or for a
        process-based one the registered id, which the core opens in worker processes."""
        copies = list(getattr(env, "envs", None) or [])
        if not copies:
            return cls._vector_id(env)
        remaining = iter(copies)

        def another() -> Any:
            for made in remaining:
                return made
            return copy.deepcopy(copies[0])
        return another

    @staticmethod
    def _vector_id(env: Any) -> str:
        """The registered id a vector environment's copies were made from."""
        specs = list(env.get_attr("spec")) if hasattr(env, "get_attr") else []
        spec = specs[0] if specs else getattr(env, "spec", None)
        if spec is None or not getattr(spec, "id", None):
            raise ValueError("this vector environment's copies have no registered id; pass a VecEnv made from an id "
                             "(make_vec_env(\"CartPole-v1\", n_envs=4)), or one environment")
        import gymnasium
        known = gymnasium.spec(spec.id)
        registered = dict(known.kwargs, max_episode_steps=known.max_episode_steps)
        # A Gymnasium vector spec also names how it vectorised (make_vec's own keywords).
        vector_keys = ("render_mode", "num_envs", "vectorization_mode", "vector_kwargs", "wrappers")
        extra = {k: v for k, v in (getattr(spec, "kwargs", None) or {}).items()
                 if k not in vector_keys and registered.get(k, object()) != v}
        if extra:
            raise ValueError(f"this vector environment's copies of {spec.id} were made with keyword arguments {extra}, "
                             "which the core cannot pass to its own copies yet; pass one environment (an instance or a "
                             "factory) with them instead")
        return str(spec.id)

    def _settings(self) -> Dict[str, Any]:
        """The core's settings for SB3's arguments."""
        kwargs = dict(self.policy_kwargs)
        cnn = self.policy_name == "CnnPolicy"
        features = dict(kwargs.pop("features_extractor_kwargs", None) or {})
        features_dim = int(features.pop("features_dim", 512))
        if features or (not cnn and "features_extractor_kwargs" in self.policy_kwargs):
            raise ValueError("policy_kwargs features_extractor_kwargs takes features_dim only, with CnnPolicy (the "
                             "width of NatureCNN's last layer)")
        hidden = list(kwargs.pop("net_arch", [features_dim] if cnn else [64, 64]))
        if cnn and "net_arch" in self.policy_kwargs:
            hidden = [features_dim] + hidden  # NatureCNN's features, then the Q-network's own layers
        settings: Dict[str, Any] = {
            "hidden_sizes": hidden, "learning_rate": self.learning_rate, "buffer_size": self.buffer_size,
            "learning_starts": self.learning_starts, "batch_size": self.batch_size, "tau": self.tau, "gamma": self.gamma,
            "train_frequency": self.train_freq, "train_frequency_unit": self.train_freq_unit, "gradient_steps": self.gradient_steps,
            "target_update_interval": self.target_update_interval, "exploration_fraction": self.exploration_fraction,
            "exploration_initial": self.exploration_initial_eps, "exploration_final": self.exploration_final_eps,
            "max_grad_norm": self.max_grad_norm, "seed": self.seed, "environment_count": self.n_envs,
            # SB3 evaluates only through an EvalCallback, and its model is the last one trained.
            "eval_interval": 0,
            # A second learn samples the replay buffer the first one filled, as SB3's does.
            "checkpoint_replay_buffer": True,
        }
        if self._time_limit_terminal:
            settings["time_limit_terminal"] = True
        if "activation_fn" in kwargs:
            settings["activation"] = _activation_name(kwargs.pop("activation_fn"))
        if cnn:
            settings["convolutions"] = "nature"
        if self._initial_weights is not None:
            settings["initial_model"] = os.fspath(self._initial_weights)
        for key in ("normalize_images", "optimizer_class", "optimizer_kwargs", "features_extractor_class"):
            if key in kwargs and key != "normalize_images":
                raise ValueError(f"policy_kwargs {key} is not supported (Adam, and the network the policy names, are the core's)")
            kwargs.pop(key, None)
        if kwargs:
            raise ValueError(f"policy_kwargs {', '.join(sorted(kwargs))} not supported; net_arch and activation_fn are")
        return settings

    def _run_directory(self, tb_log_name: str) -> Path:
        if self._run is None:
            self._run, self._temporary = run_directory(self.tensorboard_log, tb_log_name, "swiftdistill-dqn-")
        return self._run

    def learn(self, total_timesteps: int, callback: Any = None, log_interval: int = 4, tb_log_name: str = "DQN",
              reset_num_timesteps: bool = True, progress_bar: bool = False) -> "DQN":
        """Trains for ``total_timesteps`` more environment steps and returns ``self``. A second
        call continues the same run (weights, optimiser, exploration schedule and replay
        buffer; the environments start new episodes). ``callback`` is an SB3 callback (or a list of
        them): ``on_training_start``, ``on_rollout_start``, ``on_step`` after every environment
        step (False stops training, after a checkpoint), ``on_rollout_end`` and
        ``on_training_end``; or a function of event dicts, as ``sd.train`` takes."""
        from ._api import train
        if _is_locals_function(callback):
            try:
                from stable_baselines3.common.callbacks import ConvertCallback
            except ImportError:
                from .callbacks import ConvertCallback  # type: ignore[assignment]
            callback = ConvertCallback(callback)
        protocol = _is_protocol_callback(callback) or (progress_bar and callback is None)
        if callback is not None and not protocol and not callable(callback):
            raise ValueError("callback must be an SB3 callback (with on_step and init_callback), a list of them, or a "
                             "function of event dicts")
        if self._model is not None and self._model.modified:
            # policy.load_state_dict(…) changed the network: this learn starts from those weights.
            self.set_parameters({"policy": self._model.params})
        run = self._run_directory(tb_log_name)
        resume = (run / "last" / "state.json").exists()
        steps_so_far = self.num_timesteps + self._step_offset
        if reset_num_timesteps:
            self._step_offset, self.num_timesteps = steps_so_far, 0
        # SB3 collects whole rounds of train_freq steps of every environment until
        # num_timesteps reaches the total, so a learn ends on a round's last step. (Rounds of
        # episodes end where the episodes do: such a learn stops at the total itself.)
        round_steps = self.train_freq * self.n_envs if self.train_freq_unit == "step" else 1
        target = steps_so_far + -(-int(total_timesteps) // round_steps) * round_steps
        schedule = self._schedule_for_learn(int(total_timesteps) + self.num_timesteps)
        on_event: Any = callback
        hooks: Any = None
        if protocol:
            hooks = _protocol_callback(callback, progress_bar)
        if hooks is not None:
            self.policy  # the model whose encoding predict reads during training (built before the run, not inside it)
            locals_: Dict[str, Any] = {"self": self, "total_timesteps": target, "callback": hooks, "log_interval": log_interval,
                                      "tb_log_name": tb_log_name, "reset_num_timesteps": reset_num_timesteps}
            hooks.init_callback(self)
            hooks.on_training_start(locals_, globals())
            hooks.on_rollout_start()

            # The step's episode ends, per environment, as SB3's callbacks read them from
            # ``locals``: ``dones`` and ``infos`` (with Monitor's ``episode`` record), and the
            # observations the environments are at, ``new_obs``, in their space's shape and dtype.
            ended: Dict[int, Dict[str, Any]] = {}
            space = _single_observation_space(self._env)

            def on_event(event: Dict[str, Any]) -> Optional[str]:
                if event.get("kind") == "episode":
                    ended[int(event.get("environment", 0))] = {"r": float(event["return"]), "l": int(event["length"])}
                    return None
                if event.get("kind") != "progress":
                    return None
                self._write_pending_saves()  # the checkpoint they asked for is there now
                self.num_timesteps = int(event["step"]) - self._step_offset
                if hasattr(hooks, "update_locals"):
                    dones = np.array([i in ended for i in range(self.n_envs)])
                    infos = [{"episode": ended[i]} if i in ended else {} for i in range(self.n_envs)]
                    from ._core import live_observations
                    hooks.update_locals({"num_collected_steps": self.num_timesteps, "dones": dones, "infos": infos,
                                         "new_obs": _as_observations(live_observations(), space)})
                ended.clear()
                if not hooks.on_step():
                    raise _StopTraining()
                return "checkpoint" if self._pending_saves else None
        progress = bool(self.verbose or progress_bar) and hooks is None  # SB3's own bar, when installed, is a callback
        # An in-process vector environment trains on its own copies (recorded under their
        # registered id); a process-based one on copies of the id the core opens in worker
        # processes stepping at the same time.
        vector = self.n_envs > 1 or self._is_vector(self._env)
        source = self._vector_source(self._env) if vector else self._env
        isolation = "process" if type(self._env).__name__ in ("SubprocVecEnv", "AsyncVectorEnv") else "none"
        name = self._vector_name(self._env) if vector and not isinstance(source, str) else None
        if not reset_num_timesteps and self._saved_episodes is not None:
            _adopt_episodes(self._env)
        self._training = True
        replay_from = self._replay_for_learn()
        try:
            if resume:
                train(source, out=run, steps=target, resume=True, env_isolation=isolation, callback=on_event, progress=progress,
                      event_interval=1 if hooks is not None else None, _share_policy=hooks is not None,
                      _replay_from=replay_from, _env_session=self._env_session, _continue_episodes=not reset_num_timesteps,
                      _continue_from=None if reset_num_timesteps else self._saved_episodes, _env_name=name,
                      _learning_rate_schedule=schedule, checkpoint_replay_buffer=True,
                      learning_rate=self.learning_rate if schedule is None else self._schedule_start)
            else:
                with warnings.catch_warnings():
                    # Every setting is SB3's argument here, so sd.train's notice that an environment
                    # without rl-zoo settings gets SB3's defaults says nothing to this caller.
                    warnings.filterwarnings("ignore", message=".*has no rl-baselines3-zoo settings")
                    train(source, out=run, steps=target, env_isolation=isolation, callback=on_event, progress=progress,
                          force=True, event_interval=1 if hooks is not None else None, _share_policy=hooks is not None,
                          _replay_from=replay_from, _env_session=self._env_session, _env_name=name,
                          _learning_rate_schedule=schedule, **self._settings())
        except _StopTraining:
            pass  # the run checkpointed where the callback stopped it
        finally:
            self._training = False
            # The run's checkpoint holds the buffer now (also after Ctrl-C).
            self._replay_view, self._replay_source, self._replay_dropped, self._replay_scratch = None, None, False, []
            self._saved_episodes = None
            state_file = run / "last" / "state.json"
            if state_file.exists():  # also after Ctrl-C: the steps the checkpoint holds
                self.num_timesteps = int(json.loads(state_file.read_text())["state"]["step"]) - self._step_offset
        self._write_pending_saves()
        self._after_training(run)
        if hooks is not None:
            hooks.on_rollout_end()
            hooks.on_training_end()
        return self

    def _schedule_for_learn(self, total: int) -> Optional[Callable[[int], float]]:
        """The core's learning-rate schedule (a function of its step) for a learn of ``total``
        timesteps as SB3 counts them: the given schedule at SB3's progress remaining,
        1 − num_timesteps / total, kept in ``learning_rate`` as it goes (SB3 logs it)."""
        given = self._learning_rate_schedule
        if given is None:
            return None
        offset = self._step_offset

        def rate(step: int) -> float:
            self.learning_rate = float(given(1.0 - (step - offset) / max(total, 1)))
            return self.learning_rate
        return rate

    def _replay_directory(self) -> Optional[Path]:
        """Where the current replay buffer's files are, if there is one."""
        if self._replay_dropped:
            return None
        if self._replay_source is not None:
            return self._replay_source
        if self._run is not None and holds_replay(self._run / "last"):
            return self._run / "last"
        return None

    def _scratch(self) -> Path:
        scratch = ScratchDirectory("swiftdistill-replay-")
        self._replay_scratch.append(scratch)
        return Path(scratch.name)

    def _replay_for_learn(self) -> Optional[str]:
        """The directory the next learn takes its replay buffer from, when not the run's own:
        the view as changed by add/extend, a loaded one, or an empty one after ``replay_buffer = None``."""
        if self._replay_view is not None and self._replay_view.modified:
            directory = self._scratch()
            self._replay_view.write(directory)
            return os.fspath(directory)
        if self._replay_dropped:
            return os.fspath(self._scratch())
        return None if self._replay_source is None else os.fspath(self._replay_source)

    @property
    def replay_buffer(self) -> Optional[ReplayBuffer]:
        """The replay buffer as SB3's ``ReplayBuffer`` reads (see ``swiftdistill._replay``): the
        transitions the last ``learn`` stored, which the next one samples; None before any."""
        if self._replay_view is None:
            directory = self._replay_directory()
            if directory is None:
                return None
            self._replay_view = ReplayBuffer(directory, _single_observation_space(self._env), self.gamma, self.device)
        return self._replay_view

    @replay_buffer.setter
    def replay_buffer(self, buffer: Optional[ReplayBuffer]) -> None:
        if buffer is not None and not isinstance(buffer, ReplayBuffer):
            raise TypeError(f"replay_buffer must be a swiftdistill ReplayBuffer (model.replay_buffer) or None, got "
                            f"{type(buffer).__name__}")
        self._replay_view = buffer
        self._replay_dropped = buffer is None
        if buffer is not None:
            buffer.modified = True  # the next learn starts from it

    def save_replay_buffer(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the replay buffer to ``path`` (a zip of its ``.npy`` files, written whole), for
        ``load_replay_buffer``; ``DQN.save`` leaves it out, as SB3's does."""
        directory = self._replay_directory()
        if self._replay_view is not None and self._replay_view.modified:
            directory = self._scratch()
            self._replay_view.write(directory)
        if directory is None:
            raise ValueError("save_replay_buffer: this model has no replay buffer yet; call learn first")
        names = set(replay_files())
        archive(directory, Path(path), leave_out=lambda name: name not in names)

    def load_replay_buffer(self, path: Union[str, "os.PathLike[str]"], truncate_last_traj: bool = True) -> None:
        """Reads a buffer ``save_replay_buffer`` wrote; the next ``learn`` samples it (its sizes
        must be this model's: ``buffer_size`` and the observations). ``truncate_last_traj`` has
        nothing to do here: every stored transition keeps its own next observation, and
        ``learn`` starts the environments afresh."""
        source = Path(path)
        for suffix in (".zip", ".pkl"):
            if not source.exists() and not source.suffix:
                source = source.with_name(source.name + suffix)
        if not source.is_file():
            raise FileNotFoundError(f"load_replay_buffer: {path} does not exist")
        directory = self._scratch()
        extract(source, directory, "replay buffer")
        if not holds_replay(directory) or any(p.name not in replay_files() for p in directory.iterdir()):
            raise ValueError(f"load_replay_buffer: {source} is not a swiftdistill replay buffer (save_replay_buffer writes one)")
        try:
            view = ReplayBuffer(directory, _single_observation_space(self._env), self.gamma, self.device)
        except (ValueError, KeyError, OSError, IndexError) as e:
            raise ValueError(f"load_replay_buffer: {source} does not read as a replay buffer ({e})") from None
        if view.buffer_size != self.buffer_size:
            raise ValueError(f"load_replay_buffer: {source} holds a buffer of {view.buffer_size} transitions and this "
                             f"model's buffer_size is {self.buffer_size}; give the model the same buffer_size")
        self._replay_source, self._replay_view, self._replay_dropped = directory, view, False

    @property
    def env(self) -> Any:
        """The training environment as SB3 keeps it: a vector environment (see ``get_env``)."""
        return self.get_env()

    @property
    def _last_obs(self) -> Optional[NDArray[Any]]:
        """The observations the training environments are at since the last ``learn`` (N × the
        observation space's shape), which a ``learn(reset_num_timesteps=False)`` goes on from, as
        SB3's; None before any, or after ``set_env`` with ``force_reset=True``."""
        live = self._episodes_in_progress()
        return None if live is None else _as_observations(live, _single_observation_space(self._env))

    def _episodes_in_progress(self) -> Optional[Dict[str, Any]]:
        """Where the training environments' episodes stand (the core's values, returns, lengths)."""
        from ._api import _core
        live: Optional[Dict[str, Any]] = _core().env_session_observations(session=self._env_session)
        return live if live is not None else self._saved_episodes

    @property
    def logger(self) -> Any:
        """SB3's ``Logger`` (its ``record`` is what callbacks write to), or a minimal stand-in."""
        if self._logger is None:
            try:
                from stable_baselines3.common.logger import Logger
                self._logger = Logger(folder=None, output_formats=[])
            except ImportError:
                self._logger = _Logger()
        return self._logger

    def get_vec_normalize_env(self) -> None:
        """No ``VecNormalize`` here (SB3's callbacks ask)."""
        return None

    def _after_training(self, run: Path) -> None:
        state = json.loads((run / "last" / "state.json").read_text())["state"]
        self.num_timesteps = int(state["step"]) - self._step_offset
        self._model = load(run / "last")
        # What SB3's DQN records in its logger by the end of a learn (callbacks and tests read them).
        self.logger.record("train/n_updates", int(state.get("gradientSteps", 0)))
        self.logger.record("train/learning_rate", self.learning_rate)
        self.logger.record("time/total_timesteps", self.num_timesteps)
        # ε where SB3's linear schedule leaves it at the end of learn: the final value, or on the
        # way there when the exploration fraction is over 1.
        fraction = self.exploration_fraction
        reached = 1.0 if fraction <= 1 else 1.0 / fraction
        self.exploration_rate = self.exploration_initial_eps + reached * (self.exploration_final_eps - self.exploration_initial_eps)

    @property
    def policy(self) -> Model:
        """The Q-network as a NumPy ``Model`` (``q_values``, ``predict``, exports): before the
        first ``learn``, the network it will start from (as SB3 builds its policy at
        construction), after it the trained one."""
        if self._model is None:
            self._model = self._initial_model()
        return self._model

    @policy.setter
    def policy(self, policy: Any) -> None:
        """Takes another ``Model`` of this network's shape (its weights, as ``set_parameters``), or
        this one compiled (``torch.compile(model.policy)``: the same policy, as SB3 keeps it)."""
        original = inspect.unwrap(policy) if callable(policy) and not isinstance(policy, Model) else policy
        if not isinstance(original, Model):
            raise TypeError(f"policy must be a swiftdistill Model (model.policy, or torch.compile of it), not "
                            f"{type(policy).__name__}")
        if original is not self._model:
            self.set_parameters({"policy": original.params})

    def _initial_model(self) -> Model:
        """The untrained network of these settings and seed: a one-step run that takes no
        gradient step, in a directory of its own (the run ``learn`` starts is not touched)."""
        from ._api import train
        if self._initial is None:
            self._initial = ScratchDirectory("swiftdistill-dqn-initial-")
        out = Path(self._initial.name) / "run"
        source = self._vector_source(self._env) if self._is_vector(self._env) else self._env
        if callable(source) and not isinstance(source, str) and self._is_vector(self._env):
            envs = list(self._env.envs)
            source = lambda: copy.deepcopy(envs[0])  # noqa: E731  (the copies themselves stay for learn)
        settings = dict(self._settings(), learning_starts=2, environment_count=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            train(source, out=out, steps=1, force=True, progress=False, **settings)
        return load(out / "last")

    q_net = policy

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> Tuple[NDArray[Any], None]:
        """SB3's ``predict``: the greedy action, or with ``deterministic=False`` a random one with
        probability ``exploration_rate`` (for the whole batch, as SB3's DQN does), as a NumPy
        array (shape () for one observation, (N,) for a batch) as SB3 returns it."""
        if self._training:
            # A callback acting mid-run (SB3's EvalCallback): the policy the core is training now,
            # given the observations as the network reads them (flat; one-hot or scaled as the
            # model records, which the starting model already says).
            from ._core import live_q_values
            assert self._model is not None, "learn loads the starting model before a callback runs"
            x, single = self._model._batch(observation)
            q = live_q_values(observations=np.ascontiguousarray(x, dtype=np.float32))
            greedy = np.argmax(q, axis=1)
            action: Any = int(greedy[0]) if single else greedy
            count = q.shape[1]
        else:
            model = self.policy
            action, _ = model.predict(observation, deterministic=True)
            count = model.action_count
        if not deterministic and self._rng.random() < self.exploration_rate:
            actions = self._rng.integers(0, count, size=np.shape(action))
            action = actions if np.ndim(action) else int(actions)
        return np.asarray(action, dtype=np.int64), None

    def get_env(self) -> Any:
        """The training environment as SB3 gives it: a vector environment as given; otherwise a
        one-environment ``DummyVecEnv`` when SB3 is installed (around the environment object
        training steps; of its own for an id or a factory), or the environment as given."""
        if self._is_vector(self._env):
            return self._env
        if self._vec_env is None:
            try:
                from stable_baselines3.common.env_util import make_vec_env
            except ImportError:
                return self._env
            env = self._env
            # An environment object is the one training steps (SB3 wraps the same object); an id
            # or a factory makes one of its own.
            self._vec_env = make_vec_env(env if isinstance(env, str) or callable(env) and not hasattr(env, "step")
                                         else (lambda: env), n_envs=1, seed=self.seed)
        return self._vec_env

    def set_env(self, env: Any, force_reset: bool = True) -> None:
        """Trains the next ``learn`` on ``env`` (same spaces, and as many copies). With
        ``force_reset=False`` and the model's own environment (``get_env()``), a
        ``learn(reset_num_timesteps=False)`` goes on with the episodes in progress; another
        environment starts new ones."""
        count = self._check_env(env)
        if count != self.n_envs:
            raise _EnvironmentCountError(f"env steps {count} environments together and this model {self.n_envs}; "
                                         "n_envs is fixed for a model's run")
        if not force_reset and (env is self._env or (self._vec_env is not None and env is self._vec_env)):
            return  # the same environments: their episodes go on
        _release_env_session(self._env_session)
        self._env = env
        self._vec_env = None

    def set_parameters(self, load_path_or_dict: Union[str, "os.PathLike[str]", Dict[str, Any]], exact_match: bool = True,
                       device: str = "auto") -> None:
        """SB3's ``set_parameters``: the Q-network's weights from ``{"policy": {name: array}}``
        (as ``get_parameters`` gives them) or from a ``save``d model's path. The trained run's
        checkpoint takes them too (its online and target networks), so the next ``learn``
        continues from them; before the first ``learn``, that ``learn`` starts from them
        (the core's ``initial_model``). Names and shapes must match (``exact_match=False`` leaves the missing
        ones as they are)."""
        if isinstance(load_path_or_dict, dict):
            objects = set(load_path_or_dict) - {"policy"}
            if "policy" in load_path_or_dict and objects:
                raise ValueError(f"set_parameters: this model's parameters are {{'policy': …}} only; "
                                 f"{', '.join(sorted(map(str, objects)))} is not one of its objects")
            given = dict(load_path_or_dict.get("policy", load_path_or_dict))
        else:
            given = DQN.load(load_path_or_dict).get_parameters()["policy"]
        current = self.policy.params
        unknown = sorted(set(given) - set(current))
        missing = sorted(set(current) - set(given))
        if unknown or (exact_match and missing):
            raise _ParameterMismatch(f"set_parameters: names do not match this network's ({', '.join(sorted(current))}); "
                             f"unknown {unknown}, missing {missing}")
        arrays: Dict[str, NDArray[Any]] = {}
        for name, value in given.items():
            array = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
            if array.shape != current[name].shape or not np.all(np.isfinite(array)):
                raise ValueError(f"set_parameters: {name} must be finite with shape {current[name].shape}, got {array.shape}")
            arrays[name] = array
        if self._run is not None and (self._run / "last" / "model.json").exists():
            rewrite_tensors(self._run / "last", {prefix + name: a for name, a in arrays.items() for prefix in ("", "online.", "target.")})
            self._model = load(self._run / "last")
        else:
            # Before the first learn: the starting network's directory takes them, and learn
            # starts from it (initial_model).
            self.policy
            assert self._initial is not None
            start = Path(self._initial.name) / "run" / "last"
            rewrite_tensors(start, arrays)
            self._model = load(start)
            self._initial_weights = start

    def get_parameters(self) -> Dict[str, Dict[str, Any]]:
        """``{"policy": {name: tensor}}``, the Q-network's weights by name, as SB3 gives them:
        the policy's ``state_dict`` (torch tensors when torch is installed, else NumPy arrays)."""
        return {"policy": dict(self.policy.state_dict())}

    def save(self, path: Union[str, "os.PathLike[str]"], exclude: Optional[List[str]] = None,
             include: Optional[List[str]] = None) -> None:
        """Writes the run (model, checkpoint and logs) to ``path`` as a zip (``.zip`` added as SB3
        does), which ``DQN.load`` reads back and a later ``learn`` continues. Called during
        ``learn`` (SB3's CheckpointCallback), it has the run save a checkpoint at this step and
        writes the zip from it before the next step. Beside the run go the model's attributes
        (``verbose``, ``tensorboard_log``, ``num_timesteps``, ``exploration_rate``): ``exclude``
        names ones to leave out, ``include`` other attributes to keep (numbers, strings, lists,
        dicts)."""
        target = zip_path(path)
        left_out = set(exclude or []) - set(include or [])  # include wins, as in SB3
        names = [n for n in _SAVED_ATTRIBUTES if n not in left_out] + [n for n in include or [] if n not in _SAVED_ATTRIBUTES]
        attributes: Dict[str, Any] = {}
        for name in names:
            value = getattr(self, name, None)
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise ValueError(f"save: include={name!r} is a {type(value).__name__}, and only numbers, strings, "
                                 "lists and dicts are kept") from None
            attributes[name] = value
        self._saved_attributes = attributes
        if self._training:
            self._pending_saves.append(target)
            return
        if self._run is None or not (self._run / "last" / "state.json").exists():
            # Before the first learn (SB3 saves its freshly built model): the network learn
            # would start from and the settings, marked untrained so a load starts a new run.
            self.policy
            assert self._initial is not None
            initial = Path(self._initial.name) / "run"
            (initial / "untrained").write_text("saved before learn: the network a first learn starts from\n")
            (initial / "sb3.json").write_text(json.dumps(attributes))
            archive(initial, target)
            return
        self._archive(target)

    def _write_pending_saves(self) -> None:
        pending, self._pending_saves = self._pending_saves, []
        for target in pending:
            self._archive(target)

    def _archive(self, target: Path) -> None:
        assert self._run is not None
        (self._run / "sb3.json").write_text(json.dumps(getattr(self, "_saved_attributes", {})))
        # Where the episodes stand, for DQN.load(…, force_reset=False) on the same environment (as SB3 keeps _last_obs).
        episodes, kept = self._episodes_in_progress(), self._run / "episodes.json"
        if episodes is None:
            kept.unlink(missing_ok=True)
        else:
            kept.write_text(json.dumps({"values": np.asarray(episodes["values"]).tolist(), "scale": episodes.get("scale"),
                                        "one_hot_start": episodes.get("one_hot_start"),
                                        "returns": list(map(float, episodes["returns"])),
                                        "lengths": list(map(int, episodes["lengths"])),
                                        "pending": episodes.get("pending")}))
        # SB3's save leaves the replay buffer out (save_replay_buffer writes it).
        archive(self._run, target, leave_out=lambda name: name.startswith("last/replay."))

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"], env: Any = None, device: str = "auto",
             custom_objects: Optional[Dict[str, Any]] = None, print_system_info: bool = False, force_reset: bool = True,
             **kwargs: Any) -> "DQN":
        """Reads a ``save``d model; ``env`` (else the recorded environment id) is what a later
        ``learn`` trains on. ``custom_objects`` replaces saved values (``learning_rate``, the saved
        attributes; other names are left alone, as SB3 leaves them); ``kwargs`` are constructor
        arguments that change the model (``learning_starts=0``). The archive is data: only its
        model files are read."""
        run, temporary = unpack(path, "DQN", "swiftdistill-dqn-")
        config = json.loads((run / "last" / "state.json").read_text())["config"]
        recorded = load(run / "last").environment
        if print_system_info:
            print(_system_info())
        cnn = config.get("convolutions", "none") != "none"
        net_arch = config["hidden_sizes"][1:] if cnn else config["hidden_sizes"]  # CnnPolicy's first layer is NatureCNN's
        policy_kwargs: Dict[str, Any] = {"net_arch": net_arch, "activation_fn": config.get("activation", "relu")}
        if cnn and config["hidden_sizes"][0] != 512:
            policy_kwargs["features_extractor_kwargs"] = {"features_dim": config["hidden_sizes"][0]}
        arguments: Dict[str, Any] = dict(
            learning_rate=config["learning_rate"], buffer_size=config["buffer_size"],
            learning_starts=config["learning_starts"], batch_size=config["batch_size"], tau=config["tau"],
            gamma=config["gamma"], train_freq=(config["train_frequency"], config.get("train_frequency_unit", "step")),
            gradient_steps=config["gradient_steps"],
            target_update_interval=config["target_update_interval"],
            exploration_fraction=config["exploration_fraction"], exploration_initial_eps=config["exploration_initial"],
            exploration_final_eps=config["exploration_final"], max_grad_norm=config["max_grad_norm"],
            policy_kwargs=policy_kwargs, seed=config["seed"], device=device,
            replay_buffer_kwargs={"handle_timeout_termination": not config.get("time_limit_terminal", False)})
        saved_path = run / "sb3.json"
        saved: Dict[str, Any] = json.loads(saved_path.read_text()) if saved_path.exists() else {}
        replaced = {k: v for k, v in (custom_objects or {}).items() if k in arguments or k in saved}
        arguments.update({k: v for k, v in replaced.items() if k in arguments})
        arguments.update(kwargs)
        if "verbose" in saved:
            arguments.setdefault("verbose", saved["verbose"])
        model = cls("CnnPolicy" if cnn else "MlpPolicy", env if env is not None else recorded, **arguments)
        for name, value in saved.items():
            if name != "verbose" or "verbose" in replaced:
                setattr(model, name, replaced.get(name, value))
        if (run / "untrained").exists():
            # Saved before its first learn: the same settings and starting network, no run yet.
            model._model, model._initial = load(run / "last"), temporary
            return model
        model._temporary, model._run = temporary, run
        model._after_training(run)
        if not force_reset and (run / "episodes.json").is_file():
            saved_episodes = json.loads((run / "episodes.json").read_text())
            saved_episodes["values"] = np.asarray(saved_episodes["values"], dtype=np.float32)
            if saved_episodes["values"].ndim == 2 and len(saved_episodes["values"]) == model.n_envs:
                model._saved_episodes = saved_episodes
        return model


_SESSIONS = itertools.count(1)


def _adopt_episodes(env: Any) -> None:
    """Lets SB3 ``Monitor`` wrappers of an environment loaded with ``force_reset=False`` step on
    without a reset: the episodes go on from where the saved model left them, as the caller said,
    though this ``Monitor`` object (made by ``get_env``) has not seen them start."""
    for copy_ in list(getattr(env, "envs", None) or [env]):
        if getattr(copy_, "needs_reset", False) is True and hasattr(copy_, "rewards"):
            copy_.needs_reset = False


def _release_env_session(session: int) -> None:
    """Lets the core drop a model's kept environments (at the model's end, or a new env)."""
    try:
        from ._api import _core
        _core().release_env_session(session=session)
    except Exception:  # noqa: BLE001  (at interpreter exit the core may be gone already)
        pass


def _single_observation_space(env: Any) -> Any:
    """One environment's observation space, of an SB3 VecEnv, a Gymnasium vector env, an env, or
    a registered id; None when there is none to ask (an id only the core knows, a factory)."""
    if isinstance(env, str):
        try:
            import gymnasium
            made = gymnasium.make(env)
        except Exception:  # noqa: BLE001  (ids only the core knows: the observations stay flat floats)
            return None
        made.close()
        return made.observation_space
    space = getattr(env, "single_observation_space", None)
    return space if space is not None else getattr(env, "observation_space", None)


def _as_observations(live: Dict[str, Any], space: Any) -> NDArray[Any]:
    """The core's current observations (one flat row per environment, scaled, Discrete spaces
    one-hot) as the environments gave them: (N, *shape) in the space's dtype."""
    values = np.asarray(live["values"])
    if live.get("one_hot_start") is not None:
        indices: NDArray[np.int64] = np.argmax(values, axis=1).astype(np.int64) + int(live["one_hot_start"])
        return indices
    scale = float(live.get("scale") or 1.0)
    observations = values / scale if scale != 1.0 else values
    if space is None:
        return observations
    dtype = np.dtype(getattr(space, "dtype", None) or np.float32)
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        observations = np.rint(observations)
    shape = tuple(getattr(space, "shape", None) or (values.shape[1],))
    return observations.astype(dtype).reshape((len(values),) + shape)


def _system_info() -> str:
    """What SB3's ``print_system_info`` prints, for this package: versions and the machine."""
    import platform
    from . import __version__
    return (f"- OS: {platform.platform()}\n- Python: {platform.python_version()}\n- swiftdistill: {__version__}\n"
            f"- NumPy: {np.__version__}\n- CPU: {platform.machine()} ({os.cpu_count()} logical cores)")
