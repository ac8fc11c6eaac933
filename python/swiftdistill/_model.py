"""Saved swift-distill models, read with plain NumPy (no Swift needed)."""
from __future__ import annotations

import json
import math
import os
import shutil
import stat
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
from numpy.typing import NDArray

from ._heads import CONTINUOUS_HEADS, HEADS

PathLike = Union[str, "os.PathLike[str]"]


FORMAT_VERSION = 2  # 1: float models; 2: quantised ones (they carry "quantization")


def _tensor_file(root: Path, manifest_path: Path, entry: Dict[str, Any], shape: Tuple[Any, ...]) -> Path:
    """The entry's file, refused unless it is a regular file directly inside the directory and no
    larger than its shape needs (a model directory from elsewhere is data, not paths to follow)."""
    name = entry.get("file")
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"{manifest_path} is not a valid model manifest (tensor {entry.get('name')} names {name!r}, "
                         "which is not a file inside the model directory); re-export the model")
    file = root / name
    try:
        info = os.lstat(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"{file} does not exist but model.json lists it") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{file} is not a regular file (a link, device, pipe or directory); a model directory holds "
                         "only plain files, so re-export the model")
    limit = math.prod(shape) * 8 + 65_600
    if info.st_size > limit:
        raise ValueError(f"{file} has {info.st_size} bytes, more than its manifest entry can need ({limit}); "
                         "the model directory is damaged or not a model, re-export it")
    return file


