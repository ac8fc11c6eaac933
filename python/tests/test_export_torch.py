"""PyTorch and Stable-Baselines3 exports: numerical parity with the NumPy loader and SB3's own
greedy actions and evaluate_policy. torch and SB3 are optional (PyPI's torch is the CUDA build):
`make test`'s set-up installs a CPU torch wheel from /opt/wheels (SETUP_WHEELS) and SB3 when such a
wheel is there; elsewhere these tests are skipped."""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import swiftdistill as sd

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]
DISTILL = os.environ.get("DISTILL", str(ROOT / ".build" / "release" / "distill"))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "teacher"
    trained, _ = sd.train("CartPole-v1", steps=2000, seed=0, out=out, learning_starts=500, eval_interval=0,
                          hidden=(32, 16), progress=False)
    return trained


def observations():
    return np.random.default_rng(3).normal(size=(200, 4)).astype(np.float32)


def test_torch_module_and_torchscript_match_the_numpy_loader(model, tmp_path):
    module = model.to_torch(tmp_path / "model.pt")
    obs = observations()
    expected = model.q_values(obs)
    got = module(torch.from_numpy(obs)).detach().numpy()
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert [type(m).__name__ for m in module] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    scripted = torch.jit.load(str(tmp_path / "model.pt"))
    assert np.allclose(scripted(torch.from_numpy(obs)).detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    r = subprocess.run([DISTILL, "export", str(model.path), "--format", "torch", "--output", str(tmp_path / "cli.pt")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert np.allclose(torch.jit.load(str(tmp_path / "cli.pt"))(torch.from_numpy(obs)).detach().numpy(), expected,
                       rtol=1e-5, atol=1e-5)


def test_sb3_zip_loads_and_acts_like_the_model(model, tmp_path):
    sb3 = pytest.importorskip("stable_baselines3")
    path = model.to_sb3(tmp_path / "dqn")
    assert path.name == "dqn.zip" and path.exists()
    loaded = sb3.DQN.load(str(path), device="cpu")
    obs = observations()
    actions, _ = loaded.predict(obs, deterministic=True)
    assert (actions == model.predict(obs, deterministic=True)[0]).all()
    with torch.no_grad():
        q = loaded.q_net(torch.from_numpy(obs)).numpy()
    assert np.allclose(q, model.q_values(obs), rtol=1e-5, atol=1e-5)
    r = subprocess.run([DISTILL, "export", str(model.path), "--format", "sb3", "--output", str(tmp_path / "cli")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and (tmp_path / "cli.zip").exists(), r.stderr
    again = subprocess.run([DISTILL, "export", str(model.path), "--format", "sb3", "--output", str(tmp_path / "cli")],
                           capture_output=True, text=True)
    assert again.returncode != 0 and "exists; choose another --output or add --force" in again.stderr


def test_an_sb3_dqn_is_a_teacher(tmp_path):
    sb3 = pytest.importorskip("stable_baselines3")
    import gymnasium as gym
    dqn = sb3.DQN("MlpPolicy", gym.make("CartPole-v1"), policy_kwargs=dict(net_arch=[32, 32]), device="cpu",
                  learning_starts=0, seed=0)
    dqn.save(str(tmp_path / "sb3_teacher"))
    # A .zip holds the spaces but not the environment's id: it is given (a live DQN object knows it).
    teacher = sd.from_sb3(tmp_path / "sb3_teacher.zip", tmp_path / "teacher", environment="CartPole-v1")
    assert sd.from_sb3(dqn, tmp_path / "live").environment == "CartPole-v1"
    obs = observations()
    with torch.no_grad():
        assert np.allclose(teacher.q_values(obs), dqn.q_net(torch.from_numpy(obs)).numpy(), rtol=1e-6, atol=1e-6)
    assert teacher.hidden_sizes == [32, 32] and teacher.environment == "CartPole-v1"
    # The Swift core reads what Python wrote (checksums included), and sd.distill takes the .zip directly.
    student, summary = sd.distill(tmp_path / "sb3_teacher.zip", hidden=(8,), steps=600, out=tmp_path / "student",
                                  env="CartPole-v1", eval_interval=0, progress=False)
    assert (tmp_path / "student.teacher0" / "model.json").exists() and student.hidden_sizes == [8]
    with pytest.raises(FileExistsError):
        sd.from_sb3(dqn, tmp_path / "teacher")
    with pytest.raises(TypeError, match="expected a stable_baselines3 DQN"):
        sd.from_sb3(object(), tmp_path / "other")


def test_evaluate_matches_sb3_evaluate_policy(model, tmp_path):
    """sd.evaluate has evaluate_policy's semantics: the same episodes (seeded the same way) give
    the same returns, lengths, mean and std as SB3 running the exported DQN."""
    sb3 = pytest.importorskip("stable_baselines3")
    import gymnasium as gym
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    class FirstResetSeeded(gym.Wrapper):
        """SB3's VecEnv resets without a seed: the first reset here uses `seed`, as ours does."""
        def __init__(self, env, seed):
            super().__init__(env)
            self.first_seed = seed

        def reset(self, **kwargs):
            if self.first_seed is not None:
                kwargs["seed"], self.first_seed = self.first_seed, None
            return self.env.reset(**kwargs)

    loaded = sb3.DQN.load(str(model.to_sb3(tmp_path / "dqn")), device="cpu")
    theirs_returns, theirs_lengths = [], []
    for episode in range(5):  # episode i reset with seed 100 + i, as sd.evaluate(seed=100) does
        venv = DummyVecEnv([lambda: Monitor(FirstResetSeeded(gym.make("CartPole-v1"), 100 + episode))])
        r, l = evaluate_policy(loaded, venv, n_eval_episodes=1, deterministic=True, return_episode_rewards=True)
        theirs_returns += r
        theirs_lengths += l
    ours_returns, ours_lengths = sd.evaluate(model, "CartPole-v1", n_eval_episodes=5, seed=100, return_episode_rewards=True)
    assert ours_returns == pytest.approx(theirs_returns) and ours_lengths == theirs_lengths
    mean, std = sd.evaluate(model, "CartPole-v1", n_eval_episodes=5, seed=100)
    assert mean == pytest.approx(np.mean(theirs_returns)) and std == pytest.approx(np.std(theirs_returns))


def test_evaluate_takes_a_vec_env_as_evaluate_policy_does(model, tmp_path):
    """An SB3 VecEnv of three environments: the episodes shared out as evaluate_policy shares
    them give the same returns and lengths (in the same order) as SB3 running the exported DQN."""
    sb3 = pytest.importorskip("stable_baselines3")
    import gymnasium as gym
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    def venv():
        v = DummyVecEnv([lambda: Monitor(gym.make("CartPole-v1")) for _ in range(3)])
        v.seed(7)
        return v
    loaded = sb3.DQN.load(str(model.to_sb3(tmp_path / "dqn")), device="cpu")
    theirs = evaluate_policy(loaded, venv(), n_eval_episodes=7, deterministic=True, return_episode_rewards=True)
    ours = sd.evaluate(model, venv(), n_eval_episodes=7, return_episode_rewards=True)
    assert len(ours[0]) == 7 and ours[0] == pytest.approx(theirs[0]) and ours[1] == theirs[1]
    mean, std = sd.evaluate(model, venv(), n_eval_episodes=7)
    assert mean == pytest.approx(np.mean(theirs[0])) and std == pytest.approx(np.std(theirs[0]))
