"""Python environments for the Swift tests: well-behaved, old-API, failing and unsupported ones."""
import os

import numpy as np
import gymnasium as gym
from gymnasium import spaces


class CountingEnv(gym.Env):
    """Observation [t, t*0.5, -t]; reward = action; terminates at t == length.

    step() returns one preallocated tuple, so the environment costs almost nothing and a loop
    over it measures the bridge itself."""

    def __init__(self, length=10, dtype="float32"):
        self.length = length
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.dtype(dtype))
        self.action_space = spaces.Discrete(3, start=-1)
        self.t = 0
        self._obs = np.zeros(3, dtype=dtype)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0 if seed is None else int(seed) % 3
        self._obs[:] = (self.t, self.t * 0.5, -self.t)
        return self._obs, {}

    def step(self, action):
        assert action in (-1, 0, 1), action
        self.t += 1
        self._obs[:] = (self.t, self.t * 0.5, -self.t)
        return self._obs, float(action), self.t >= self.length, False, {}


class OldGymEnv:
    """The old gym API: seed(), reset() -> obs, step() -> (obs, reward, done, info)."""

    def __init__(self, limit=5):
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float64)
        self.action_space = spaces.Discrete(2)
        self.limit = limit
        self.t = 0
        self.seeded = None

    def seed(self, seed=None):
        self.seeded = seed
        return [seed]

    def reset(self):
        self.t = 0
        return np.array([0.0, float(self.seeded or 0)])

    def step(self, action):
        self.t += 1
        done = self.t >= self.limit
        info = {"TimeLimit.truncated": True} if done else {}
        return np.array([float(self.t), float(action)]), 1.0, done, info


class RaisingEnv(CountingEnv):
    """Raises from step() on the third call."""

    def step(self, action):
        if self.t >= 2:
            raise ValueError("boom at step 3")
        return super().step(action)


class ListObsEnv(CountingEnv):
    """Returns observations as Python lists of float64 (converted by the bridge)."""

    def step(self, action):
        obs, r, term, trunc, info = super().step(action)
        return [float(x) for x in obs], r, term, trunc, info


class ContinuousEnv(CountingEnv):
    """A Box action space: the reward is the action's value (a float32 array of one), checked in bounds."""

    def __init__(self):
        super().__init__()
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def step(self, action):
        assert isinstance(action, np.ndarray) and action.dtype == np.float32 and action.shape == (1,), action
        assert self.action_space.contains(action), action
        self.t += 1
        self._obs[:] = (self.t, self.t * 0.5, -self.t)
        return self._obs, float(action[0]), self.t >= self.length, False, {}


class UnboundedContinuousEnv(CountingEnv):
    def __init__(self):
        super().__init__()
        self.action_space = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)


class MatrixActionEnv(CountingEnv):
    def __init__(self):
        super().__init__()
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2, 2), dtype=np.float32)


class DictObsEnv(CountingEnv):
    def __init__(self):
        super().__init__()
        self.observation_space = spaces.Dict({"a": spaces.Box(0, 1, shape=(2,))})


class ImageEnv(CountingEnv):
    """A uint8 HWC image (6×5×3, pixel (y, x, c) = (40·t + 7·y + 3·x + c) mod 256); reward = action."""
    def __init__(self, length=10):
        super().__init__(length=length)
        self.observation_space = spaces.Box(0, 255, shape=(6, 5, 3), dtype=np.uint8)

    def image(self):
        y, x, c = np.meshgrid(np.arange(6), np.arange(5), np.arange(3), indexing="ij")
        return ((40 * self.t + 7 * y + 3 * x + c) % 256).astype(np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.image(), {}

    def step(self, action):
        _, r, term, trunc, info = super().step(action)
        return self.image(), r, term, trunc, info


class VideoEnv(CountingEnv):
    def __init__(self):
        super().__init__()
        self.observation_space = spaces.Box(0, 255, shape=(2, 4, 4, 3), dtype=np.uint8)


class DiscreteObsEnv(CountingEnv):
    """A Discrete observation space (from 2): the observation is the step count + 2, an int;
    past 12 steps it leaves the space (out_of_range=True)."""

    def __init__(self, out_of_range=False):
        super().__init__(length=20 if out_of_range else 10)
        self.observation_space = spaces.Discrete(14, start=2)

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return np.int64(self.t + 2), info

    def step(self, action):
        _, reward, terminated, truncated, info = super().step(action)
        return self.t + 2, reward, terminated, truncated, info


class BadStepEnv(CountingEnv):
    def step(self, action):
        return "not a tuple"


def make_counting(length=4):
    """A factory function, as users write them."""
    return CountingEnv(length=length)


not_callable = 42


class NonFiniteEnv(gym.Env):
    """A walk that returns a NaN reward or an infinite observation at global step `at`."""

    def __init__(self, at=300, what="reward"):
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.at, self.what, self.count, self.t = at, what, 0, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.count += 1
        self.t += 1
        obs = np.array([self.t / 10, action], np.float32)
        reward = 1.0
        if self.count >= self.at:
            if self.what == "reward":
                reward = float("nan")
            else:
                obs[0] = np.inf
        return obs, reward, self.t >= 10, False, {}


class LineWorld(gym.Env):
    """A line of n cells, one-hot observation of size n: the observation size depends on n."""

    def __init__(self, n=6):
        self.n = int(n)
        self.observation_space = spaces.Box(0, 1, shape=(self.n,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.pos = 0
        self.t = 0

    def _obs(self):
        o = np.zeros(self.n, np.float32)
        o[self.pos] = 1
        return o

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos, self.t = 0, 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        self.pos = max(0, min(self.n - 1, self.pos + (1 if action == 1 else -1)))
        done = self.pos == self.n - 1
        return self._obs(), float(done), done, self.t >= 4 * self.n, {}


class CrashingEnv(LineWorld):
    """A LineWorld whose process dies at its `at`-th step of all episodes: `how` is "segfault"
    (reads address 0), "exit" (os._exit(3), skipping every handler) or "raise"."""

    def __init__(self, n=6, at=50, how="segfault"):
        super().__init__(n=n)
        self.at, self.how, self.steps = at, how, 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.at:
            if self.how == "segfault":
                import ctypes
                ctypes.string_at(0)
            elif self.how == "exit":
                os._exit(3)
            else:
                raise RuntimeError("the plant broke")
        return super().step(action)


class HugeActionEnv(LineWorld):
    """A LineWorld with 10**12 actions: more outputs than any Q-network can have."""

    def __init__(self, n=6):
        super().__init__(n=n)
        self.action_space = spaces.Discrete(10 ** 12)


class ChannelsFirstImageEnv(ImageEnv):
    """ImageEnv's pixels as a (3, 6, 5) channels-first uint8 array, as Atari frame stacks come."""

    def __init__(self, length=10):
        super().__init__(length=length)
        self.observation_space = spaces.Box(0, 255, shape=(3, 6, 5), dtype=np.uint8)

    def image(self):
        return np.ascontiguousarray(super().image().transpose(2, 0, 1))
