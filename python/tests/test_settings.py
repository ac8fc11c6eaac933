"""Settings come from one table in the core: the same names, checks and sentences as the CLI."""
import os
import subprocess
from pathlib import Path

import pytest

import swiftdistill as sd

ROOT = Path(__file__).resolve().parents[2]
DISTILL = os.environ.get("DISTILL", str(ROOT / ".build" / "release" / "distill"))


def cli_error(*args):
    result = subprocess.run([DISTILL, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[0]
    assert line.startswith("Error: ")
    return line[len("Error: "):]


@pytest.mark.parametrize("flag, keyword, value", [
    ("--gamma", "gamma", 2),
    ("--learning-rate", "learning_rate", -1.0),
    ("--batch-size", "batch_size", 0),
    ("--exploration-final", "exploration_final", 1.5),
    ("--seed", "seed", -3),
])
def test_a_bad_training_value_gives_the_cli_sentence_in_python_names(tmp_path, flag, keyword, value):
    expected = cli_error("train", flag, str(value), "--out", str(tmp_path / "cli"))
    with pytest.raises(ValueError) as raised:
        sd.train("CartPole-v1", out=tmp_path / "py", progress=False, **{keyword: value})
    assert str(raised.value) == expected.replace(flag, keyword)


def test_a_bad_distillation_value_gives_the_cli_sentence(tmp_path, corridor_teacher):
    expected = cli_error("distill", "--teacher", str(corridor_teacher.path), "--regime", "dream", "--out", str(tmp_path / "c"))
    with pytest.raises(ValueError) as raised:
        sd.distill(corridor_teacher, regime="dream", out=tmp_path / "p", progress=False)
    assert str(raised.value) == expected.replace("--regime", "regime")
    assert expected == "--regime must be teacher, student, mixed or offline (got dream)."


def test_the_settings_table_and_loss_specs_are_the_cores():
    dqn = {s["key"]: s for s in sd.settings("dqn", "Acrobot-v1")}
    assert dqn["learning_rate"]["default"] == pytest.approx(6.3e-4) and dqn["learning_rate"]["flag"] == "--learning-rate"
    assert dqn["loss"]["choices"] == ["huber", "mse"] and dqn["total_steps"]["flag"] == "--steps"
    distill = {s["key"]: s for s in sd.settings("distill")}
    assert distill["task_weight"]["flag"] == "--lambda" and "lambda" in distill["task_weight"]["aliases"]
    assert sd.parse_losses("kl, q-mse:0.5") == [("q-mse", 0.5), ("kl", 1.0)]
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        sd.parse_losses("hinge")


def test_old_names_and_aliases_still_work(tmp_path, corridor_teacher):
    # epsilon is acting_epsilon's old name; kl_weight adds to the loss spec whatever the order.
    student, _ = sd.distill(corridor_teacher, hidden=(4,), loss="ce", steps=200, epsilon=0.2, kl_weight=0.5,
                            out=tmp_path / "s", eval_interval=0, progress=False)
    config = student.manifest["config"]
    assert config["acting_epsilon"] == pytest.approx(0.2) and config["losses"] == ["kl", "ce"]
    with pytest.raises(TypeError, match="did you mean 'acting_epsilon'"):
        sd.distill(corridor_teacher, acting_epsilo=0.1, out=tmp_path / "t", progress=False)
