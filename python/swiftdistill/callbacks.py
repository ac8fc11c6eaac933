"""Stable-Baselines3's callback classes for ``swiftdistill.DQN``, when SB3 is not installed.

The same names, arguments and protocol as ``stable_baselines3.common.callbacks`` — subclass
``BaseCallback`` and implement ``_on_step`` (returning False stops training) — so code written
for SB3 runs with only its imports changed. With SB3 installed, its own classes work on
``swiftdistill.DQN`` too; these are for a lighter environment (no torch).

    >>> from swiftdistill import DQN
    >>> from swiftdistill.callbacks import EvalCallback, StopTrainingOnRewardThreshold
    >>> stop = StopTrainingOnRewardThreshold(reward_threshold=475)
    >>> DQN("MlpPolicy", "CartPole-v1").learn(100_000, callback=EvalCallback("CartPole-v1", callback_on_new_best=stop))
"""
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["BaseCallback", "CallbackList", "CheckpointCallback", "ConvertCallback", "EvalCallback", "StopTrainingOnRewardThreshold",
           "ProgressBarCallback"]


class BaseCallback:
    """The protocol: ``init_callback(model)``, ``on_training_start``, ``on_rollout_start``,
    ``on_step`` after every environment step (its ``_on_step`` returning False stops training),
    ``on_rollout_end``, ``on_training_end``. ``self.model``, ``self.num_timesteps``,
    ``self.n_calls``, ``self.locals`` and ``self.globals`` are kept as SB3 keeps them."""

    def __init__(self, verbose: int = 0) -> None:
        self.verbose = verbose
        self.model: Any = None
        self.n_calls = 0
        self.num_timesteps = 0
        self.locals: Dict[str, Any] = {}
        self.globals: Dict[str, Any] = {}
        self.parent: Optional["BaseCallback"] = None

    @property
    def training_env(self) -> Any:
        """The model's environment (SB3 gives its VecEnv)."""
        return self.model.get_env() if self.model is not None else None

    @property
    def logger(self) -> Any:
        """The model's logger (``record`` keeps values by key)."""
        return self.model.logger

    def init_callback(self, model: Any) -> None:
        """Binds the callback to the model before training."""
        self.model = model
        self._init_callback()

    def _init_callback(self) -> None:
        """Subclasses prepare here (directories, state)."""

    def on_training_start(self, locals_: Dict[str, Any], globals_: Dict[str, Any]) -> None:
        """Called once as ``learn`` starts."""
        self.locals, self.globals = locals_, globals_
        self.num_timesteps = self.model.num_timesteps
        self._on_training_start()

    def _on_training_start(self) -> None:
        """Subclasses act at the start of training here."""

    def on_rollout_start(self) -> None:
        """Called before collection starts."""
        self._on_rollout_start()

    def _on_rollout_start(self) -> None:
        """Subclasses act before collection here."""

    def on_step(self) -> bool:
        """Called after every environment step; False stops training."""
        self.n_calls += 1
        self.num_timesteps = self.model.num_timesteps
        return self._on_step()

    def _on_step(self) -> bool:
        """What the callback does each step; return False to stop training."""
        return True

    def on_rollout_end(self) -> None:
        """Called after collection ends."""
        self._on_rollout_end()

    def _on_rollout_end(self) -> None:
        """Subclasses act after collection here."""

    def on_training_end(self) -> None:
        """Called once as ``learn`` returns."""
        self._on_training_end()

    def _on_training_end(self) -> None:
        """Subclasses act at the end of training here."""

    def update_locals(self, locals_: Dict[str, Any]) -> None:
        """Takes the training loop's variables (SB3 passes its locals)."""
        self.locals.update(locals_)


