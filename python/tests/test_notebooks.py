"""The notebooks execute top to bottom against small models made in this test run."""
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import swiftdistill as sd

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("nb")
    teacher, _ = sd.train("CartPole-v1", steps=3000, seed=0, out=root / "teacher", eval_interval=1000,
                          learning_starts=500, progress=False)
    sd.distill(teacher, hidden=(8,), steps=1000, out=root / "student", eval_interval=500, progress=False)
    return root


@pytest.mark.parametrize("name", ["01_load_with_numpy.ipynb", "02_train_and_distill.ipynb", "03_read_a_study.ipynb",
                                  "04_robustness.ipynb"])
def test_notebook_runs(small_models, name, monkeypatch):
    monkeypatch.setenv("SWIFT_DISTILL_TEACHER", str(small_models / "teacher"))
    monkeypatch.setenv("SWIFT_DISTILL_STUDENT", str(small_models / "student"))
    monkeypatch.setenv("SWIFT_DISTILL_EPISODES", "3")
    monkeypatch.setenv("SWIFT_DISTILL_STEPS", "3000")
    monkeypatch.setenv("SWIFT_DISTILL_OUT", str(small_models / "notebook"))
    monkeypatch.setenv("SWIFT_DISTILL_STUDY", str(small_models / "study"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "notebooks are committed without outputs"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