def _read_header(stream: Any, version: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """The header dict of an .npy file (any NumPy version: no private API), checked."""
    import ast
    import struct
    size_bytes = stream.read(2 if version[0] == 1 else 4)
    (length,) = struct.unpack("<H" if version[0] == 1 else "<I", size_bytes)
    if length > 65_536:
        raise ValueError(f"a header of {length} bytes")
    text = stream.read(length)
    if len(text) != length:
        raise ValueError("the header is cut short")
    header = ast.literal_eval(text.decode("utf8" if version[0] == 3 else "latin1"))
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ValueError("not a dict of descr, fortran_order and shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ValueError(f"shape {shape!r} is not a tuple of sizes")
    if not isinstance(header["fortran_order"], bool):
        raise ValueError("fortran_order is not True or False")
    return shape, header["fortran_order"], np.dtype(header["descr"])


def _read_npy(file: Path, data: bytes, integers: bool = False) -> NDArray[Any]:
    """Reads .npy bytes as the Swift reader does: versions 1.0–3.0, little-endian float32 or
    float64 (with ``integers``: int8 or int32, as int64), C order, data not cut short; anything
    else is refused with the same reasons."""
    import io
    from numpy.lib import format as npformat

    def refuse(reason: str) -> ValueError:
        return ValueError(f"{file} is not a readable .npy file: {reason}")

    stream = io.BytesIO(data)
    try:
        version = npformat.read_magic(stream)  # type: ignore[no-untyped-call]
    except ValueError:
        raise refuse("it does not start with \\x93NUMPY; save arrays with numpy.save") from None
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise refuse(f"format version {version[0]}.{version[1]}; only 1.0, 2.0 and 3.0 are supported")
    try:
        shape, fortran, dtype = _read_header(stream, version)
    except Exception as e:
        raise refuse(f"a malformed header ({e}); re-save it with numpy.save") from None
    if integers and dtype.str not in ("|i1", "<i4"):
        raise refuse(f"dtype '{dtype.str}'; an int8 model's integer tensors are int8 ('|i1') or int32 ('<i4')")
    if not integers and dtype.str not in ("<f4", "<f8"):
        raise refuse(f"dtype '{dtype.str}'; only little-endian float32 ('<f4') and float64 ('<f8') are supported, "
                     "so convert with arr.astype('float32')")
    if fortran and len(shape) > 1:
        raise refuse("Fortran order; save numpy.ascontiguousarray(arr) instead")
    count = math.prod(shape)  # Python integers: a hostile shape cannot overflow
    offset = stream.tell()
    if len(data) - offset < count * dtype.itemsize:
        raise refuse(f"truncated: its header promises {count * dtype.itemsize} data bytes but only "
                     f"{len(data) - offset} follow; the file is damaged, re-save it")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
    return array.astype(np.int64) if integers else array.astype(np.float32)


def rewrite_tensors(directory: Path, arrays: Dict[str, NDArray[Any]]) -> None:
    """Replaces tensors of a model directory (each file written whole, then the manifest with
    their checksums), for tensors the manifest lists; others are left out."""
    manifest_path = directory / "model.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["tensors"]:
        array = arrays.get(entry["name"])
        if array is None:
            continue
        file = directory / entry["file"]
        staging = file.with_name(file.name + ".writing")
        with open(staging, "wb") as f:
            np.save(f, array.astype("<f4"))
        os.replace(staging, file)
        entry["checksum"] = _fnv1a(file.read_bytes())
    staging = manifest_path.with_name("model.json.writing")
    staging.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(staging, manifest_path)


def _fnv1a(data: bytes) -> str:
    """64-bit FNV-1a, as the Swift writer puts in model.json (hex, no leading zeros)."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "x")




class _Device:
    """A device named as torch names one (``type``), for SB3 code that asks for it."""

    type = "cpu"

    def __str__(self) -> str:
        return self.type

    __repr__ = __str__


_CPU = _Device()


class Model:
    """A network saved by swift-distill: ``out = h @ W + b`` layer by layer, ReLU or tanh between.
    Its ``head`` says what the outputs are: ``"q"``, one Q-value per action (DQN teachers and
    their students), or ``"categorical"``, one logit per action of a categorical policy (PPO and
    A2C teachers from ``from_sb3``, and their students). Either way ``act`` is their argmax.

    Attributes:
        path: the model directory.
        manifest: the parsed ``model.json``.
        params: tensor name (``layers.0.weight``, …) → float32 array; weights are (inputs, outputs).
        head: ``"q"`` or ``"categorical"``.
    """

    def __init__(self, path: Path, manifest: Dict[str, Any], params: Dict[str, NDArray[Any]]):
        self.path = path
        self.manifest = manifest
        self.params = params
        arch = manifest["architecture"]
        self.input_size: int = arch["input_size"]
        self.hidden_sizes: List[int] = list(arch["hidden_sizes"])
        self.action_count: int = arch["output_size"]
        self.activation: str = arch["activation"]
        self.head: str = arch["head"]
        # A continuous head's bounds: the action is the output clipped (gaussian) or squashed (tanh) into them.
        self.action_low: Optional[NDArray[np.float32]] = (np.asarray(arch["action_low"], dtype=np.float32)
                                                          if self.head in CONTINUOUS_HEADS else None)
        self.action_high: Optional[NDArray[np.float32]] = (np.asarray(arch["action_high"], dtype=np.float32)
                                                           if self.head in CONTINUOUS_HEADS else None)
        # A Gaussian head's state-independent log standard deviation (PPO's log_std), when known.
        self.action_log_std: Optional[NDArray[np.float32]] = (np.asarray(arch["action_log_std"], dtype=np.float32)
                                                              if "action_log_std" in arch else None)
        self._layers = [(params[f"layers.{i}.weight"], params[f"layers.{i}.bias"]) for i in range(len(self.hidden_sizes) + 1)]
        # Convolutions: (weight (O, C, KH, KW), bias, stride, padding); the input is (H, W, C).
        self._convs = [(params[f"convs.{i}.weight"], params[f"convs.{i}.bias"], int(c.get("stride", 1)), int(c.get("padding", 0)))
                       for i, c in enumerate(arch.get("convolutions") or [])]
        self.input_shape: Tuple[int, ...] = tuple(arch.get("input_shape") or ())
        # "CHW": observations arrive (C, H, W) (Atari frame stacks) and are moved to (H, W, C) first.
        self.channels_first: bool = arch.get("input_layout") == "CHW"
        # {"scheme": "int8", …} for a quantised model (integer weights: see _int8_q_values).
        self.quantization: Optional[Dict[str, Any]] = manifest.get("quantization")
        self._modified = False  # load_state_dict replaced weights (the directory keeps the old ones)
        self._temporary: Optional[tempfile.TemporaryDirectory[str]] = None  # where Model.load unpacked a saved file

    @property
    def device(self) -> Any:
        """Where the model runs: NumPy on the CPU. SB3's policies have a torch ``device``;
        this stands in for it (``.type == "cpu"``) so code that asks ``model.policy.device`` works."""
        return _CPU

    @property
    def observation_shape(self) -> Tuple[int, ...]:
        """The shape of one observation as the environment gives it (``(4,)``, ``(10, 10, 4)``, ``(4, 84, 84)``)."""
        shape = self.manifest.get("config", {}).get("observation_shape")
        if shape:
            return tuple(int(v) for v in shape)
        if self._convs:
            h, w, c = self.input_shape
            return (c, h, w) if self.channels_first else (h, w, c)
        return (self.input_size,)

    @property
    def observation_scale(self) -> float:
        """The factor observations are multiplied by before the network (1/255 for uint8 images)."""
        return float(self.manifest.get("config", {}).get("observation_scale") or 1.0)

    def _features(self, x: NDArray[Any]) -> NDArray[Any]:
        """The convolutions over a flat batch (N, H·W·C), flattened for the dense layers."""
        if not self._convs:
            return x
        if self.channels_first:
            height, width, channels = self.input_shape
            h = x.reshape((x.shape[0], channels, height, width)).transpose(0, 2, 3, 1)
        else:
            h = x.reshape((x.shape[0],) + self.input_shape)
        for w, b, stride, pad in self._convs:
            if pad:
                h = np.pad(h, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
            k = w.shape[2]
            windows = np.lib.stride_tricks.sliding_window_view(h, (k, k), axis=(1, 2))[:, ::stride, ::stride]  # type: ignore[call-overload]
            # windows: (N, OH, OW, C, KH, KW); w: (O, C, KH, KW)
            h = self._act(np.einsum("nyxcij,ocij->nyxo", windows, w, optimize=True) + b)
        return h.reshape(h.shape[0], -1)

    @property
    def environment(self) -> str | None:
        """The environment id (or ``module:attribute``) the model was trained on."""
        return self.manifest.get("environment")

    @property
    def metrics(self) -> Dict[str, Any]:
        """What the run that saved the model measured (``model.json``'s ``metrics``: the best
        evaluation's mean return, its step, and for a multi-task student each task's)."""
        metrics: Dict[str, Any] = self.manifest.get("metrics", {})
        return metrics

    @property
    def parameter_count(self) -> int:
        """Weights and biases of the network, dense and convolutional."""
        return sum(int(w.size + b.size) for w, b in self._layers) + sum(int(w.size + b.size) for w, b, _, _ in self._convs)

    def _batch(self, obs: Any) -> tuple[NDArray[Any], bool]:
        start = self.manifest.get("config", {}).get("observation_one_hot_start")
        if start is not None:
            return self._one_hot(obs, int(start))
        x = np.asarray(obs, dtype=np.float32)
        # Grid and image observations (config.observation_shape, e.g. (10, 10, 4)) are flattened
        # row-major, as the core flattens them; uint8 images are scaled (config.observation_scale).
        shape = tuple(self.manifest.get("config", {}).get("observation_shape") or ())
        if len(shape) > 1 and x.shape in (shape, (1, *shape)[1:]):
            single = True
        elif len(shape) > 1 and x.shape[1:] == shape:
            single = False
        else:
            single = x.ndim == 1
        x = x.reshape(1, -1) if single else x.reshape(x.shape[0], -1)
        if x.shape[1] != self.input_size:
            raise ValueError(f"expected observations with {self.input_size} values, got shape {np.shape(obs)}")
        scale = self.manifest.get("config", {}).get("observation_scale")
        if scale is not None and scale != 1:
            x = x * np.float32(scale)
        return x, single

    def _one_hot(self, obs: Any, start: int) -> tuple[NDArray[Any], bool]:
        """A Discrete observation space's values (one integer, or a batch of them) one-hot, as
        the core encodes them for the network; already-encoded rows are taken as they are."""
        x = np.asarray(obs)
        if x.ndim >= 1 and x.shape[-1] == self.input_size and x.dtype.kind == "f":
            return (x.reshape(1, -1).astype(np.float32), True) if x.ndim == 1 else (x.astype(np.float32), False)
        single = x.ndim == 0
        values = x.reshape(-1)
        if values.dtype.kind not in "iub" or np.any(values < start) or np.any(values - start >= self.input_size):
            raise ValueError(f"expected values of a Discrete({self.input_size}, start={start}) observation space, got {obs!r}")
        out = np.zeros((len(values), self.input_size), np.float32)
        out[np.arange(len(values)), values.astype(np.int64) - start] = 1
        return out, single

    def _act(self, z: NDArray[Any]) -> NDArray[Any]:
        return np.maximum(z, 0) if self.activation == "relu" else np.tanh(z)

    def q_values(self, obs: Any) -> NDArray[Any]:
        """The outputs for one observation (shape (actions,)) or a batch (shape (N, actions)):
        Q-values, or a categorical head's logits (``logits`` is the same call under that name)."""
        h, single = self._batch(obs)
        if self.quantization:
            q = self._int8_q_values(h)
            return q[0] if single else q
        h = self._features(h)
        for i, (w, b) in enumerate(self._layers):
            h = h @ w + b
            if i < len(self._layers) - 1:
                h = self._act(h)
        return h[0] if single else h

    def _float_only(self) -> None:
        if self.quantization:
            raise ValueError(f"{self.path} holds an {self.quantization.get('scheme')} model, which runs here and exports "
                             "as C (to_c) but has no float form for ONNX, PyTorch or SB3; export the float model it was "
                             "quantised from")

    def _int8_q_values(self, x: NDArray[Any]) -> NDArray[Any]:
        """The int8 model's arithmetic, the reference for the core and the exported C: the
        observation to int8 (float32 product, clamped, rounded half to even), int32 accumulators
        (exact here in int64), each hidden layer's ReLU and fixed-point requantisation
        ((acc · multiplier + 2^(shift−1)) >> shift, at most 127), the last layer's float32(acc) ·
        output scale."""
        v = x.astype(np.float32) * self.params["quant.input_inverse_scale"][0]
        v = np.clip(np.where(np.isnan(v), np.float32(0), v), np.float32(-127), np.float32(127))
        q = np.rint(v).astype(np.int64)
        if self._convs:
            # The convolutions over the int8 image (H, W, C): each position's sums over its
            # receptive field (zeros outside), requantised as a hidden layer's, then flattened.
            height, width, channels = self.input_shape
            if self.channels_first:
                q = q.reshape((q.shape[0], channels, height, width)).transpose(0, 2, 3, 1)
            else:
                q = q.reshape((q.shape[0], height, width, channels))
            for i, (w, b, stride, pad) in enumerate(self._convs):
                if pad:
                    q = np.pad(q, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
                k = w.shape[2]
                windows = np.lib.stride_tricks.sliding_window_view(q, (k, k), axis=(1, 2))[:, ::stride, ::stride]  # type: ignore[call-overload]
                acc = np.einsum("nyxcij,ocij->nyxo", windows, w) + b
                m, s = self.params[f"quant.convs.{i}.multiplier"], self.params[f"quant.convs.{i}.shift"]
                q = np.where(acc <= 0, 0, np.minimum(127, (acc * m + np.left_shift(1, s - 1)) >> s))
            q = q.reshape(q.shape[0], -1)
        last = len(self._layers) - 1
        for i, (w, b) in enumerate(self._layers):
            acc = q @ w + b
            if i == last:
                out: NDArray[Any] = acc.astype(np.float32) * self.params["quant.output_scale"]
                return out
            m, s = self.params[f"quant.layers.{i}.multiplier"], self.params[f"quant.layers.{i}.shift"]
            q = np.where(acc <= 0, 0, np.minimum(127, (acc * m + np.left_shift(1, s - 1)) >> s))
        raise AssertionError("not reached: a model has a last layer")

    def logits(self, obs: Any) -> NDArray[Any]:
        """A categorical head's logits for one observation or a batch (``q_values`` by its name)."""
        if self.head != "categorical":
            raise ValueError(f"{self.path} outputs {HEADS[self.head].phrase}, not a policy's logits; use q_values")
        return self.q_values(obs)

    def probabilities(self, obs: Any) -> NDArray[Any]:
        """A categorical head's action probabilities (the softmax of its logits), one
        observation (shape (actions,)) or a batch (shape (N, actions))."""
        z = self.logits(obs).astype(np.float64)
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        probabilities: NDArray[np.float32] = (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)
        return probabilities

    def act(self, obs: Any) -> Union[int, NDArray[Any]]:
        """Greedy action(s): an int for one observation, an int array for a batch. A continuous
        head gives float32 actions within its bounds instead ((action_size,) or (N, action_size)):
        the outputs clipped (``gaussian``) or squashed, low + (tanh(z) + 1)·(high − low)/2
        (``squashed``), as SB3's deterministic ``predict`` gives them."""
        q = self.q_values(obs)
        if self.head in CONTINUOUS_HEADS:
            assert self.action_low is not None and self.action_high is not None
            return HEADS[self.head].action(q.astype(np.float32), self.action_low, self.action_high)
        return int(np.argmax(q)) if q.ndim == 1 else np.argmax(q, axis=1)

    def __call__(self, obs: Any) -> Union[int, NDArray[Any]]:
        """The greedy action(s), as calling SB3's DQN policy on observations gives them (``act``)."""
        return self.act(obs)

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> Tuple[Union[int, NDArray[Any]], None]:
        """Stable-Baselines3's ``predict``: ``(action, None)``. Greedy for a Q-network (its policy
        is deterministic; ``deterministic=False`` gives the same action); a categorical head
        samples from its probabilities when ``deterministic=False``, as SB3's PPO does; so
        does a Gaussian head with its ``action_log_std`` (mean + σ·ε, clipped to the bounds, as
        SB3's PPO acts); a squashed head (SAC, TD3) gives its deterministic action either way
        (its state-dependent noise is not kept)."""
        if not deterministic:
            z = self.q_values(observation).astype(np.float32)
            low = self.action_low if self.action_low is not None else np.empty(0, np.float32)
            high = self.action_high if self.action_high is not None else np.empty(0, np.float32)
            sample = HEADS[self.head].sample(z, low, high, self.action_log_std, np.random.default_rng())
            if sample is not None:
                return sample, None
        return self.act(observation), None

    @property
    def modified(self) -> bool:
        """True once ``load_state_dict`` replaced weights that the directory on disk still holds."""
        return self._modified

    def state_dict(self) -> "OrderedDict[str, Any]":
        """The weights by name (``layers.0.weight``, ``convs.0.bias``, …), as a torch module's
        ``state_dict`` gives them: torch tensors when torch is installed, NumPy arrays otherwise
        (copies either way). Dense weights are (inputs, outputs), as ``params`` holds them."""
        self._float_only()
        try:
            import torch
        except ImportError:
            return OrderedDict((name, array.copy()) for name, array in self.params.items())
        return OrderedDict((name, torch.from_numpy(array.copy())) for name, array in self.params.items())

    def load_state_dict(self, state_dict: Dict[str, Any], strict: bool = True) -> None:
        """Replaces weights by name from ``state_dict`` (torch tensors or arrays of the same
        shapes, finite). ``strict`` (the default) needs every name; otherwise the missing ones stay
        as they are. The model acts with the new weights at once; ``save``, the code exports and
        a ``DQN``'s next ``learn`` take them too (the directory on disk is not changed)."""
        self._float_only()
        unknown = sorted(set(state_dict) - set(self.params))
        missing = sorted(set(self.params) - set(state_dict))
        if unknown or (strict and missing):
            raise ValueError(f"load_state_dict: names do not match this network's ({', '.join(self.params)}); "
                             f"unknown {unknown}, missing {missing}")
        arrays: Dict[str, NDArray[Any]] = {}
        for name, value in state_dict.items():
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            array = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
            if array.shape != self.params[name].shape or not np.all(np.isfinite(array)):
                raise ValueError(f"load_state_dict: {name} must be finite with shape {self.params[name].shape}, got "
                                 f"{array.shape}")
            arrays[name] = array
        self.params = {**self.params, **arrays}
        self._layers = [(self.params[f"layers.{i}.weight"], self.params[f"layers.{i}.bias"]) for i in range(len(self._layers))]
        self._convs = [(self.params[f"convs.{i}.weight"], self.params[f"convs.{i}.bias"], stride, pad)
                       for i, (_, _, stride, pad) in enumerate(self._convs)]
        self._modified = True

    def _written(self, directory: Path) -> Path:
        """This model as a directory: its own when unchanged, else a copy in ``directory`` with
        the weights ``load_state_dict`` gave it."""
        if not self.modified:
            return self.path
        directory.mkdir(parents=True, exist_ok=True)
        manifest = json.loads((self.path / "model.json").read_text())
        for entry in manifest["tensors"]:
            shutil.copyfile(self.path / entry["file"], directory / entry["file"])
        shutil.copyfile(self.path / "model.json", directory / "model.json")
        rewrite_tensors(directory, self.params)
        return directory

    def save(self, path: PathLike) -> Path:
        """Writes the model (its current weights) as one file at ``path``, a zip of its model
        directory, as SB3's ``policy.save`` writes one file; ``Model.load(path)`` reads it."""
        from ._runzip import archive
        target = Path(path)
        with tempfile.TemporaryDirectory() as staging:
            archive(self._written(Path(staging) / "model"), target)
        return target

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """A model directory, or a file ``save`` wrote (unpacked into a directory of its own,
        refusing any member that would land outside it)."""
        source = Path(path)
        if source.is_dir():
            return load(source)
        if not source.is_file():
            raise FileNotFoundError(f"{source} does not exist; pass a model directory or a file Model.save wrote")
        from ._runzip import ScratchDirectory, extract
        temporary = ScratchDirectory("swiftdistill-model-")
        root = Path(temporary.name) / "model"
        extract(source, root, "model")
        model = load(root)
        model._temporary = temporary  # lives as long as the model
        return model

    def to_onnx(self, path: PathLike, opset: int = 17) -> Path:
        """Writes the network as an ONNX model: input ``observation`` (float32, raw as the
        environment gives it: batch × inputs for an MLP, batch × the observation's shape for a
        convolutional model), outputs ``q_values`` (batch × actions: the network's outputs) and
        ``action`` (greedy, int64; for a continuous head float32 batch × action values, clipped
        or squashed into the bounds as ``act`` does). uint8 images are scaled inside the graph as
        here. Needs the ``onnx`` package
        (``pip install "swiftdistill[export]"``)."""
        self._float_only()
        try:
            import onnx
            from onnx import TensorProto, helper, numpy_helper
        except ImportError:
            raise ImportError('exporting to ONNX needs the onnx package: pip install "swiftdistill[export]"') from None
        nodes, initializers = [], []
        current = "observation"
        activation = "Relu" if self.activation == "relu" else "Tanh"

        def constant(name: str, value: NDArray[Any]) -> str:
            initializers.append(numpy_helper.from_array(value, name))
            return name

        if self.observation_scale != 1:
            nodes.append(helper.make_node("Mul", [current, constant("observation_scale", np.array(self.observation_scale, np.float32))],
                                          ["scaled"]))
            current = "scaled"
        input_shape: List[Union[str, int]] = ["batch", self.input_size]
        if self._convs:
            input_shape = ["batch", *self.observation_shape]
            if not self.channels_first:  # ONNX's Conv reads (N, C, H, W)
                nodes.append(helper.make_node("Transpose", [current], ["images"], perm=[0, 3, 1, 2]))
                current = "images"
            for i, (w, b, stride, pad) in enumerate(self._convs):
                initializers += [numpy_helper.from_array(np.ascontiguousarray(w, np.float32), f"convs.{i}.weight"),
                                 numpy_helper.from_array(np.ascontiguousarray(b, np.float32), f"convs.{i}.bias")]
                nodes.append(helper.make_node("Conv", [current, f"convs.{i}.weight", f"convs.{i}.bias"], [f"conv.{i}"],
                                              kernel_shape=list(w.shape[2:]), strides=[stride, stride], pads=[pad] * 4))
                nodes.append(helper.make_node(activation, [f"conv.{i}"], [f"conv_act.{i}"]))
                current = f"conv_act.{i}"
            # The dense layers read the feature map flattened channels-last, as the core does.
            nodes.append(helper.make_node("Transpose", [current], ["features_hwc"], perm=[0, 2, 3, 1]))
            nodes.append(helper.make_node("Flatten", ["features_hwc"], ["features"], axis=1))
            current = "features"
        last = len(self._layers) - 1
        for i, (w, b) in enumerate(self._layers):
            initializers += [numpy_helper.from_array(np.ascontiguousarray(w, np.float32), f"layers.{i}.weight"),
                             numpy_helper.from_array(np.ascontiguousarray(b, np.float32), f"layers.{i}.bias")]
            nodes.append(helper.make_node("MatMul", [current, f"layers.{i}.weight"], [f"matmul.{i}"]))
            affine = "q_values" if i == last else f"affine.{i}"
            nodes.append(helper.make_node("Add", [f"matmul.{i}", f"layers.{i}.bias"], [affine]))
            if i < last:
                nodes.append(helper.make_node(activation, [affine], [f"hidden.{i}"]))
                current = f"hidden.{i}"
        if self.head in CONTINUOUS_HEADS:
            # The action within the bounds, as the head computes it (clipped, or tanh-squashed and rescaled).
            assert self.action_low is not None and self.action_high is not None
            nodes += HEADS[self.head].onnx_action(helper.make_node, constant, self.action_low, self.action_high)
            action_type = TensorProto.FLOAT
            action_shape: List[Union[str, int]] = ["batch", self.action_count]
        else:
            nodes.append(helper.make_node("ArgMax", ["q_values"], ["action"], axis=1, keepdims=0, select_last_index=0))
            action_type, action_shape = TensorProto.INT64, ["batch"]
        graph = helper.make_graph(
            nodes, "swiftdistill_q_network",
            [helper.make_tensor_value_info("observation", TensorProto.FLOAT, input_shape)],
            [helper.make_tensor_value_info("q_values", TensorProto.FLOAT, ["batch", self.action_count]),
             helper.make_tensor_value_info("action", action_type, action_shape)],
            initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="swiftdistill")
        model.doc_string = f"Q-network from {self.path} (environment {self.environment})"
        onnx.checker.check_model(model)
        out = Path(path)
        onnx.save(model, str(out))
        return out

    def to_c(self, directory: PathLike, name: Optional[str] = None, force: bool = False) -> List[Path]:
        """Writes this network as dependency-free C99 into ``directory``: ``NAME.h`` and ``NAME.c``
        with ``void NAME_q_values(const float *observation, float *q_values)`` and
        ``int NAME_act(const float *observation)``, the weights as ``static const`` arrays, no
        allocation, re-entrant (link with ``-lm``). The Q-values are the Swift core's, bit for bit;
        uint8 images are scaled inside. ``name`` defaults to the model directory's name. Needs the
        Swift core (``swiftdistill._core``)."""
        return self._export_code("c", directory, name, force)

    def to_swift(self, path: PathLike, name: Optional[str] = None, force: bool = False) -> Path:
        """Writes this network as one Swift file: a ``struct`` (``name`` in UpperCamelCase) with
        ``qValues(_:)`` and ``act(_:)`` and the weights inside, with no package dependency; the
        Q-values are the Swift core's, bit for bit. Needs the Swift core (``swiftdistill._core``)."""
        return self._export_code("swift", path, name, force)[0]

    def _export_code(self, language: str, output: PathLike, name: Optional[str], force: bool) -> List[Path]:
        try:
            from . import _core
        except ImportError as e:
            raise ImportError("exporting code needs the Swift core (swiftdistill._core), which this install lacks; "
                              "use the wheel or `make setup`") from e
        with tempfile.TemporaryDirectory() as staging:
            source = self._written(Path(staging) / (name or self.path.name))
            written = _core.export_code(model=os.fspath(source), language=language, output=os.fspath(output),
                                        name=name or self.path.name, force=bool(force))
        return [Path(p) for p in written]

    def to_torch(self, path: Optional[PathLike] = None) -> Any:
        """The network as a PyTorch ``nn.Sequential`` (``Conv2d``, ``Linear``, ``ReLU``/``Tanh``, …)
        holding these weights (dense ones transposed to PyTorch's (out, in) layout):
        ``module(obs)`` gives the outputs (Q-values, or a categorical policy's logits) for raw
        observations (batch × inputs for an MLP, batch × the observation's shape for a
        convolutional model; uint8 images scaled inside). A continuous head's module ends in its
        clip or tanh squash into the bounds, so it gives the action, as ``act`` and SB3's
        deterministic ``predict`` do (``module[:-1]`` gives the outputs before it). With ``path``,
        also saved there as TorchScript (``torch.jit.load(path)`` needs no Python class). Needs
        torch (install it for your platform)."""
        self._float_only()
        try:
            import torch
        except ImportError:
            raise ImportError("exporting to PyTorch needs torch: install it for your platform "
                              "(e.g. pip install torch --index-url https://download.pytorch.org/whl/cpu)") from None
        scale_module, permute_module = _torch_helpers(torch)
        activation = torch.nn.ReLU if self.activation == "relu" else torch.nn.Tanh
        modules = []
        if self.observation_scale != 1:
            modules.append(scale_module(self.observation_scale))
        if self._convs:
            if not self.channels_first:  # Conv2d reads (N, C, H, W)
                modules.append(permute_module([0, 3, 1, 2]))
            for w, b, stride, pad in self._convs:
                conv = torch.nn.Conv2d(w.shape[1], w.shape[0], kernel_size=w.shape[2], stride=stride, padding=pad)
                with torch.no_grad():
                    conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w, np.float32)))
                    conv.bias.copy_(torch.from_numpy(np.ascontiguousarray(b, np.float32)))  # type: ignore[union-attr]
                modules += [conv, activation()]
            # The dense layers read the feature map flattened channels-last, as the core does.
            modules += [permute_module([0, 2, 3, 1]), torch.nn.Flatten()]
        last = len(self._layers) - 1
        for i, (w, b) in enumerate(self._layers):
            linear = torch.nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T, np.float32)))
                linear.bias.copy_(torch.from_numpy(np.ascontiguousarray(b, np.float32)))
            modules.append(linear)
            if i < last:
                modules.append(activation())
        if self.head in CONTINUOUS_HEADS:
            assert self.action_low is not None and self.action_high is not None
            modules.append(HEADS[self.head].torch_action(torch, self.action_low, self.action_high))
        module = torch.nn.Sequential(*modules)
        if path is not None:
            torch.jit.script(module).save(os.fspath(path))  # type: ignore[no-untyped-call]
        return module

    def to_sb3(self, path: PathLike, env: Any = None) -> Path:
        """Writes a Stable-Baselines3 DQN ``.zip`` (``DQN.load(path)``) whose online and target
        Q-networks hold these weights, so its greedy actions are this model's. ``env`` (an id or
        ``gymnasium.Env``) defaults to the recorded environment; it only gives SB3 the spaces.
        Needs stable-baselines3 (and torch)."""
        self._float_only()
        if self.head != "q":
            raise ValueError(f"to_sb3 writes a DQN, whose network outputs Q-values, and this model outputs {HEADS[self.head].phrase}; "
                             "export it with to_onnx, to_torch or to_c instead")
        if self._convs:
            raise ValueError("to_sb3 exports MLP models: SB3's CnnPolicy builds its own fixed network (NatureCNN), "
                             "so a convolutional model goes out through to_torch or to_onnx instead")
        try:
            import gymnasium as gym
            import torch
            from stable_baselines3 import DQN
        except ImportError:
            raise ImportError("exporting to SB3 needs stable-baselines3 and torch: pip install stable-baselines3") from None
        if env is None:
            if not self.environment:
                raise ValueError("this model records no environment; pass env= (an id or a gymnasium.Env) for its spaces")
            if ":" in self.environment:
                # A model directory is data: a module it names is never imported.
                raise ValueError(f"this model records its environment as {self.environment!r}, which names Python code; "
                                 "a model directory never runs code, so pass env= yourself if you trust it")
            env = gym.make(self.environment, **self.manifest.get("environment_arguments", {}))
        elif isinstance(env, str):
            env = gym.make(env)
        activation = torch.nn.ReLU if self.activation == "relu" else torch.nn.Tanh
        model = DQN("MlpPolicy", env, policy_kwargs=dict(net_arch=list(self.hidden_sizes), activation_fn=activation),
                    learning_starts=0, buffer_size=1, device="cpu", verbose=0)
        source = self.to_torch()
        for network in (model.q_net.q_net, model.q_net_target.q_net):
            if len(network) != len(source):
                raise ValueError(f"SB3 built a {len(network)}-module network where this model has {len(source)}")
            network.load_state_dict(source.state_dict())
        out = Path(path)
        model.save(str(out))
        return out if out.suffix == ".zip" else Path(str(out) + ".zip")  # SB3 adds .zip

    def hidden(self, obs: Any, layer: int) -> NDArray[Any]:
        """Activations of hidden layer ``layer`` (0-based), as distillation matches them."""
        if not 0 <= layer < len(self.hidden_sizes):
            raise ValueError(f"layer {layer} does not exist: this model has hidden layers 0..{len(self.hidden_sizes) - 1}")
        h, single = self._batch(obs)
        h = self._features(h)
        for w, b in self._layers[: layer + 1]:
            h = self._act(h @ w + b)
        return h[0] if single else h

    def __repr__(self) -> str:
        convs = "".join(f"conv{w.shape[0]}:{w.shape[2]}:{st}→" for w, _, st, _ in self._convs)
        return (f"Model({str(self.path)!r}, {self.input_size}→{convs}{'→'.join(map(str, self.hidden_sizes))}→{self.action_count}, "
                f"{self.activation}, env={self.environment!r})")