class CallbackList(BaseCallback):
    """Several callbacks as one: each in turn; training stops when any ``on_step`` is False."""

    def __init__(self, callbacks: Sequence[BaseCallback]) -> None:
        super().__init__()
        self.callbacks = list(callbacks)

    def _init_callback(self) -> None:
        for c in self.callbacks:
            c.init_callback(self.model)

    def _on_training_start(self) -> None:
        for c in self.callbacks:
            c.on_training_start(self.locals, self.globals)

    def _on_rollout_start(self) -> None:
        for c in self.callbacks:
            c.on_rollout_start()

    def _on_step(self) -> bool:
        results = [c.on_step() for c in self.callbacks]  # every callback sees every step
        return all(results)

    def _on_rollout_end(self) -> None:
        for c in self.callbacks:
            c.on_rollout_end()

    def _on_training_end(self) -> None:
        for c in self.callbacks:
            c.on_training_end()

    def update_locals(self, locals_: Dict[str, Any]) -> None:
        """Passes the loop's variables to every callback."""
        for c in self.callbacks:
            c.update_locals(locals_)


class ConvertCallback(BaseCallback):
    """A function of ``(locals, globals)`` as a callback (SB3's old way of giving one): it is
    called at every step, and returning False stops training."""

    def __init__(self, callback: Any, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.callback = callback

    def _on_step(self) -> bool:
        return self.callback is None or self.callback(self.locals, self.globals) is not False


class CheckpointCallback(BaseCallback):
    """Saves the model every ``save_freq`` calls as ``save_path/NAME_PREFIX_STEPS_steps.zip``."""

    def __init__(self, save_freq: int, save_path: str, name_prefix: str = "rl_model", save_replay_buffer: bool = False,
                 save_vecnormalize: bool = False, verbose: int = 0) -> None:
        super().__init__(verbose)
        if save_replay_buffer or save_vecnormalize:
            raise ValueError("save_replay_buffer and save_vecnormalize have nothing to save here: the checkpoint holds the "
                             "networks, optimiser and random state, and there is no VecNormalize")
        self.save_freq, self.save_path, self.name_prefix = save_freq, save_path, name_prefix

    def _init_callback(self) -> None:
        os.makedirs(self.save_path, exist_ok=True)

    def _on_step(self) -> bool:
        if self.save_freq > 0 and self.n_calls % self.save_freq == 0:
            path = os.path.join(self.save_path, f"{self.name_prefix}_{self.num_timesteps}_steps")
            self.model.save(path)
            if self.verbose >= 2:
                print(f"Saving model checkpoint to {path}.zip")
        return True


class StopTrainingOnRewardThreshold(BaseCallback):
    """Given to ``EvalCallback(callback_on_new_best=…)``: stops training once the best mean
    evaluation return reaches ``reward_threshold``."""

    def __init__(self, reward_threshold: float, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.reward_threshold = reward_threshold

    def _on_step(self) -> bool:
        if not isinstance(self.parent, EvalCallback):
            raise ValueError("StopTrainingOnRewardThreshold goes in EvalCallback(callback_on_new_best=…)")
        keep_going = bool(self.parent.best_mean_reward < self.reward_threshold)
        if not keep_going and self.verbose >= 1:
            print(f"Stopping training: the mean return {self.parent.best_mean_reward:.2f} reached the threshold "
                  f"{self.reward_threshold}")
        return keep_going


class EvalCallback(BaseCallback):
    """Every ``eval_freq`` calls, plays ``n_eval_episodes`` with the policy being trained on
    ``eval_env`` (a Gymnasium id or ``gymnasium.Env``); keeps ``last_mean_reward`` and
    ``best_mean_reward``, saves a new best to ``best_model_save_path/best_model.zip``, writes
    ``log_path/evaluations.npz`` (``timesteps``, ``results``, ``ep_lengths``, as SB3 does) and
    calls ``callback_on_new_best`` on a new best (its False stops training)."""

    def __init__(self, eval_env: Any, callback_on_new_best: Optional[BaseCallback] = None,
                 callback_after_eval: Optional[BaseCallback] = None, n_eval_episodes: int = 5, eval_freq: int = 10_000,
                 log_path: Optional[str] = None, best_model_save_path: Optional[str] = None, deterministic: bool = True,
                 render: bool = False, verbose: int = 1, warn: bool = True) -> None:
        super().__init__(verbose)
        if isinstance(eval_env, str):
            import gymnasium
            eval_env = gymnasium.make(eval_env)
        if hasattr(eval_env, "num_envs") and hasattr(eval_env, "step_async"):
            raise ValueError("eval_env: vector environments are not supported yet; pass one gymnasium.Env or an id")
        self.eval_env = eval_env
        self.callback_on_new_best, self.callback_after_eval = callback_on_new_best, callback_after_eval
        for c in (callback_on_new_best, callback_after_eval):
            if c is not None:
                c.parent = self
        self.n_eval_episodes, self.eval_freq, self.deterministic = n_eval_episodes, eval_freq, deterministic
        self.log_path = None if log_path is None else os.path.join(log_path, "evaluations")
        self.best_model_save_path = best_model_save_path
        self.best_mean_reward = -np.inf
        self.last_mean_reward = -np.inf
        self.evaluations_timesteps: List[int] = []
        self.evaluations_results: List[List[float]] = []
        self.evaluations_length: List[List[int]] = []

    def _init_callback(self) -> None:
        for c in (self.callback_on_new_best, self.callback_after_eval):
            if c is not None:
                c.init_callback(self.model)
        for directory in (self.best_model_save_path, None if self.log_path is None else os.path.dirname(self.log_path)):
            if directory:
                os.makedirs(directory, exist_ok=True)

    def _episodes(self) -> Tuple[List[float], List[int]]:
        returns: List[float] = []
        lengths: List[int] = []
        for _ in range(self.n_eval_episodes):
            obs, _ = self.eval_env.reset()
            done, total, length = False, 0.0, 0
            while not done:
                action, _ = self.model.predict(obs, deterministic=self.deterministic)
                obs, reward, terminated, truncated, _ = self.eval_env.step(int(action))
                total += float(reward)
                length += 1
                done = bool(terminated or truncated)
            returns.append(total)
            lengths.append(length)
        return returns, lengths

    def _on_step(self) -> bool:
        if self.eval_freq <= 0 or self.n_calls % self.eval_freq != 0:
            return True
        returns, lengths = self._episodes()
        self.evaluations_timesteps.append(self.num_timesteps)
        self.evaluations_results.append(returns)
        self.evaluations_length.append(lengths)
        if self.log_path is not None:
            np.savez(self.log_path, timesteps=self.evaluations_timesteps, results=self.evaluations_results,
                     ep_lengths=self.evaluations_length)
        mean = float(np.mean(returns))
        self.last_mean_reward = mean
        if self.verbose >= 1:
            print(f"Eval num_timesteps={self.num_timesteps}, episode_reward={mean:.2f} +/- {float(np.std(returns)):.2f}")
        self.logger.record("eval/mean_reward", mean)
        self.logger.record("eval/mean_ep_length", float(np.mean(lengths)))
        keep_going = True
        if mean > self.best_mean_reward:
            self.best_mean_reward = mean
            if self.best_model_save_path is not None:
                self.model.save(os.path.join(self.best_model_save_path, "best_model"))
            if self.callback_on_new_best is not None:
                keep_going = self.callback_on_new_best.on_step()
        if self.callback_after_eval is not None:
            keep_going = self.callback_after_eval.on_step() and keep_going
        return keep_going


class ProgressBarCallback(BaseCallback):
    """A tqdm bar over the timesteps of ``learn`` (needs tqdm: ``pip install tqdm``)."""

    def __init__(self) -> None:
        super().__init__()
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError("ProgressBarCallback needs tqdm: pip install tqdm") from None
        self._tqdm = tqdm
        self.bar: Any = None

    def _on_training_start(self) -> None:
        self.bar = self._tqdm(total=self.locals["total_timesteps"] - self.model.num_timesteps, unit="step", dynamic_ncols=True)

    def _on_step(self) -> bool:
        self.bar.update(1)
        return True

    def _on_training_end(self) -> None:
        self.bar.refresh()
        self.bar.close()
