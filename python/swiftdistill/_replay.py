"""A DQN run's replay buffer as Stable-Baselines3's ``ReplayBuffer`` reads: ``model.replay_buffer``.

The core keeps the buffer in the run's checkpoint (``last/replay.*``, plain ``.npy`` files: each
distinct frame once, and per slot the frames of its observation and next observation, its action,
reward and discount). This view decodes them into SB3's arrays, slot by slot in the same ring
(``pos``, ``full``), with the environment axis of length 1: the core keeps one ring for all its
environments. ``add``/``extend`` write new transitions into it, and the next ``learn`` trains on
the buffer as changed.
"""
import json
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
from numpy.typing import NDArray

_FILES = ("replay.json", "replay.frames.npy", "replay.frame_ids.npy", "replay.actions.npy", "replay.rewards.npy",
          "replay.discounts.npy", "replay.priorities.npy")


class ReplayBufferSamples(NamedTuple):
    """A sampled minibatch, with SB3's field names."""
    observations: Any
    actions: Any
    next_observations: Any
    dones: Any
    rewards: Any
    discounts: Any = None


def holds_replay(directory: Path) -> bool:
    """True when ``directory`` holds a replay buffer's files."""
    return (directory / "replay.json").is_file()


class ReplayBuffer:
    """The replay buffer of a ``swiftdistill.DQN``, with SB3's ``ReplayBuffer`` attributes:
    ``observations`` and ``next_observations`` (buffer_size × 1 × observation shape, in the
    observation space's dtype), ``actions`` (buffer_size × 1 × 1), ``rewards``, ``dones`` and
    ``timeouts`` (buffer_size × 1, float32), ``pos``, ``full``, ``buffer_size``, ``n_envs`` and
    ``size()``. Rewards are the core's n-step sums (one-step ones unless ``n_step`` was set),
    ``discounts`` their γ^k. ``dones`` marks the transitions that end without bootstrapping: an
    episode cut by a time limit bootstraps from its last observation (SB3's
    ``handle_timeout_termination``) and so is stored as not done, which leaves ``timeouts`` zero."""

    def __init__(self, directory: Path, observation_space: Any, gamma: float, device: Any) -> None:
        from ._sb3 import _as_observations
        self._layout: Dict[str, Any] = json.loads((directory / "replay.json").read_text())
        layout = self._layout
        self.buffer_size = int(layout["capacity"])
        self.n_envs = 1
        self.pos = int(layout["position"])
        self._count = int(layout["count"])
        self.full = self._count == self.buffer_size
        self.device = device
        self.observation_space = observation_space
        self._gamma = float(gamma)
        self.modified = False
        frames = np.load(directory / "replay.frames.npy", allow_pickle=False)
        ids = np.load(directory / "replay.frame_ids.npy", allow_pickle=False)
        count, parts = self._count, int(layout["frames"])
        if layout.get("byte_scale") is not None:
            frames = frames.astype(np.float32) * np.float32(layout["byte_scale"])

        def decoded(which: int) -> NDArray[Any]:
            flat = frames[ids[:, which, :]].reshape(count, -1) if count else np.zeros((0, frames.shape[1] * parts), np.float32)
            live = {"values": flat, "scale": layout["observation_scale"], "one_hot_start": layout.get("one_hot_start")}
            return _as_observations(live, observation_space)

        observations, next_observations = decoded(0), decoded(1)
        shape, dtype = observations.shape[1:], observations.dtype
        self.observations = np.zeros((self.buffer_size, 1) + shape, dtype=dtype)
        self.next_observations = np.zeros((self.buffer_size, 1) + shape, dtype=dtype)
        self.observations[:count, 0] = observations
        self.next_observations[:count, 0] = next_observations
        self.actions = np.zeros((self.buffer_size, 1, 1), dtype=np.int64)
        self.actions[:count, 0, 0] = np.load(directory / "replay.actions.npy", allow_pickle=False)
        self.rewards = np.zeros((self.buffer_size, 1), dtype=np.float32)
        self.rewards[:count, 0] = np.load(directory / "replay.rewards.npy", allow_pickle=False)
        self.discounts = np.zeros((self.buffer_size, 1), dtype=np.float32)
        self.discounts[:count, 0] = np.load(directory / "replay.discounts.npy", allow_pickle=False)
        self.dones = (self.discounts == 0).astype(np.float32)
        self.dones[count:] = 0
        self.timeouts = np.zeros((self.buffer_size, 1), dtype=np.float32)
        self._priorities: Optional[NDArray[np.float64]] = None
        if (directory / "replay.priorities.npy").is_file():
            self._priorities = np.zeros(self.buffer_size, dtype=np.float64)
            self._priorities[:count] = np.load(directory / "replay.priorities.npy", allow_pickle=False)

    def sample(self, batch_size: int, env: Any = None) -> "ReplayBufferSamples":
        """``batch_size`` transitions drawn uniformly with replacement, as SB3's ``sample``: torch
        tensors when torch is installed (NumPy arrays otherwise), ``dones`` the transitions that
        end without bootstrapping, ``discounts`` their γ^k. ``env`` (a ``VecNormalize``)
        normalises observations and rewards, as in SB3."""
        if self.size() == 0:
            raise ValueError("sample: the replay buffer is empty")
        rows = np.random.randint(0, self.size(), size=batch_size)
        observations, next_observations = self.observations[rows, 0], self.next_observations[rows, 0]
        rewards = self.rewards[rows, 0].reshape(-1, 1)
        if env is not None:
            observations, next_observations = env.normalize_obs(observations), env.normalize_obs(next_observations)
            rewards = env.normalize_reward(rewards)
        data = (observations, self.actions[rows, 0], next_observations, self.dones[rows, 0].reshape(-1, 1), rewards,
                self.discounts[rows, 0].reshape(-1, 1))
        try:
            import torch
            return ReplayBufferSamples(*(torch.tensor(np.asarray(d)) for d in data))
        except ImportError:
            return ReplayBufferSamples(*(np.asarray(d) for d in data))

    def size(self) -> int:
        """The number of transitions stored."""
        return self.buffer_size if self.full else self.pos

    def add(self, obs: Any, next_obs: Any, action: Any, reward: Any, done: Any, infos: List[Dict[str, Any]]) -> None:
        """Stores one transition (SB3's ``add``: arrays with the environment axis first, of
        length 1), overwriting the oldest when full. A ``done`` whose info says
        ``TimeLimit.truncated`` is stored as not done, so it bootstraps as the core's own
        time-limit cuts do."""
        truncated = bool(infos and infos[0].get("TimeLimit.truncated", False))
        terminal = bool(np.asarray(done).reshape(-1)[0]) and not truncated
        slot = self.pos
        self.observations[slot] = np.asarray(obs).reshape(self.observations.shape[1:])
        self.next_observations[slot] = np.asarray(next_obs).reshape(self.next_observations.shape[1:])
        self.actions[slot] = np.asarray(action).reshape(self.actions.shape[1:])
        self.rewards[slot] = np.asarray(reward, dtype=np.float32).reshape(-1)[0]
        self.discounts[slot] = 0.0 if terminal else self._gamma
        self.dones[slot] = float(terminal)
        if self._priorities is not None:
            self._priorities[slot] = self._layout.get("max_priority") or 1.0
        self.pos = (self.pos + 1) % self.buffer_size
        self.full = self.full or self.pos == 0
        self.modified = True

    def extend(self, *args: Any, **kwargs: Any) -> None:
        """Stores several transitions: SB3's ``extend``, ``add`` for each row of its arrays."""
        for data in zip(*args):
            self.add(*data)

    def write(self, directory: Path) -> None:
        """Writes the buffer as the core's replay files into ``directory``: each observation and
        next observation as frames of their own (the core shares equal frames again as it goes)."""
        layout = dict(self._layout)
        count, parts = self.size(), int(layout["frames"])
        layout.update(count=count, position=self.pos)

        def flat(observations: NDArray[Any]) -> NDArray[Any]:
            values = np.asarray(observations[:count, 0])
            start = layout.get("one_hot_start")
            if start is not None:
                width = int(layout["observation_size"])
                out = np.zeros((count, width), dtype=np.float32)
                out[np.arange(count), values.reshape(count).astype(np.int64) - int(start)] = 1.0
                return out
            values = values.reshape(count, -1)
            if layout.get("byte_scale") is not None:
                stored: NDArray[np.uint8] = np.rint(values).astype(np.uint8)  # the space's own integers, as the core stores them
                return stored
            scaled: NDArray[np.float32] = values.astype(np.float32) * np.float32(layout["observation_scale"])
            return scaled

        observations, next_observations = flat(self.observations), flat(self.next_observations)
        frames = np.concatenate([observations, next_observations]).reshape(2 * count * parts, -1)
        ids = np.arange(2 * count * parts, dtype=np.int32).reshape(2, count, parts).transpose(1, 0, 2)
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "replay.frames.npy", np.ascontiguousarray(frames))
        np.save(directory / "replay.frame_ids.npy", np.ascontiguousarray(ids))
        np.save(directory / "replay.actions.npy", self.actions[:count, 0, 0].astype(np.int32))
        np.save(directory / "replay.rewards.npy", self.rewards[:count, 0].astype(np.float32))
        np.save(directory / "replay.discounts.npy", self.discounts[:count, 0].astype(np.float32))
        if self._priorities is not None:
            np.save(directory / "replay.priorities.npy", self._priorities[:count])
        (directory / "replay.json").write_text(json.dumps(layout))


def replay_files() -> Tuple[str, ...]:
    """The names of a replay buffer's files."""
    return _FILES
