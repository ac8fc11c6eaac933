"""Bad input from Python never kills the interpreter: each case runs in a child process, so a
trap would show as a dead child rather than a dead test runner."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "Tests" / "GymEnvironmentsTests" / "Fixtures"


def in_child(body, *args):
    script = textwrap.dedent("""
        import json, sys, warnings
        sys.path.insert(0, %r)
        import numpy as np
        import swiftdistill as sd
        results = {}
        def attempt(name, call):
            try:
                call()
                results[name] = "ok"
            except Exception as e:
                results[name] = type(e).__name__ + ": " + str(e)
    """ % str(FIXTURES)) + textwrap.dedent(body) + "\nprint(json.dumps(results))\n"
    r = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"the Python process died ({r.returncode}): {r.stderr[-3000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_bad_values_are_exceptions_not_crashes(tmp_path, corridor_teacher):
    results = in_child("""
        out, teacher = sys.argv[1], sys.argv[2]
        attempt("seed", lambda: sd.train("Corridor-6", out=out + "/a", seed=-1, progress=False))
        attempt("buffer", lambda: sd.train("Corridor-6", out=out + "/b", buffer_size=10**12, progress=False))
        attempt("hidden", lambda: sd.train("Corridor-6", out=out + "/c", hidden=(10**9, 10**9), progress=False))
        attempt("compare", lambda: sd.compare(teacher, teacher, env="CartPole-v1"))
        attempt("nan-lr", lambda: sd.distill(teacher, out=out + "/d", learning_rate=float("nan"), progress=False))
        attempt("nan-env", lambda: sd.train("fixture_envs:NonFiniteEnv", out=out + "/e", steps=600, learning_starts=50,
                                            eval_interval=0, progress=False))
        attempt("resume-gamma", lambda: sd.train("Corridor-6", out=out + "/f", resume=True, gamma=0.5))
    """, tmp_path, corridor_teacher.path)
    assert results["seed"].startswith("ValueError: seed must be 0 or more (got -1).")
    assert results["buffer"].startswith("ValueError: buffer_size 1000000000000 needs")
    assert results["hidden"].startswith("ValueError: hidden_sizes 1000000000,1000000000 needs")
    assert results["compare"].startswith("ValueError: the model takes 6 inputs and 2 actions, but CartPole-v1 has 4 and 2")
    assert results["nan-lr"].startswith("ValueError: learning_rate must be a finite number (got nan).")
    assert results["nan-env"].startswith("ValueError: The environment fixture_envs:NonFiniteEnv returned a non-finite reward")
    assert results["resume-gamma"].startswith("FileNotFoundError") or "cannot change" in results["resume-gamma"]


def test_the_extension_leaves_the_hosts_allocator_alone():
    """Freeing large NumPy arrays after using the core gives memory back, as it would without it."""
    results = in_child("""
        import os
        def rss():
            return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        sd.settings("dqn")
        before = rss()
        arrays = [np.ones(10_000_000) for _ in range(3)]
        del arrays
        results["growth_mb"] = (rss() - before) / 1e6
    """)
    assert results["growth_mb"] < 50, results


def test_an_environment_that_kills_its_process_leaves_the_interpreter_alive(tmp_path):
    """With env_isolation="process" a segfault in the environment (CrashingEnv reads address 0
    at its 50th step) is an exception in the caller's interpreter: a Jupyter kernel lives on."""
    results = in_child("""
        out = sys.argv[1]
        common = dict(steps=2000, learning_starts=100, eval_interval=0, progress=False)
        attempt("segfault", lambda: sd.train("fixture_envs:CrashingEnv", out=out + "/s", env_isolation="process", **common))
        attempt("object", lambda: sd.train(lambda: None, out=out + "/o", env_isolation="process", **common))
        attempt("mode", lambda: sd.train("Corridor-6", out=out + "/m", env_isolation="thread", **common))
        attempt("both", lambda: sd.train("Corridor-6", out=out + "/b", hidden=(8,), hidden_sizes=[0], **common))
        attempt("after", lambda: sd.train("Corridor-6", out=out + "/after", **common))
    """, tmp_path)
    assert results["segfault"].startswith("EnvironmentProcessError: the worker process running fixture_envs:CrashingEnv "
                                          "was killed by SIGSEGV during step "), results
    assert results["object"].startswith("ValueError: env_isolation='process' opens the environment in a worker process"), results
    assert results["mode"] == "ValueError: env_isolation must be 'none' or 'process', not 'thread'", results
    assert results["both"].startswith("TypeError: train() got both hidden= and hidden_sizes="), results
    assert results["after"] == "ok", "the interpreter keeps working, with isolation switched off again"


def test_a_recorded_module_is_never_imported_from_python(tmp_path, corridor_teacher):
    """A teacher whose model.json records "this:X" (importing `this` prints the Zen of Python):
    sd.distill and sd.compare refuse it in one sentence without importing the module."""
    import shutil
    copy = tmp_path / "t"
    shutil.copytree(corridor_teacher.path, copy)
    manifest = json.loads((copy / "model.json").read_text())
    manifest["environment"] = "this:X"
    (copy / "model.json").write_text(json.dumps(manifest))
    results = in_child("""
        teacher, out = sys.argv[1], sys.argv[2]
        attempt("distill", lambda: sd.distill(teacher, out=out + "/s", steps=200, progress=False))
        attempt("compare", lambda: sd.compare(teacher, teacher, episodes=1))
        results["imported"] = "this" in sys.modules
    """, copy, tmp_path)
    assert results["imported"] is False
    for name in ("distill", "compare"):
        assert results[name].startswith("ValueError: The model records its environment as 'this:X', which names Python code"), results