_TORCH_HELPERS: Optional[Tuple[Any, ...]] = None


def _torch_helpers(torch: Any) -> Tuple[Any, ...]:
    """Two small modules nn.Sequential lacks, made once torch is imported (it is optional):
    a constant scale (uint8 images to [0, 1]) and an axis permutation (channels-last images)."""
    global _TORCH_HELPERS
    if _TORCH_HELPERS is None:
        class Scale(torch.nn.Module):  # type: ignore[misc]
            def __init__(self, factor: float):
                super().__init__()
                self.factor = factor

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x * self.factor

        class Permute(torch.nn.Module):  # type: ignore[misc]
            def __init__(self, order: List[int]):
                super().__init__()
                self.order = order

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x.permute(self.order)

        _TORCH_HELPERS = (Scale, Permute)
    return _TORCH_HELPERS


def tasks(path: PathLike) -> List[str]:
    """The task names of a multi-task student directory (``[]`` for a single-task model)."""
    index = Path(path) / "tasks" / "tasks.json"
    if not index.is_file():
        return []
    try:
        return [str(t["name"]) for t in json.loads(index.read_text())["tasks"]]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{index} is not a valid multi-task index ({e}); re-run the distillation") from None


def load(path: PathLike, task: Optional[str] = None) -> Model:
    """Loads a model directory (a run directory, a student, or a ``last/`` checkpoint); for a
    multi-task student, ``task`` names the task whose network to load (``tasks(path)`` lists them).

    Raises FileNotFoundError for a missing directory or file and ValueError for anything
    corrupt: a manifest that is not valid, a tensor whose checksum or shape disagrees with it,
    or a file that is not a float ``.npy``.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory; pass a model directory such as runs/teacher")
    names = tasks(root) if not (root / "model.json").exists() else []
    if task is not None:
        if not names:
            raise ValueError(f"{root} is not a multi-task student, so it has no task {task!r}; load it without task=")
        if task not in names:
            raise ValueError(f"{root} has no task {task!r}; its tasks are {', '.join(names)}")
        root = root / "tasks" / task  # a name listed in the index, not a path from the caller
        if not root.is_dir() or root.is_symlink() or root.resolve().parent != (Path(path) / "tasks").resolve():
            raise ValueError(f"{root} is not a task directory of {path}; re-run the distillation")
    elif names:
        raise ValueError(f"{root} holds a multi-task student (tasks {', '.join(names)}); name one: "
                         f"load(path, task={names[0]!r}) or load('{root}/tasks/{names[0]}')")
    manifest_path = root / "model.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path} does not exist; {root} is not a swift-distill model directory")
    info = os.lstat(manifest_path)
    if not stat.S_ISREG(info.st_mode) or info.st_size > 16 << 20:
        raise ValueError(f"{manifest_path} is not a valid model manifest (not a regular file of at most 16 MiB); re-export the model")
    try:
        # utf-8-sig: a byte-order mark is accepted, as the Swift reader accepts it.
        manifest = json.loads(manifest_path.read_bytes().decode("utf-8-sig"))
        if not isinstance(manifest, dict):
            raise TypeError("the file is not an object")
        arch = manifest["architecture"]
        sizes = [int(arch["input_size"])] + [int(s) for s in arch["hidden_sizes"]] + [int(arch["output_size"])]
        if arch["activation"] not in ("relu", "tanh"):
            raise ValueError(f"unknown activation {arch['activation']!r}")
        if arch.get("head") in CONTINUOUS_HEADS:
            for key in ("action_low", "action_high"):
                bounds = arch.get(key)
                if (not isinstance(bounds, list) or len(bounds) != arch["output_size"]
                        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bounds)):
                    raise ValueError(f"a '{arch['head']}' head needs {key}: {arch['output_size']} finite numbers")
            if not all(lo < hi for lo, hi in zip(arch["action_low"], arch["action_high"])):
                raise ValueError("action_low must be below action_high for every action value")
        if "action_log_std" in arch:
            log_std = arch["action_log_std"]
            if (arch.get("head") != "gaussian" or not isinstance(log_std, list) or len(log_std) != arch["output_size"]
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in log_std)):
                raise ValueError(f"action_log_std belongs to a 'gaussian' head and needs {arch['output_size']} finite numbers")
        if arch.get("head") not in HEADS:
            named = [f"{name!r} ({h.phrase})" for name, h in HEADS.items()]
            raise ValueError(f"its head is {arch.get('head')!r}, and this version runs "
                             + ", ".join(named[:-1]) + " and " + named[-1]
                             + "; a newer swiftdistill may read it")
        # The same required fields and types as the Swift reader's ModelManifest.
        for key, kind in (("format_version", int), ("layout", str), ("architecture", dict), ("tensors", list),
                          ("config", dict), ("metrics", dict)):
            if not isinstance(manifest[key], kind) or isinstance(manifest[key], bool):
                raise TypeError(f"{key} is not a {kind.__name__}")
        for key, kind in (("input_size", int), ("output_size", int), ("hidden_sizes", list), ("activation", str), ("head", str)):
            if not isinstance(arch[key], kind) or isinstance(arch[key], bool):
                raise TypeError(f"architecture.{key} is not a {kind.__name__}")
        for t in manifest["tensors"]:
            if not (isinstance(t["name"], str) and isinstance(t["file"], str) and isinstance(t["shape"], list)
                    and isinstance(t["dtype"], str)):
                raise TypeError("a tensor entry needs name, file, shape and dtype")
        entries = {t["name"]: t for t in manifest["tensors"]}
        version = manifest["format_version"]
    except RecursionError:
        raise ValueError(f"{manifest_path} is not a valid model manifest (it nests too deeply); re-export the model") from None
    except KeyError as e:
        raise ValueError(f"{manifest_path} is not a valid model manifest (missing key {e}); re-export the model") from None
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError) as e:
        raise ValueError(f"{manifest_path} is not a valid model manifest ({e}); re-export the model") from None
    if version > FORMAT_VERSION:
        raise ValueError(f"{manifest_path} is not a valid model manifest (format version {version} is newer than this "
                         f"loader understands ({FORMAT_VERSION}); update swiftdistill)")
    # Convolutions (weights in PyTorch's (O, C, KH, KW) layout) before the dense layers: their
    # output, flattened, is the first dense layer's input.
    expected: List[Tuple[str, Tuple[Any, ...]]] = []
    convs = arch.get("convolutions") or []
    if convs:
        try:
            current = tuple(int(v) for v in arch["input_shape"])
            if len(current) != 3 or int(np.prod(current)) != sizes[0]:
                raise ValueError("input_shape must be (height, width, channels) of input_size values")
            if arch.get("input_layout") not in (None, "HWC", "CHW"):
                raise ValueError("input_layout must be \"HWC\" or \"CHW\"")
            for i, c in enumerate(convs):
                out, k, st, pad = int(c["output_channels"]), int(c["kernel"]), int(c.get("stride", 1)), int(c.get("padding", 0))
                if min(out, k, st) < 1 or pad < 0 or current[0] + 2 * pad < k or current[1] + 2 * pad < k:
                    raise ValueError(f"convolution {i} does not fit its input {current}")
                expected += [(f"convs.{i}.weight", (out, current[2], k, k)), (f"convs.{i}.bias", (out,))]
                current = ((current[0] + 2 * pad - k) // st + 1, (current[1] + 2 * pad - k) // st + 1, out)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{manifest_path} is not a valid model manifest (convolutions: {e}); re-export the model") from None
        sizes = [int(np.prod(current))] + sizes[1:]
    if manifest.get("quantization") is not None:
        return _load_int8(root, manifest_path, manifest, sizes, entries, conv_shapes=expected)
    for i in range(len(sizes) - 1):
        expected += [(f"layers.{i}.weight", (sizes[i], sizes[i + 1])), (f"layers.{i}.bias", (sizes[i + 1],))]
    params = {name: _entry_array(root, manifest_path, entries, name, shape) for name, shape in expected}
    return Model(root, manifest, params)


def _entry_array(root: Path, manifest_path: Path, entries: Dict[str, Dict[str, Any]], name: str, shape: Tuple[Any, ...],
                 integers: bool = False) -> NDArray[Any]:
    """Tensor `name` as the manifest lists it: a file inside the directory, matching its checksum
    and the shape the architecture needs; floats finite (float32), integers as int64."""
    if name not in entries:
        raise ValueError(f"{manifest_path} lists no tensor {name}; re-export the model")
    file = _tensor_file(root, manifest_path, entries[name], shape)
    data = file.read_bytes()
    checksum = entries[name].get("checksum")
    if checksum is not None and _fnv1a(data) != checksum:
        raise ValueError(f"{file} does not match the checksum in model.json: it was changed or a save was interrupted")
    array = _read_npy(file, data, integers=integers)
    if tuple(array.shape) != shape or list(entries[name].get("shape", shape)) != list(shape):
        raise ValueError(f"{file} has shape {array.shape} but the architecture needs {shape}")
    if not integers and not np.isfinite(array).all():
        raise ValueError(f"{file} holds NaN or infinite values (tensor {name}); a model with them cannot act, "
                         "so retrain it or take the run's last finite checkpoint")
    return array if integers else array.astype(np.float32, copy=False)


def _load_int8(root: Path, manifest_path: Path, manifest: Dict[str, Any], sizes: List[int],
               entries: Dict[str, Dict[str, Any]], conv_shapes: List[Tuple[str, Tuple[Any, ...]]]) -> Model:
    """An int8 model directory (format version 2): the integer tensors with their ranges and
    shapes checked as the Swift reader checks them. `conv_shapes`: the convolutions' weight and
    bias names and shapes; `sizes`: the dense layers' (the first is the convolutions' output)."""
    def refuse(detail: str) -> ValueError:
        return ValueError(f"{manifest_path} is not a valid model manifest ({detail}); re-export the model")

    q = manifest["quantization"]
    if not isinstance(q, dict) or q.get("scheme") != "int8":
        raise refuse(f"quantization.scheme is {q.get('scheme') if isinstance(q, dict) else q!r}; this loader reads int8")
    if manifest["architecture"]["activation"] != "relu":
        raise refuse("an int8 model is a ReLU network")
    params: Dict[str, NDArray[Any]] = {}

    def tensor(name: str, shape: Tuple[Any, ...], integers: bool, low: int = 0, high: int = 0) -> None:
        array = _entry_array(root, manifest_path, entries, name, shape, integers=integers)
        if integers and array.size and (array.min() < low or array.max() > high):
            raise refuse(f"{name} holds values outside {low}…{high}")
        params[name] = array

    for name, shape in conv_shapes:
        index = name.split(".")[1]
        if name.endswith(".weight"):
            tensor(name, shape, True, -127, 127)
        else:
            tensor(name, shape, True, -(2 ** 31 - 1) // 2, (2 ** 31 - 1) // 2)
            tensor(f"quant.convs.{index}.multiplier", shape, True, 0, 2 ** 31 - 1)
            tensor(f"quant.convs.{index}.shift", shape, True, 1, 62)
    for i in range(len(sizes) - 1):
        tensor(f"layers.{i}.weight", (sizes[i], sizes[i + 1]), True, -127, 127)
        tensor(f"layers.{i}.bias", (sizes[i + 1],), True, -(2 ** 31 - 1) // 2, (2 ** 31 - 1) // 2)
        if i < len(sizes) - 2:
            tensor(f"quant.layers.{i}.multiplier", (sizes[i + 1],), True, 0, 2 ** 31 - 1)
            tensor(f"quant.layers.{i}.shift", (sizes[i + 1],), True, 1, 62)
    tensor("quant.output_scale", (sizes[-1],), False)
    tensor("quant.input_inverse_scale", (1,), False)
    return Model(root, manifest, params)


def _sb3_algorithm(path: PathLike) -> str:
    """Which SB3 algorithm saved the ``.zip`` at ``path``, read from its ``data`` entry (JSON)
    without unpickling anything: DQN, PPO or A2C, else the policy's module in a sentence."""
    import zipfile
    try:
        with zipfile.ZipFile(os.fspath(path)) as archive:
            data = json.loads(archive.read("data"))
        module = data["policy_class"]["__module__"]
    except FileNotFoundError:
        raise FileNotFoundError(f"{os.fspath(path)} does not exist; give the .zip a Stable-Baselines3 model was saved to") from None
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, UnicodeDecodeError):
        raise ValueError(f"{os.fspath(path)} is not a Stable-Baselines3 model (.zip with a data entry naming its policy); "
                         "save one with model.save(path)") from None
    if module == "stable_baselines3.dqn.policies":
        return "DQN"
    if module == "stable_baselines3.common.policies":
        # PPO and A2C share ActorCriticPolicy; only PPO saves n_epochs.
        return "PPO" if "n_epochs" in data else "A2C"
    if module in ("stable_baselines3.sac.policies", "stable_baselines3.td3.policies"):
        return str(module.split(".")[1].upper())
    algorithm = module.split(".")[1].upper() if module.startswith("stable_baselines3.") and module.count(".") >= 2 else module
    raise ValueError(f"{os.fspath(path)} holds a {algorithm} model; from_sb3 reads DQN, PPO, A2C, SAC and TD3 models")


