"""``swiftdistill.DQN``: Stable-Baselines3's DQN class over the Swift core — SB3's arguments mean
what they mean there, learn continues, predict takes one observation or a batch, save/load round
trips, and what is not supported is refused in a sentence."""
import warnings

import gymnasium
import numpy as np
import pytest

import swiftdistill as sd
from swiftdistill import DQN

CORRIDOR = dict(learning_rate=1e-3, buffer_size=5000, learning_starts=100, batch_size=32, gamma=0.9,
                train_freq=4, gradient_steps=1, target_update_interval=100, exploration_fraction=0.3,
                policy_kwargs=dict(net_arch=[16]))


def params(model):
    return {k: np.array(v) for k, v in model.get_parameters()["policy"].items()}


def test_sb3_arguments_train_what_sd_train_trains(tmp_path):
    """The class maps SB3's arguments onto the core's settings: the same weights as sd.train given
    those settings by their own names."""
    dqn = DQN("MlpPolicy", "Corridor-6", seed=3, **CORRIDOR).learn(1500)
    assert dqn.num_timesteps == 1500
    direct, _ = sd.train("Corridor-6", out=tmp_path / "direct", steps=1500, seed=3, hidden=[16], learning_rate=1e-3,
                         buffer_size=5000, learning_starts=100, batch_size=32, gamma=0.9, train_frequency=4,
                         gradient_steps=1, target_update_interval=100, exploration_fraction=0.3, tau=1.0,
                         exploration_initial=1.0, exploration_final=0.05, max_grad_norm=10, eval_interval=0, progress=False)
    last = sd.load(tmp_path / "direct" / "last")
    assert params(dqn).keys() == last.params.keys()
    assert all(np.array_equal(params(dqn)[k], last.params[k]) for k in last.params)


def test_learn_continues_predict_and_save_load_round_trip(tmp_path):
    dqn = DQN("MlpPolicy", "Corridor-6", seed=1, **CORRIDOR).learn(1200)
    first = params(dqn)
    assert dqn.learn(600, reset_num_timesteps=False) is dqn and dqn.num_timesteps == 1800, "a second learn continues the run"
    assert any(not np.array_equal(first[k], v) for k, v in params(dqn).items())
    eye = np.eye(6, dtype=np.float32)
    action, state = dqn.predict(eye[0], deterministic=True)
    # As SB3's: a NumPy array, shape () for one observation.
    assert isinstance(action, np.ndarray) and action.shape == () and state is None
    batch, _ = dqn.predict(eye, deterministic=True)
    assert batch.shape == (6,) and batch[0] == action
    assert dqn.exploration_rate == pytest.approx(0.05), "ε at the end of SB3's schedule"
    dqn.save(tmp_path / "dqn_corridor")
    assert (tmp_path / "dqn_corridor.zip").exists(), ".zip added as SB3 does"
    loaded = DQN.load(tmp_path / "dqn_corridor")
    assert loaded.num_timesteps == 1800 and params(loaded).keys() == params(dqn).keys()
    assert all(np.array_equal(params(loaded)[k], v) for k, v in params(dqn).items())
    assert np.array_equal(loaded.predict(eye, deterministic=True)[0], batch)
    loaded.learn(300, reset_num_timesteps=False)
    assert loaded.num_timesteps == 2100, "a loaded model continues training"


