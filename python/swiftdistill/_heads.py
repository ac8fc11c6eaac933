"""Output heads: what a model's outputs mean and how they become an action. Each head is one
class here and one entry in ``HEADS``; ``Model.act``, ``predict``, ``to_onnx`` and ``to_torch``
ask the model's head rather than naming heads themselves (the Swift core's heads are the files
``Sources/NN/*Head.swift``, one registry line each)."""
from typing import Any, Callable, Dict, List, Optional

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]


class Head:
    """A discrete head: one output per action, the greedy action their argmax."""

    name = ""
    phrase = ""
    continuous = False

    def action(self, z: FloatArray, low: FloatArray, high: FloatArray) -> FloatArray:
        """A continuous head's action for outputs ``z`` (float32) within ``low``…``high``."""
        raise NotImplementedError(f"the {self.name} head has discrete actions")

    def sample(self, z: FloatArray, low: FloatArray, high: FloatArray, log_std: Optional[FloatArray],
               rng: np.random.Generator) -> Optional[Any]:
        """A stochastic action as SB3's ``predict(deterministic=False)``; None when the head acts
        deterministically either way."""
        return None

    def onnx_action(self, make_node: Callable[..., Any], constant: Callable[[str, Any], str], low: FloatArray,
                    high: FloatArray) -> List[Any]:
        """ONNX nodes from ``q_values`` to ``action`` (continuous heads)."""
        raise NotImplementedError

    def torch_action(self, torch: Any, low: FloatArray, high: FloatArray) -> Any:
        """A TorchScript-able module from outputs to the action (continuous heads)."""
        raise NotImplementedError


class QValues(Head):
    name, phrase = "q", "Q-values"


class Categorical(Head):
    name, phrase = "categorical", "a categorical policy's logits"

    def sample(self, z: FloatArray, low: FloatArray, high: FloatArray, log_std: Optional[FloatArray],
               rng: np.random.Generator) -> Optional[Any]:
        p = np.exp(z.astype(np.float64) - z.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        if p.ndim == 1:
            return int(rng.choice(len(p), p=p))
        return np.array([rng.choice(p.shape[1], p=row) for row in p])


class Gaussian(Head):
    """The mean of a Gaussian policy; the action is the mean clipped to the bounds. With the
    policy's ``log_std`` it samples N(mean, σ²), clipped, as SB3's PPO does."""

    name, phrase, continuous = "gaussian", "a Gaussian policy's mean continuous action", True

    def action(self, z: FloatArray, low: FloatArray, high: FloatArray) -> FloatArray:
        return np.clip(z, low, high).astype(np.float32)

    def sample(self, z: FloatArray, low: FloatArray, high: FloatArray, log_std: Optional[FloatArray],
               rng: np.random.Generator) -> Optional[Any]:
        if log_std is None:
            return None
        noise = rng.standard_normal(z.shape).astype(np.float32)
        return np.clip(z + np.exp(log_std) * noise, low, high).astype(np.float32)

    def onnx_action(self, make_node: Callable[..., Any], constant: Callable[[str, Any], str], low: FloatArray,
                    high: FloatArray) -> List[Any]:
        return [make_node("Max", ["q_values", constant("action_low", low)], ["above_low"]),
                make_node("Min", ["above_low", constant("action_high", high)], ["action"])]

    def torch_action(self, torch: Any, low: FloatArray, high: FloatArray) -> Any:
        class Clip(torch.nn.Module):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self.register_buffer("low", torch.from_numpy(np.array(low, np.float32)))
                self.register_buffer("high", torch.from_numpy(np.array(high, np.float32)))

            def forward(self, z: torch.Tensor) -> torch.Tensor:
                return torch.maximum(torch.minimum(z, self.high), self.low)

        return Clip()


class Squashed(Head):
    """A tanh-squashed deterministic action (SAC, TD3): low + (tanh(z) + 1)·(high − low)/2."""

    name, phrase, continuous = "squashed", "a tanh-squashed continuous action", True

    def action(self, z: FloatArray, low: FloatArray, high: FloatArray) -> FloatArray:
        out: FloatArray = (low + (np.tanh(z) + np.float32(1)) * np.float32(0.5) * (high - low)).astype(np.float32)
        return out

    def onnx_action(self, make_node: Callable[..., Any], constant: Callable[[str, Any], str], low: FloatArray,
                    high: FloatArray) -> List[Any]:
        half = constant("half_range", ((high - low) * np.float32(0.5)).astype(np.float32))
        return [make_node("Tanh", ["q_values"], ["squashed"]),
                make_node("Add", ["squashed", constant("one", np.array(1, np.float32))], ["shifted"]),
                make_node("Mul", ["shifted", half], ["scaled_action"]),
                make_node("Add", [constant("action_low", low), "scaled_action"], ["action"])]

    def torch_action(self, torch: Any, low: FloatArray, high: FloatArray) -> Any:
        class Squash(torch.nn.Module):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self.register_buffer("low", torch.from_numpy(np.array(low, np.float32)))
                self.register_buffer("high", torch.from_numpy(np.array(high, np.float32)))

            def forward(self, z: torch.Tensor) -> torch.Tensor:
                return self.low + (torch.tanh(z) + 1.0) * 0.5 * (self.high - self.low)

        return Squash()


# The registry: one line per head.
HEADS: Dict[str, Head] = {h.name: h for h in (QValues(), Categorical(), Gaussian(), Squashed())}
CONTINUOUS_HEADS = tuple(name for name, h in HEADS.items() if h.continuous)