def from_sb3(sb3_model: Any, out: PathLike, *, environment: Optional[str] = None, force: bool = False) -> Model:
    """Writes a Stable-Baselines3 model (the object or the path of its ``.zip``) as a model
    directory that distillation takes as a teacher (``distill distill --teacher OUT``), and
    loads it.

    - DQN: the online Q-network, head ``"q"``.
    - PPO and A2C with discrete actions: the actor (``mlp_extractor.policy_net`` then
      ``action_net``), head ``"categorical"``: the outputs are the policy's logits, so the
      greedy action equals SB3's ``predict(obs, deterministic=True)``, and distilling with
      ``loss="kl", temperature=1`` matches the student to the policy itself.
    - PPO and A2C with Box actions: the actor's mean, head ``"gaussian"`` (the action is the
      mean clipped to the bounds); SAC: the actor's mean, TD3: its actor without the final
      Tanh, head ``"squashed"`` (the action is the tanh of the outputs scaled to the bounds).
      Their actions equal SB3's deterministic ones; ``distill eval`` and the NumPy loader run
      them. A Gaussian head keeps the policy's ``log_std`` (``action_log_std``), so a student
      can be distilled with ``loss="kl"`` (the KL between the Gaussians); a squashed teacher's
      students learn with ``loss="action-mse"`` (the squashed actions) or ``"q-mse"``.

    Every ``Linear`` weight is transposed to this format's (inputs, outputs); MlpPolicy networks
    of ReLU or Tanh layers over a flat Box observation are supported, and anything else (a
    CnnPolicy, a MultiInputPolicy, gSDE) is refused in a sentence. A VecNormalize
    wrapper's statistics live outside the model and are not applied. ``environment`` (an id) is
    recorded for later commands; by default SB3's ``env.spec.id`` when the model holds an
    environment. Needs stable-baselines3 (and torch)."""
    try:
        import torch
        from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
    except ImportError:
        raise ImportError("reading an SB3 model needs stable-baselines3 and torch: pip install stable-baselines3") from None
    import gymnasium as gym
    if isinstance(sb3_model, (str, os.PathLike)):
        classes: Dict[str, Any] = {"DQN": DQN, "PPO": PPO, "A2C": A2C, "SAC": SAC, "TD3": TD3}
        model = classes[_sb3_algorithm(sb3_model)].load(os.fspath(sb3_model), device="cpu")
    else:
        model = sb3_model
    algorithm = type(model).__name__
    if not isinstance(model, (DQN, PPO, A2C, SAC, TD3)):
        raise TypeError(f"expected a stable_baselines3 DQN, PPO, A2C, SAC or TD3 (or the path of its .zip), got {algorithm}")
    bounds: Optional[Tuple[List[float], List[float]]] = None
    if isinstance(model.action_space, gym.spaces.Box):
        space = model.action_space
        if len(space.shape) != 1 or not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
            raise ValueError(f"this {algorithm} model's actions are {space}; continuous actions must be a vector with finite bounds")
        bounds = ([float(v) for v in space.low], [float(v) for v in space.high])
    if getattr(model, "use_sde", False):
        raise ValueError(f"this {algorithm} model uses gSDE exploration (use_sde=True), which from_sb3 does not read yet")
    log_std: Optional[List[float]] = None  # a Gaussian policy's state-independent log_std
    if isinstance(model, DQN):
        algorithm, head = "DQN", "q"
        extractor = model.q_net.features_extractor
        modules = list(model.q_net.q_net)
    elif isinstance(model, (PPO, A2C)):
        algorithm = "PPO" if isinstance(model, PPO) else "A2C"
        if bounds is None and not isinstance(model.action_space, gym.spaces.Discrete):
            raise ValueError(f"this {algorithm} model has {type(model.action_space).__name__} actions; from_sb3 reads discrete "
                             "(categorical) and Box (Gaussian) policies")
        head = "categorical" if bounds is None else "gaussian"
        policy = model.policy
        if head == "gaussian":
            log_std = [float(v) for v in policy.log_std.detach().cpu().numpy().reshape(-1)]
        extractor = getattr(policy, "pi_features_extractor", None) or policy.features_extractor
        modules = list(policy.mlp_extractor.policy_net) + [policy.action_net]
    elif isinstance(model, SAC):
        algorithm, head = "SAC", "squashed"
        actor: Any = model.actor
        extractor = actor.features_extractor
        modules = list(actor.latent_pi) + [actor.mu]
    elif isinstance(model, TD3):  # DDPG too (SB3's DDPG is a TD3)
        algorithm, head = type(model).__name__, "squashed"
        actor = model.actor
        extractor = actor.features_extractor
        modules = list(actor.mu)
        if not modules or type(modules[-1]).__name__ != "Tanh":
            raise ValueError("this TD3 actor does not end in Tanh; from_sb3 reads SB3's TD3 actors (their last layer is Tanh)")
        modules = modules[:-1]  # the squash is the head's
    else:
        raise TypeError(f"expected a stable_baselines3 DQN, PPO, A2C, SAC or TD3 (or the path of its .zip), got {algorithm}")
    linears = [m for m in modules if isinstance(m, torch.nn.Linear)]
    activations = {type(m).__name__ for m in modules if not isinstance(m, torch.nn.Linear)}
    if not linears or not activations <= {"ReLU", "Tanh"} or len(activations) > 1:
        raise ValueError(f"only MLP networks of Linear layers with ReLU or Tanh are supported, got {[type(m).__name__ for m in modules]}")
    activation = "tanh" if activations == {"Tanh"} else "relu"
    env_id = environment
    if env_id is None:
        env = model.get_env()
        spec = getattr(getattr(env, "envs", [None])[0], "spec", None) if env is not None else None
        env_id = getattr(spec, "id", None)
    target = Path(out)
    if target.exists():
        if not force:
            raise FileExistsError(f"{target} exists; choose a new directory or pass force=True")
        if not (target / "model.json").is_file():
            raise FileExistsError(f"{target} exists and is not a model directory; force only replaces a model")
    staging = target.with_name(f".{target.name}.writing")
    import shutil
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    tensors = []
    for i, linear in enumerate(linears):
        for kind, value in (("weight", linear.weight.detach().cpu().numpy().T), ("bias", linear.bias.detach().cpu().numpy())):
            name = f"layers.{i}.{kind}"
            array = np.ascontiguousarray(value, dtype="<f4")
            np.save(staging / f"{name}.npy", array)
            data = (staging / f"{name}.npy").read_bytes()
            tensors.append({"name": name, "file": f"{name}.npy", "shape": list(array.shape), "dtype": "float32",
                            "checksum": _fnv1a(data)})
    manifest = {
        "format_version": 1,
        "layout": "h = activation(h @ layers.i.weight + layers.i.bias) for each hidden layer; q = h @ last.weight + "
                  "last.bias; weight shape is (inputs, outputs)",
        "architecture": {"input_size": int(linears[0].in_features), "hidden_sizes": [int(l.out_features) for l in linears[:-1]],
                         "activation": activation, "output_size": int(linears[-1].out_features), "head": head,
                         **({"action_low": bounds[0], "action_high": bounds[1]} if bounds is not None and head != "q" else {}),
                         **({"action_log_std": log_std} if log_std is not None else {})},
        "tensors": tensors, "config": {"source": f"stable-baselines3 {algorithm}"}, "metrics": {},
    }
    if env_id:
        manifest["environment"] = env_id
    (staging / "model.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return load(target)