def test_the_policy_exists_before_learn_as_sb3s_does(tmp_path):
    """SB3 builds its policy at construction: predict and get_parameters work before learn, on
    the network learn starts from (the same weights as a run's first checkpoint before any
    gradient step); learn records its updates in the logger; more environments than the target
    interval warns as SB3 does."""
    dqn = DQN("MlpPolicy", "Corridor-6", seed=4, **CORRIDOR)
    eye = np.eye(6, dtype=np.float32)
    assert dqn.predict(eye, deterministic=True)[0].shape == (6,) and dqn.policy.device.type == "cpu"
    before = params(dqn)
    untrained, _ = sd.train("Corridor-6", out=tmp_path / "untrained", steps=1, seed=4, hidden=[16], learning_starts=2,
                            buffer_size=5000, batch_size=32, eval_interval=0, progress=False)
    assert all(np.array_equal(before[k], v) for k, v in sd.load(tmp_path / "untrained" / "last").params.items())
    dqn.learn(600)
    assert any(not np.array_equal(before[k], v) for k, v in params(dqn).items())
    assert dqn.logger.name_to_value["train/n_updates"] == (600 - 100) // 4
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env
    with pytest.warns(UserWarning, match="The number of environments used is greater"):
        DQN("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2), buffer_size=100, target_update_interval=1)


def test_save_before_learn_and_unregistered_vector_copies(tmp_path):
    """As SB3 allows: a model saved before learn loads with its settings and starting network
    (and learns from step 0); a DummyVecEnv of environments with no registered id trains on them."""
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.envs import IdentityEnv
    from stable_baselines3.common.vec_env import DummyVecEnv
    dqn = DQN("MlpPolicy", "Corridor-6", seed=5, **CORRIDOR)
    start = params(dqn)
    dqn.save(tmp_path / "fresh")
    loaded = DQN.load(tmp_path / "fresh")
    assert loaded.num_timesteps == 0 and loaded.target_update_interval == CORRIDOR["target_update_interval"]
    assert all(np.array_equal(params(loaded)[k], v) for k, v in start.items())
    assert loaded.learn(300).num_timesteps == 300
    venv = DummyVecEnv([lambda: IdentityEnv(3), lambda: IdentityEnv(3)])
    model = DQN("MlpPolicy", venv, learning_starts=20, seed=0, policy_kwargs=dict(net_arch=[8]))
    model.exploration_rate = 1.0
    obs = venv.reset()
    assert model.predict(obs, deterministic=False)[0].shape == (2,), "one-hot Discrete observations, batched"
    # SB3 collects whole rounds of train_freq (4) steps of both environments: 13 rounds of 8.
    assert model.learn(100).num_timesteps == 104


def _within_adam_steps(after, start, steps, learning_rate):
    """True when every weight of ``after`` is within ``steps`` Adam steps of ``start`` (an Adam step
    moves a weight by at most about 3.2 learning rates: (1 − β1)/√(1 − β2)), and some moved."""
    moved = max(float(np.abs(after[k] - v).max()) for k, v in start.items())
    return 0 < moved <= 3.2 * steps * learning_rate


def test_set_parameters_takes_the_weights_and_learn_continues_from_them(tmp_path):
    a = DQN("MlpPolicy", "Corridor-6", seed=6, **CORRIDOR).learn(400)
    b = DQN("MlpPolicy", "Corridor-6", seed=7, **CORRIDOR).learn(400)
    a.set_parameters(b.get_parameters())
    assert all(np.array_equal(params(a)[k], v) for k, v in params(b).items())
    eye = np.eye(6, dtype=np.float32)
    assert np.array_equal(a.predict(eye, deterministic=True)[0], b.predict(eye, deterministic=True)[0])
    # The checkpoint took them: the next learn trains on from them (its replay buffer kept, it
    # trains at once), so after its one gradient step the weights are within Adam's step of b's.
    a.learn(1)
    assert _within_adam_steps(params(a), params(b), steps=1, learning_rate=CORRIDOR["learning_rate"])
    b.save(tmp_path / "b")
    c = DQN("MlpPolicy", "Corridor-6", seed=8, **CORRIDOR).learn(200)
    c.set_parameters(tmp_path / "b.zip")
    assert all(np.array_equal(params(c)[k], v) for k, v in params(b).items())
    with pytest.raises(ValueError, match="names do not match"):
        c.set_parameters({"policy": {"layers.9.weight": np.zeros(3)}})
    # Before the first learn, that learn starts from them: one step before learning_starts keeps them.
    fresh = DQN("MlpPolicy", "Corridor-6", seed=8, **CORRIDOR)
    fresh.set_parameters(b.get_parameters())
    assert all(np.array_equal(params(fresh)[k], v) for k, v in params(b).items())
    fresh.learn(48)
    assert fresh.num_timesteps == 48 and all(np.array_equal(params(fresh)[k], v) for k, v in params(b).items())


def test_callbacks_see_each_steps_episode_ends():
    """`locals["dones"]` and `locals["infos"]` (Monitor's `episode` record) per environment, as
    SB3's callbacks read them: SB3's StopTrainingOnMaxEpisodes stops after its episodes."""
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList, StopTrainingOnMaxEpisodes

    class Episodes(BaseCallback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def _on_step(self):
            assert self.locals["dones"].shape == (1,)
            self.seen += [info["episode"] for info in self.locals["infos"] if "episode" in info]
            return True

    record = Episodes()
    dqn = DQN("MlpPolicy", "CartPole-v1", seed=3, learning_starts=1000, policy_kwargs=dict(net_arch=[16]))
    dqn.learn(5000, callback=CallbackList([record, StopTrainingOnMaxEpisodes(max_episodes=3)]))
    assert len(record.seen) == 3 and dqn.num_timesteps == sum(e["l"] for e in record.seen) < 5000


def test_non_deterministic_predict_explores_at_the_rate():
    dqn = DQN("MlpPolicy", "Corridor-6", seed=2, exploration_final_eps=1.0, **{k: v for k, v in CORRIDOR.items()}).learn(400)
    assert dqn.exploration_rate == 1.0
    eye = np.eye(6, dtype=np.float32)
    actions = {int(dqn.predict(eye[0], deterministic=False)[0]) for _ in range(50)}
    assert actions == {0, 1}, "with ε = 1 every action is random"


class FakeVecEnv:
    num_envs = 2

    def step_async(self, actions):
        pass


class FakeCallback:
    def _on_step(self):
        return True


@pytest.mark.parametrize("kwargs, words", [
    (dict(policy="MultiInputPolicy"), "policy='MultiInputPolicy' is not supported"),
    (dict(replay_buffer_class=object), "replay_buffer_class is not supported"),
    (dict(replay_buffer_kwargs=dict(n_envs=2)), "replay_buffer_kwargs n_envs not supported"),
    (dict(policy_kwargs=dict(features_extractor_kwargs=dict(features_dim=8))), "takes features_dim only, with CnnPolicy"),
    (dict(train_freq=(1, "rollout")), "the unit must be 'step' or 'episode'"),
    (dict(env=FakeVecEnv()), "this vector environment's copies have no registered id"),
    (dict(policy_kwargs=dict(dueling=True)), "policy_kwargs dueling not supported"),
])
def test_what_is_not_supported_is_one_sentence(kwargs, words):
    arguments = dict(policy="MlpPolicy", env="Corridor-6")
    arguments.update(kwargs)
    with pytest.raises(ValueError) as e:
        DQN(**arguments)
    assert words in str(e.value)


def test_cuda_is_said():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DQN("MlpPolicy", "Corridor-6", device="cuda", **CORRIDOR)
    assert any("trains on the CPU" in str(w.message) for w in caught)


class Counting:
    """A callback with SB3's protocol (duck-typed, no SB3 needed) that stops at `stop` calls."""

    def __init__(self, stop):
        self.stop, self.n_calls, self.events, self.seen = stop, 0, [], []

    def init_callback(self, model):
        self.model = model
        self.events.append("init")

    def on_training_start(self, locals_, globals_):
        self.events.append(("start", locals_["total_timesteps"], self.model.num_timesteps))

    def on_rollout_start(self):
        self.events.append("rollout_start")

    def on_step(self):
        self.n_calls += 1
        self.seen.append(self.model.num_timesteps)
        return self.n_calls < self.stop

    def on_rollout_end(self):
        self.events.append("rollout_end")

    def on_training_end(self):
        self.events.append("end")


def test_a_protocol_callback_sees_every_step_and_stops_training():
    dqn = DQN("MlpPolicy", "Corridor-6", seed=4, **CORRIDOR)
    callback = Counting(stop=250)
    dqn.learn(1000, callback=callback)
    assert callback.seen == list(range(1, 251)), "on_step after every environment step, num_timesteps as SB3 counts"
    assert dqn.num_timesteps == 250, "False from on_step stops training there (after a checkpoint)"
    assert callback.events == ["init", ("start", 1000, 0), "rollout_start", "rollout_end", "end"]
    dqn.learn(100, reset_num_timesteps=False)
    assert dqn.num_timesteps == 350, "the stopped run continues"


def test_sb3s_own_callbacks(tmp_path):
    """SB3's CheckpointCallback, EvalCallback with StopTrainingOnRewardThreshold, CallbackList and
    ProgressBarCallback, unchanged, on swiftdistill.DQN."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.callbacks import (CallbackList, CheckpointCallback, EvalCallback,
                                                    StopTrainingOnRewardThreshold)
    import gymnasium
    checkpoints = CheckpointCallback(save_freq=400, save_path=str(tmp_path / "checkpoints"), name_prefix="dqn")
    dqn = DQN("MlpPolicy", "Corridor-6", seed=5, **CORRIDOR)
    dqn.learn(1200, callback=checkpoints)
    saved = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.zip"))
    assert saved == ["dqn_1200_steps.zip", "dqn_400_steps.zip", "dqn_800_steps.zip"], saved
    assert DQN.load(tmp_path / "checkpoints" / "dqn_1200_steps.zip").num_timesteps >= 400

    try:
        import rich  # noqa: F401 (SB3's ProgressBarCallback needs rich and tqdm)
        import tqdm  # noqa: F401
        progress_bar = True
    except ImportError:
        progress_bar = False
    stop = StopTrainingOnRewardThreshold(reward_threshold=150, verbose=0)
    cartpole = DQN("MlpPolicy", "CartPole-v1", learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
                   target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                   exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]), seed=0)
    evaluation = EvalCallback(gymnasium.make("CartPole-v1"), eval_freq=1000, n_eval_episodes=3, callback_on_new_best=stop,
                              verbose=0)
    cartpole.learn(40_000, callback=CallbackList([evaluation]), progress_bar=progress_bar)
    assert evaluation.best_mean_reward >= 150, "EvalCallback predicted with the policy being trained"
    assert cartpole.num_timesteps < 40_000 and cartpole.num_timesteps % 1000 == 0, "stopped at an evaluation"


def test_the_packages_own_callbacks_without_sb3(tmp_path, monkeypatch):
    """swiftdistill.callbacks: SB3's CheckpointCallback, EvalCallback, StopTrainingOnRewardThreshold,
    CallbackList and BaseCallback by the same names and protocol, working with SB3 made
    unimportable (a list of callbacks then becomes the package's CallbackList)."""
    import sys
    from swiftdistill.callbacks import (BaseCallback, CheckpointCallback, EvalCallback,
                                        StopTrainingOnRewardThreshold)
    for name in [m for m in sys.modules if m == "stable_baselines3" or m.startswith("stable_baselines3.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # `import stable_baselines3` now fails

    class Steps(BaseCallback):
        def _on_step(self):
            self.locals.setdefault("seen", []).append(self.num_timesteps)
            return True

    steps = Steps()
    checkpoints = CheckpointCallback(save_freq=400, save_path=str(tmp_path / "checkpoints"), name_prefix="dqn")
    dqn = DQN("MlpPolicy", "Corridor-6", seed=5, **CORRIDOR)
    dqn.learn(1200, callback=[steps, checkpoints])
    assert steps.n_calls == 1200 and steps.locals["seen"][:3] == [1, 2, 3] and steps.num_timesteps == 1200
    saved = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.zip"))
    assert saved == ["dqn_1200_steps.zip", "dqn_400_steps.zip", "dqn_800_steps.zip"], saved
    assert DQN.load(tmp_path / "checkpoints" / "dqn_800_steps.zip").num_timesteps >= 400

    stop = StopTrainingOnRewardThreshold(reward_threshold=150)
    cartpole = DQN("MlpPolicy", "CartPole-v1", learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
                   target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                   exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]), seed=0)
    evaluation = EvalCallback("CartPole-v1", eval_freq=1000, n_eval_episodes=3, callback_on_new_best=stop, verbose=0,
                              log_path=str(tmp_path / "eval"), best_model_save_path=str(tmp_path / "best"))
    cartpole.learn(40_000, callback=evaluation)
    assert evaluation.best_mean_reward >= 150, "EvalCallback predicted with the policy being trained"
    assert cartpole.num_timesteps < 40_000 and cartpole.num_timesteps % 1000 == 0, "stopped at an evaluation"
    log = np.load(tmp_path / "eval" / "evaluations.npz")
    assert list(log["timesteps"]) == list(range(1000, cartpole.num_timesteps + 1, 1000)) and log["results"].shape[1] == 3
    assert (tmp_path / "best" / "best_model.zip").exists()
    with pytest.raises(ValueError, match="save_replay_buffer and save_vecnormalize have nothing to save"):
        CheckpointCallback(save_freq=10, save_path=str(tmp_path), save_replay_buffer=True)


def test_vector_environments_train_that_many_copies(tmp_path):
    """An SB3 VecEnv (or a Gymnasium VectorEnv) of a registered id trains on that many copies
    stepped together: the same weights as the core given environment_count; predict takes the
    vector's batched observations; num_timesteps counts every copy's steps."""
    sb3 = pytest.importorskip("stable_baselines3")
    import gymnasium
    from stable_baselines3.common.env_util import make_vec_env
    venv = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    settings = dict(learning_rate=1e-3, buffer_size=5000, learning_starts=200, batch_size=32, train_freq=2,
                    gradient_steps=-1, target_update_interval=80, policy_kwargs=dict(net_arch=[16]))
    model = DQN("MlpPolicy", venv, seed=1, **settings).learn(1200)
    assert model.n_envs == 4 and model.num_timesteps == 1200 and model.get_env() is venv
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert actions.shape == (4,)
    direct, _ = sd.train("CartPole-v1", out=tmp_path / "direct", steps=1200, seed=1, hidden=[16], learning_rate=1e-3,
                         buffer_size=5000, learning_starts=200, batch_size=32, train_frequency=2, gradient_steps=-1,
                         target_update_interval=80, environment_count=4, gamma=0.99, tau=1.0, exploration_fraction=0.1,
                         exploration_initial=1.0, exploration_final=0.05, max_grad_norm=10, eval_interval=0, progress=False)
    last = sd.load(tmp_path / "direct" / "last")
    assert all(np.array_equal(params(model)[k], last.params[k]) for k in last.params)
    # SB3's −1 with 4 copies: rounds every 2 steps (8 timesteps) of 8 gradient steps, from the
    # first step past learning_starts (step 52 of 300, timestep 208): 125 rounds.
    state = __import__("json").loads((tmp_path / "direct" / "last" / "state.json").read_text())["state"]
    assert state["gradientSteps"] == 125 * 8 and state["step"] == 1200
    # Gymnasium's own vector environments are read the same way.
    gvenv = gymnasium.make_vec("CartPole-v1", num_envs=3)
    assert DQN("MlpPolicy", gvenv, seed=1, **settings).n_envs == 3
    # An in-process vector environment whose copies the core cannot open by id (other keyword
    # arguments, or no registered id) trains on its own copies.
    odd = make_vec_env("CartPole-v1", n_envs=2, env_kwargs={"sutton_barto_reward": True})
    assert DQN("MlpPolicy", odd, learning_starts=50, seed=0).learn(200).num_timesteps == 200
    with pytest.raises(ValueError, match="n_envs is fixed"):
        model.set_env(make_vec_env("CartPole-v1", n_envs=2))
    # A SubprocVecEnv's copies run in worker processes stepping together: the same weights.
    from stable_baselines3.common.vec_env import SubprocVecEnv
    procs = make_vec_env("CartPole-v1", n_envs=4, seed=0, vec_env_cls=SubprocVecEnv)
    try:
        parallel = DQN("MlpPolicy", procs, seed=1, **settings).learn(1200)
        assert all(np.array_equal(params(parallel)[k], last.params[k]) for k in last.params)
    finally:
        procs.close()


def test_num_timesteps_counts_as_sb3s_and_learn_runs_whole_rounds():
    """SB3's counting: ``reset_num_timesteps=True`` (the default) counts this learn's steps from
    0, False goes on counting; a learn runs whole rounds of train_freq steps of every
    environment, and gradient_steps=-1 takes one update per step of the round."""
    dqn = DQN("MlpPolicy", "Corridor-6", seed=2, **CORRIDOR)
    assert dqn.learn(10).num_timesteps == 12, "three rounds of train_freq=4"
    assert dqn.learn(8).num_timesteps == 8, "reset_num_timesteps=True counts this learn's steps"
    assert dqn.learn(8, reset_num_timesteps=False).num_timesteps == 16
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env
    model = DQN("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2), learning_starts=0, buffer_size=1000, train_freq=3,
                gradient_steps=-1, policy_kwargs=dict(net_arch=[8]), seed=0)
    model.learn(total_timesteps=3)
    assert model.num_timesteps == 6 and model.logger.name_to_value["train/n_updates"] == 6, \
        "learning_starts=0 trains at once (batches drawn with replacement), as many updates as the round's steps"


def test_save_keeps_attributes_and_load_takes_custom_objects(tmp_path):
    dqn = DQN("MlpPolicy", "Corridor-6", seed=2, verbose=2, **CORRIDOR).learn(100)
    dqn.save(tmp_path / "a", exclude=["verbose"])
    assert DQN.load(tmp_path / "a.zip").verbose == 0, "excluded: the constructor's default"
    dqn.save(tmp_path / "b", exclude=["verbose"], include=["verbose"])
    loaded = DQN.load(tmp_path / "b.zip", custom_objects={"learning_rate": 2e-5, "dummy": 1.0})
    assert loaded.verbose == 2 and loaded.learning_rate == 2e-5 and not hasattr(loaded, "dummy")
    assert loaded.num_timesteps == 100
    with pytest.raises(ValueError, match="only numbers, strings"):
        dqn.save(tmp_path / "c", include=["policy"])


def test_policy_state_dict_round_trips_and_the_next_learn_starts_from_it(tmp_path):
    torch = pytest.importorskip("torch")
    dqn = DQN("MlpPolicy", "Corridor-6", seed=5, **CORRIDOR).learn(200)
    policy = dqn.policy
    state = policy.state_dict()
    assert list(state) == list(policy.params) and all(isinstance(v, torch.Tensor) for v in state.values())
    random = {k: torch.rand_like(v) for k, v in state.items()}
    policy.load_state_dict(random)
    eye = np.eye(6, dtype=np.float32)
    assert np.allclose(policy.q_values(eye), np.maximum(eye @ random["layers.0.weight"].numpy() + random["layers.0.bias"].numpy(), 0)
                       @ random["layers.1.weight"].numpy() + random["layers.1.bias"].numpy(), atol=1e-5)
    policy.save(tmp_path / "policy.pkl")
    again = type(policy).load(tmp_path / "policy.pkl")
    assert all(torch.equal(again.state_dict()[k], random[k]) for k in random)
    assert np.array_equal(again.q_values(eye), policy.q_values(eye))
    with pytest.raises(ValueError, match="names do not match"):
        policy.load_state_dict({"layers.0.weight": random["layers.0.weight"]})
    with pytest.raises(ValueError, match="must be finite with shape"):
        policy.load_state_dict({**random, "layers.0.bias": torch.zeros(3)})
    # The next learn trains from the weights load_state_dict gave: one gradient step away from them.
    dqn.learn(4, reset_num_timesteps=False)
    after = {k: np.asarray(v) for k, v in dqn.get_parameters()["policy"].items()}
    assert _within_adam_steps(after, {k: v.numpy() for k, v in random.items()}, steps=1, learning_rate=CORRIDOR["learning_rate"])


def test_features_dim_sets_natures_last_layer():
    dqn = DQN("CnnPolicy", "Corridor-6", policy_kwargs=dict(features_extractor_kwargs=dict(features_dim=32)))
    assert dqn._settings()["hidden_sizes"] == [32]
    dqn = DQN("CnnPolicy", "Corridor-6", policy_kwargs=dict(features_extractor_kwargs=dict(features_dim=32), net_arch=[8]))
    assert dqn._settings()["hidden_sizes"] == [32, 8]


def test_callbacks_get_new_obs_and_old_style_functions(tmp_path):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class Watch(BaseCallback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def _on_step(self):
            self.seen.append(np.array(self.locals["new_obs"]))
            return True

    watch = Watch()
    venv = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    model = DQN("MlpPolicy", venv, learning_starts=10, buffer_size=100, train_freq=1, seed=0).learn(20, callback=watch)
    assert len(watch.seen) == 10 and all(o.shape == (2, 4) and o.dtype == np.float32 for o in watch.seen)
    assert all(model.env.observation_space.contains(o[i]) for o in watch.seen for i in range(2))
    assert not np.array_equal(watch.seen[0], watch.seen[1]), "the observations move with the steps"
    calls = []
    model.learn(6, callback=lambda _locals, _globals: calls.append(_locals["new_obs"].shape) or len(calls) < 2)
    assert calls == [(2, 4), (2, 4)], "an old-style function of (locals, globals); False stops training"
    with pytest.raises(AssertionError, match="n_envs is fixed"):
        model.set_env(make_vec_env("CartPole-v1", n_envs=3))
    with pytest.raises(ValueError, match="not one of its objects"):
        model.set_parameters({**model.get_parameters(), "policy.optimizer": {}})


def test_an_environment_without_zoo_settings_does_not_warn():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.envs import IdentityEnv
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DQN("MlpPolicy", IdentityEnv(4), learning_starts=10, buffer_size=100, seed=0).learn(20)


def test_predict_during_learn_encodes_discrete_observations():
    """A callback's predict mid-run reads observations as the network does (one-hot here)."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.envs import IdentityEnv
    from swiftdistill._core import live_q_values

    class Act(BaseCallback):
        def _on_step(self):
            actions, _ = self.model.predict(np.arange(4), deterministic=True)
            q = live_q_values(observations=np.eye(4, dtype=np.float32))
            assert np.array_equal(actions, np.argmax(q, axis=1))
            self.checked = True
            return True

    act = Act()
    DQN("MlpPolicy", IdentityEnv(4), learning_starts=10, buffer_size=100, seed=0).learn(12, callback=act)
    assert act.checked


def test_handle_timeout_termination_false_is_the_cores_time_limit_terminal():
    assert DQN("MlpPolicy", "Corridor-6", **CORRIDOR)._settings().get("time_limit_terminal") is None
    dqn = DQN("MlpPolicy", "Corridor-6", replay_buffer_kwargs=dict(handle_timeout_termination=False), **CORRIDOR)
    assert dqn._settings()["time_limit_terminal"] is True


class _Recorder(gymnasium.Wrapper):
    """Wraps an environment and records every transition it gives the core, in order."""

    def __init__(self, env):
        super().__init__(env)
        self.transitions = []
        self.resets = []  # how many transitions there were at each reset
        self._last = None

    def reset(self, *, seed=None, options=None):
        self._last, info = self.env.reset(seed=seed, options=options)
        self.resets.append(len(self.transitions))
        return self._last, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.transitions.append((np.array(self._last), int(action), float(reward), np.array(obs), bool(terminated)))
        self._last = obs
        return obs, reward, terminated, truncated, info



def test_the_replay_buffer_holds_the_transitions_the_environment_gave():
    """model.replay_buffer, slot by slot, is what the environment gave (observation, action,
    reward, next observation, termination), recorded in Python; a second learn adds to the same
    buffer rather than starting a new one."""
    import gymnasium
    recorder = _Recorder(gymnasium.make("CartPole-v1"))
    dqn = DQN("MlpPolicy", recorder, buffer_size=1000, learning_starts=100, seed=0, policy_kwargs=dict(net_arch=[16]))
    dqn.learn(150)
    buffer = dqn.replay_buffer
    n = len(recorder.transitions)
    assert buffer.size() == n == buffer.pos and not buffer.full and buffer.buffer_size == 1000
    obs, actions, rewards, next_obs, terminated = (np.array(x) for x in zip(*recorder.transitions))
    assert np.array_equal(buffer.observations[:n, 0], obs.astype(np.float32))
    assert np.array_equal(buffer.next_observations[:n, 0], next_obs.astype(np.float32))
    assert np.array_equal(buffer.actions[:n, 0, 0], actions) and np.array_equal(buffer.rewards[:n, 0], rewards)
    assert np.array_equal(buffer.dones[:n, 0], terminated.astype(np.float32)) and terminated.any()
    assert not buffer.observations[n:].any(), "slots not yet written stay zero, as SB3's"
    batch = buffer.sample(32)
    assert tuple(batch._fields[:5]) == ("observations", "actions", "next_observations", "dones", "rewards")
    assert tuple(batch.observations.shape) == (32, 4) and tuple(batch.actions.shape) == (32, 1)
    rows = [int(np.flatnonzero((obs.astype(np.float32) == np.asarray(o)).all(axis=1))[0]) for o in batch.observations]
    assert all(np.asarray(batch.next_observations)[i] == pytest.approx(next_obs[r].astype(np.float32)) for i, r in enumerate(rows))
    dqn.learn(100, reset_num_timesteps=False)
    later = dqn.replay_buffer
    assert later.size() == len(recorder.transitions) > n, "the second learn stores into the first one's buffer"
    assert np.array_equal(later.observations[:n], buffer.observations[:n])


def test_save_and_load_replay_buffer_and_what_learn_then_samples(tmp_path):
    dqn = DQN("MlpPolicy", "CartPole-v1", buffer_size=1000, learning_starts=100, seed=1, policy_kwargs=dict(net_arch=[16]))
    dqn.learn(150)
    before = dqn.replay_buffer
    dqn.save_replay_buffer(tmp_path / "buffer.pkl")
    dqn.replay_buffer = None
    assert dqn.replay_buffer is None
    dqn.load_replay_buffer(tmp_path / "buffer.pkl")
    loaded = dqn.replay_buffer
    for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        assert np.array_equal(getattr(before, name), getattr(loaded, name)), name
    # SB3's extend: rows appended in the ring, the oldest overwritten once full.
    rows = 900
    infos = [[{"TimeLimit.truncated": False}]] * rows
    loaded.extend(before.observations[:rows], before.next_observations[:rows], before.actions[:rows], before.rewards[:rows],
                  before.dones[:rows], infos)
    assert loaded.full and loaded.pos == (before.pos + rows) % 1000
    dqn.learn(100, reset_num_timesteps=False)
    after = dqn.replay_buffer
    assert after.full and after.pos == (loaded.pos + 100) % 1000, "learn trained on the extended buffer and added to it"
    assert np.array_equal(after.observations[before.pos:before.pos + 10], before.observations[:10])
    # replay_buffer = None: the next learn starts with an empty one.
    dqn.replay_buffer = None
    dqn.learn(100, reset_num_timesteps=False)
    assert dqn.replay_buffer.size() == 100
    # DQN.save leaves the buffer out, as SB3's does: a loaded model's learn starts a new one.
    dqn.save(tmp_path / "model")
    import zipfile
    assert not [n for n in zipfile.ZipFile(tmp_path / "model.zip").namelist() if "replay." in n]
    again = DQN.load(tmp_path / "model")
    assert again.replay_buffer is None
    again.learn(100, reset_num_timesteps=False)
    assert again.replay_buffer.size() == 100


def test_replay_buffers_that_do_not_fit_are_refused_in_a_sentence(tmp_path):
    dqn = DQN("MlpPolicy", "CartPole-v1", buffer_size=1000, learning_starts=10, seed=1, policy_kwargs=dict(net_arch=[8]))
    with pytest.raises(ValueError, match="no replay buffer yet; call learn first"):
        dqn.save_replay_buffer(tmp_path / "none")
    dqn.learn(50)
    dqn.save_replay_buffer(tmp_path / "buffer")
    assert (tmp_path / "buffer").is_file()
    other = DQN("MlpPolicy", "CartPole-v1", buffer_size=500, seed=1, policy_kwargs=dict(net_arch=[8]))
    with pytest.raises(ValueError, match="holds a buffer of 1000 transitions and this model's buffer_size is 500"):
        other.load_replay_buffer(tmp_path / "buffer")
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a saved swiftdistill replay buffer"):
        other.load_replay_buffer(tmp_path / "junk.zip")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        other.load_replay_buffer(tmp_path / "missing")


def test_discrete_observations_read_back_as_indices():
    """A Discrete observation space (the core one-hot encodes it): the buffer gives the indices back."""
    dqn = DQN("MlpPolicy", "FrozenLake-v1", buffer_size=500, learning_starts=10, seed=2, policy_kwargs=dict(net_arch=[8]))
    dqn.learn(60)
    buffer = dqn.replay_buffer
    n = buffer.size()
    assert buffer.observations.dtype == np.int64 and buffer.observations.shape == (500, 1)
    assert set(np.unique(buffer.observations[:n])) <= set(range(16)) and buffer.observations[0, 0] == 0
    continuing = buffer.dones[:n - 1, 0] == 0
    # Within an episode each next state is the next transition's state (60 steps: no episode
    # reaches FrozenLake's limit of 100, so every episode that ends is done).
    same = buffer.next_observations[:n - 1, 0] == buffer.observations[1:n, 0]
    assert same[continuing].all() and not same[~continuing].all()


def test_learn_without_resetting_goes_on_with_the_episodes_in_progress():
    """As SB3's: learn(reset_num_timesteps=False) goes on from where the environments are
    (``_last_obs``), learn() with the default starts new episodes; set_env(force_reset=True)
    forgets them, set_env(get_env(), force_reset=False) keeps them."""
    import gymnasium
    recorder = _Recorder(gymnasium.make("CartPole-v1"))
    dqn = DQN("MlpPolicy", recorder, buffer_size=1000, learning_starts=50, seed=4, policy_kwargs=dict(net_arch=[16]))
    assert dqn._last_obs is None
    dqn.learn(100)
    assert np.array_equal(dqn._last_obs, recorder._last[None].astype(np.float32)) and dqn._last_obs.shape == (1, 4)

    def resets_during(learn):
        before_transitions, before_resets = len(recorder.transitions), len(recorder.resets)
        learn()
        new = recorder.resets[before_resets:]
        # Resets at episode ends come after a terminal or truncated step; one before any step of
        # this learn is a reset of the episode in progress.
        return [r for r in new if r == before_transitions]

    assert resets_during(lambda: dqn.learn(100, reset_num_timesteps=False)) == [], "the episode goes on"
    assert len(resets_during(lambda: dqn.learn(100))) == 1, "reset_num_timesteps=True starts new episodes"
    dqn.set_env(dqn.get_env(), force_reset=False)
    assert dqn._last_obs is not None
    assert resets_during(lambda: dqn.learn(100, reset_num_timesteps=False)) == []
    dqn.set_env(recorder, force_reset=True)
    assert dqn._last_obs is None
    assert len(resets_during(lambda: dqn.learn(100, reset_num_timesteps=False))) == 1


def test_a_loaded_model_goes_on_with_the_saved_episodes_when_told(tmp_path):
    """DQN.load(path, env=the saved model's environment, force_reset=False): _last_obs is where
    the episodes stood at save, and learn(reset_num_timesteps=False) steps on from there."""
    pytest.importorskip("stable_baselines3")
    recorder = _Recorder(gymnasium.make("CartPole-v1"))
    dqn = DQN("MlpPolicy", recorder, buffer_size=1000, learning_starts=50, seed=5, policy_kwargs=dict(net_arch=[16]))
    dqn.learn(100)
    venv = dqn.get_env()
    assert venv.envs[0].unwrapped is recorder.unwrapped, "get_env wraps the object training steps"
    dqn.save(tmp_path / "model")
    where = dqn._last_obs.copy()
    del dqn
    fresh = DQN.load(tmp_path / "model", env=venv)
    assert fresh._last_obs is None, "force_reset=True (the default) starts new episodes"
    loaded = DQN.load(tmp_path / "model", env=venv, force_reset=False)
    assert np.array_equal(loaded._last_obs, where)
    before_transitions, before_resets = len(recorder.transitions), len(recorder.resets)
    loaded.learn(100, reset_num_timesteps=False)
    assert before_transitions not in recorder.resets[before_resets:], "no reset before its first step"
    assert np.array_equal(recorder.transitions[before_transitions][0], where[0]), "its first step starts where the save left"


def test_the_policy_is_called_and_assigned_as_sb3s(tmp_path):
    """model.policy(obs) gives the greedy actions, as SB3's DQN policy's forward; assigning
    another model's policy sets its weights; assigning torch.compile(model.policy) keeps the
    policy, and the model still saves and loads (SB3's GH#2137)."""
    a = DQN("MlpPolicy", "Corridor-6", seed=1, **CORRIDOR).learn(300)
    b = DQN("MlpPolicy", "Corridor-6", seed=2, **CORRIDOR).learn(300)
    eye = np.eye(6, dtype=np.float32)
    assert np.array_equal(a.policy(eye), a.predict(eye, deterministic=True)[0])
    a.policy = b.policy
    assert all(np.array_equal(params(a)[k], v) for k, v in params(b).items())
    with pytest.raises(TypeError, match="policy must be a swiftdistill Model"):
        a.policy = object()
    torch = pytest.importorskip("torch")
    before = params(b)
    b.policy = torch.compile(b.policy)
    assert all(np.array_equal(params(b)[k], v) for k, v in before.items())
    b.save(tmp_path / "compiled")
    assert all(np.array_equal(params(DQN.load(tmp_path / "compiled"))[k], v) for k, v in before.items())


def test_learning_rate_schedules_as_sb3s():
    """learning_rate may be SB3's schedule, a function of the progress remaining (1 − timesteps /
    total_timesteps): asked before every training round; a constant one trains the same weights
    as the number; its errors arrive as Python exceptions, a negative rate in a sentence."""
    seen = []

    def schedule(progress):
        seen.append(progress)
        return 1e-3 * progress

    scheduled = DQN("MlpPolicy", "Corridor-6", seed=3, **dict(CORRIDOR, learning_rate=schedule))
    assert seen == [1.0] and scheduled.learning_rate == pytest.approx(1e-3), "the starting rate, as SB3 reads it"
    seen.clear()
    scheduled.learn(1000)
    # Rounds every 4 steps past learning_starts=100: steps 104 … 1000, progress 1 − step/1000.
    assert seen == [pytest.approx(1 - step / 1000) for step in range(104, 1001, 4)]
    assert scheduled.learning_rate == pytest.approx(0.0) and scheduled.logger.name_to_value["train/learning_rate"] == pytest.approx(0.0)
    constant = DQN("MlpPolicy", "Corridor-6", seed=3, **dict(CORRIDOR, learning_rate=lambda _: 1e-3)).learn(1000)
    number = DQN("MlpPolicy", "Corridor-6", seed=3, **CORRIDOR).learn(1000)
    assert all(np.array_equal(params(constant)[k], v) for k, v in params(number).items())
    assert any(not np.array_equal(params(scheduled)[k], v) for k, v in params(number).items())
    # A second learn without resetting counts on: progress runs over both learns' timesteps.
    seen.clear()
    scheduled.learn(1000, reset_num_timesteps=False)
    assert seen[0] == pytest.approx(1 - 1004 / 2000) and seen[-1] == pytest.approx(0.0)

    def broken(progress):
        return 1 / 0

    with pytest.raises(ZeroDivisionError):
        DQN("MlpPolicy", "Corridor-6", seed=3, **dict(CORRIDOR, learning_rate=lambda p: 1e-3 if p == 1.0 else broken(p))).learn(200)
    with pytest.raises(Exception, match="learning-rate schedule gave -1.0 at step 104; it must give a number of at least 0"):
        DQN("MlpPolicy", "Corridor-6", seed=3, **dict(CORRIDOR, learning_rate=lambda p: 1e-3 if p == 1.0 else -1.0)).learn(200)


def test_train_freq_in_episodes_as_sb3s(tmp_path):
    """train_freq=(n, "episode"): a round after every n finished episodes, of as many gradient
    steps as the round's timesteps with gradient_steps=-1 (checked against the episode ends the
    environment gave, recorded in Python); several environments are refused in a sentence."""
    recorder = _Recorder(gymnasium.make("CartPole-v1"))
    dqn = DQN("MlpPolicy", recorder, train_freq=(2, "episode"), gradient_steps=-1, learning_starts=0, buffer_size=1000,
              seed=6, policy_kwargs=dict(net_arch=[8]))
    dqn.learn(400)
    assert dqn.num_timesteps == 400 and len(recorder.transitions) == 400
    ends = recorder.resets[1:]  # each reset after the first follows an episode's last step
    rounds = ends[1::2]  # every second episode end
    assert dqn.logger.name_to_value["train/n_updates"] == rounds[-1] > 0
    dqn.save(tmp_path / "episodic")
    loaded = DQN.load(tmp_path / "episodic")
    assert (loaded.train_freq, loaded.train_freq_unit) == (2, "episode")
    with pytest.raises(ValueError, match="trains after whole episodes of one environment"):
        from stable_baselines3.common.env_util import make_vec_env
        DQN("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2), train_freq=(1, "episode"), learning_starts=0).learn(10)
