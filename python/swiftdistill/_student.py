"""``swiftdistill.Student``: distillation in Stable-Baselines3's shape — a model object built from a
teacher and settings, ``learn`` (which continues), ``predict``, ``save`` and ``load`` — over the
same core as ``sd.distill``:

    >>> from swiftdistill import Student
    >>> student = Student("runs/teacher", hidden=(16, 16), loss="kl", seed=0).learn(20_000)
    >>> action, _ = student.predict(obs, deterministic=True)
    >>> student.save("cartpole_student"); student = Student.load("cartpole_student")

The teacher is anything ``sd.distill`` takes: a model directory, a ``Model``, an SB3 DQN, PPO or
A2C object or ``.zip`` (then give ``env``). Training runs in a run directory of its own
(``tensorboard_log/Student_N``, or a temporary one). ``policy`` is the last student trained, as
SB3's model is; ``best_policy`` the one the run's evaluations picked.
"""
import json
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from numpy.typing import NDArray

from ._model import Model, load
from ._runzip import PathLike, archive, run_directory, unpack, zip_path

__all__ = ["Student"]



class Student:
    """A student distilled from ``teacher`` with the distillation settings given (``hidden``,
    ``loss``, ``temperature``, ``regime``, ``task_weight``, ``seed`` and any other key of the
    distillation table, as ``sd.distill`` takes them). ``env`` is the environment the student
    collects states in (an id, a ``gymnasium.Env`` or a factory); by default the teacher's."""

    def __init__(self, teacher: Any, env: Any = None, *, hidden: Sequence[int] = (16, 16), loss: Union[str, Dict[str, float]] = "kl",
                 seed: int = 0, tensorboard_log: Optional[str] = None, verbose: int = 0, **settings: Any) -> None:
        if "steps" in settings or "out" in settings:
            raise TypeError("Student takes its steps in learn(total_timesteps) and keeps its own run directory "
                            "(tensorboard_log for a lasting one); drop steps= and out=")
        if "teachers" in settings:
            raise TypeError("give the teacher as Student's first argument, not teachers=")
        _check_names(settings)
        self.teacher = teacher
        self.env = env
        self.hidden = tuple(int(h) for h in hidden)
        self.loss = loss
        self.seed = int(seed)
        self.settings = dict(settings)
        self.tensorboard_log, self.verbose = tensorboard_log, verbose
        self.num_timesteps = 0
        self._run: Optional[Path] = None
        self._temporary: Optional[tempfile.TemporaryDirectory[str]] = None
        self._model: Optional[Model] = None

    def _run_directory(self, tb_log_name: str) -> Path:
        if self._run is None:
            self._run, self._temporary = run_directory(self.tensorboard_log, tb_log_name, "swiftdistill-student-")
        return self._run

    def learn(self, total_timesteps: int, callback: Any = None, tb_log_name: str = "Student",
              progress_bar: bool = False) -> "Student":
        """Collects ``total_timesteps`` more teacher-labelled states (environment steps) and trains
        the student on them; returns ``self``. A second call continues the run (student,
        optimiser, losses; the labelled buffer refills, as a resumed run's does). ``callback`` is
        a function of event dicts, as ``sd.distill`` takes."""
        from ._api import distill
        if not isinstance(total_timesteps, int) or isinstance(total_timesteps, bool) or total_timesteps < 1:
            raise ValueError(f"total_timesteps must be a positive integer, got {total_timesteps!r}")
        run = self._run_directory(tb_log_name)
        target = self.num_timesteps + total_timesteps
        progress = bool(self.verbose or progress_bar)
        if (run / "last" / "state.json").exists():
            distill(self.teacher, out=run, steps=target, resume=True, callback=callback, progress=progress, env=self.env)
        else:
            distill(self.teacher, out=run, steps=target, hidden=self.hidden, loss=self.loss, seed=self.seed, env=self.env,
                    callback=callback, progress=progress, force=True, **self.settings)
        self._after_training(run)
        return self

    def _after_training(self, run: Path) -> None:
        state = json.loads((run / "last" / "state.json").read_text())["state"]
        self.num_timesteps = int(state["step"])
        self._model = load(run / "last")

    @property
    def policy(self) -> Model:
        """The last student trained, as a NumPy ``Model`` (``q_values``, ``predict``, exports)."""
        if self._model is None:
            raise RuntimeError("the student has not been trained yet: call learn() first")
        return self._model

    @property
    def best_policy(self) -> Model:
        """The student the run's periodic evaluations picked (what ``sd.distill`` returns)."""
        if self._run is None or not (self._run / "model.json").exists():
            raise RuntimeError("the student has not been trained yet: call learn() first")
        return load(self._run)

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> Tuple[Union[int, NDArray[Any]], None]:
        """SB3's ``predict``: the student's greedy action (one observation or a batch); a
        categorical student samples its policy when ``deterministic=False``."""
        return self.policy.predict(observation, deterministic=deterministic)

    def get_parameters(self) -> Dict[str, Dict[str, Any]]:
        """``{"policy": {name: tensor}}``, the student's weights by name, as SB3 gives them: the
        policy's ``state_dict`` (torch tensors when torch is installed, else NumPy arrays)."""
        return {"policy": dict(self.policy.state_dict())}

    def save(self, path: PathLike) -> None:
        """Writes the run (students, checkpoint and logs) to ``path`` as a zip (``.zip`` added),
        which ``Student.load`` reads back and a later ``learn`` continues."""
        if self._run is None or not (self._run / "last" / "state.json").exists():
            raise RuntimeError("nothing to save yet: call learn() first")
        archive(self._run, zip_path(path))

    @classmethod
    def load(cls, path: PathLike, teacher: Any = None, env: Any = None) -> "Student":
        """Reads a ``save``d student. A later ``learn`` needs its teacher: ``teacher`` (else the
        directory the run recorded) and ``env`` (else the teacher's). The archive is data: it is
        unpacked only inside a directory of its own."""
        run, temporary = unpack(path, "Student", "swiftdistill-student-")
        config = json.loads((run / "last" / "state.json").read_text())["config"]
        recorded = config.get("teachers") or [None]
        student = cls(teacher if teacher is not None else recorded[0], env, hidden=config.get("hidden_sizes", (16, 16)),
                      loss=config.get("loss", "kl"), seed=int(config.get("seed", 0)))
        student._temporary, student._run = temporary, run
        student._after_training(run)
        return student

    def __repr__(self) -> str:
        return f"Student(teacher={self.teacher!r}, hidden={self.hidden}, loss={self.loss!r}, num_timesteps={self.num_timesteps})"


def _check_names(settings: Dict[str, Any]) -> None:
    """Refuses a setting name the distillation table does not have, now rather than at learn."""
    import difflib
    from ._api import settings as table
    known = {name for s in table("distill") for name in [s["key"], *s["aliases"]]} | {"temperature", "regime", "task_weight"}
    for name in settings:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise TypeError(f"Student() got an unexpected keyword argument '{name}'{hint}")
