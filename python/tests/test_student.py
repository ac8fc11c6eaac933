"""``swiftdistill.Student``: distillation in SB3's shape — the same student as ``sd.distill`` with the
same settings, ``learn`` continues, ``save``/``load`` round trip, and misuse is one sentence."""
import numpy as np
import pytest

import swiftdistill as sd
from swiftdistill import Student


def test_student_learns_what_sd_distill_learns(corridor_teacher, tmp_path):
    student = Student(corridor_teacher, hidden=(8,), loss="kl", seed=2).learn(400)
    assert student.num_timesteps == 400
    sd.distill(corridor_teacher, hidden=(8,), loss="kl", seed=2, steps=400, out=tmp_path / "direct", progress=False)
    direct = sd.load(tmp_path / "direct" / "last")
    assert student.policy.params.keys() == direct.params.keys()
    assert all(np.array_equal(student.policy.params[k], direct.params[k]) for k in direct.params)
    assert student.best_policy.hidden_sizes == [8]


def test_learn_continues_and_save_load_round_trips(corridor_teacher, tmp_path):
    student = Student(corridor_teacher, hidden=(8,), seed=1).learn(300)
    first = {k: np.array(v) for k, v in student.get_parameters()["policy"].items()}
    assert student.learn(300) is student and student.num_timesteps == 600, "a second learn continues the run"
    assert any(not np.array_equal(first[k], np.asarray(v)) for k, v in student.get_parameters()["policy"].items())
    eye = np.eye(6, dtype=np.float32)
    actions, _ = student.predict(eye)
    assert actions.shape == (6,) and student.predict(eye[0])[0] == actions[0]
    student.save(tmp_path / "student")
    again = Student.load(tmp_path / "student")
    assert again.num_timesteps == 600 and np.array_equal(again.predict(eye)[0], actions)
    assert again.learn(200).num_timesteps == 800, "a loaded student continues with its recorded teacher"


def test_misuse_is_one_sentence(corridor_teacher, tmp_path):
    with pytest.raises(TypeError, match="takes its steps in learn"):
        Student(corridor_teacher, steps=100)
    with pytest.raises(RuntimeError, match="call learn\\(\\) first"):
        Student(corridor_teacher).predict(np.zeros(6, dtype=np.float32))
    with pytest.raises(ValueError, match="total_timesteps must be a positive integer"):
        Student(corridor_teacher).learn(0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'temprature'; did you mean 'temperature'"):
        Student(corridor_teacher, temprature=1.0)
