"""swift-distill from Python.

``load(path)`` reads a saved model with plain NumPy. ``train``, ``distill`` and ``compare`` call
the Swift core in this process (the ``_core`` extension built by the project's set-up).

    >>> import swiftdistill as sd
    >>> teacher, metrics = sd.train("CartPole-v1", steps=50_000, seed=0, out="runs/teacher")
    >>> student, _ = sd.distill(teacher, hidden=(16, 16), loss="kl", steps=20_000, out="runs/student")
    >>> sd.compare(teacher, student)["normalized_return"]
"""
from ._model import Model, from_sb3, load, tasks
from ._api import codistill, compare, core_q_values, distill, evaluate, parse_losses, quantize, robustness, settings, train
from ._studies import sweep, tune
from ._sb3 import DQN
from ._replay import ReplayBuffer
from ._student import Student

__all__ = ["DQN", "ReplayBuffer", "Student", "Model", "load", "tasks", "from_sb3", "train", "distill", "codistill", "compare", "quantize", "robustness", "core_q_values", "settings", "parse_losses", "evaluate",
           "tune", "sweep"]
__version__ = "0.1.0"
