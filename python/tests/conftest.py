"""Shared fixtures: a small Corridor teacher trained by the Swift core once per session."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "GymEnvironmentsTests" / "Fixtures"))

import swiftdistill as sd  # noqa: E402

CORRIDOR = dict(hidden=(32,), learning_starts=100, train_frequency=4, gradient_steps=1, target_update_interval=100,
                exploration_fraction=0.3, learning_rate=1e-3, batch_size=32, gamma=0.9, eval_episodes=2)


@pytest.fixture(scope="session")
def corridor_teacher(tmp_path_factory):
    out = tmp_path_factory.mktemp("teacher") / "run"
    model, _ = sd.train("Corridor-6", steps=2000, seed=0, out=out, eval_interval=500, progress=False, **CORRIDOR)
    return model
