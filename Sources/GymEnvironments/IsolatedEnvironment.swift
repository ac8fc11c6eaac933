import Environments
import PythonBridge

/// Where an environment's Python code runs.
public enum EnvironmentIsolation: String, CaseIterable, Sendable {
    /// In this process: fastest; an environment that crashes or exits takes the process with it.
    case none
    /// In a worker process of its own: an environment that segfaults, calls `os._exit` or is
    /// killed becomes one error naming the call, and the run (or a user's Jupyter kernel) lives on.
    case process

    /// What every environment opened by name uses (the `distill` command sets it from
    /// `--env-isolation`; Python's `env_isolation=` sets it for one call).
    nonisolated(unsafe) public static var current: EnvironmentIsolation = .none
}

/// A Gymnasium environment in a worker process: a `gymnasium.Env` subclass whose `reset`,
/// `step` and `close` travel over a pipe (pickled) to a child interpreter — the same Python,
/// started with `sys.executable` — that opens the environment by id or `module:attribute` and
/// applies the calls. Its spaces are the child's, copied once. The child's death (a signal or
/// an exit) is raised as `EnvironmentProcessError` naming the call and the cause; an exception
/// in the child is raised again here with its type (where it is a built-in), message and the
/// child's traceback as a note.
enum IsolatedEnvironment {
    /// Opens `name` with `kwargs`, under `wrappers` (entry point and keyword arguments, applied
    /// in the worker, in order), in a new worker process; returns the proxy object.
    static func open(_ name: String, kwargs: [String: any PythonConvertible], wrappers: [EnvironmentWrapper] = []) throws -> PythonObject {
        let proxy = try proxyClass()
        let sys = try Python.import("sys")
        let arguments = try PythonObject.dictionary(kwargs)
        let wrapping = try wrappers.map { w in
            PythonTuple(w.entryPoint, try PythonObject.dictionary(w.arguments.mapValues { $0 as any PythonConvertible }))
        }.pythonObject()
        return try proxy.call(name, arguments, try sys.attr("executable"), wrapping)
    }

    nonisolated(unsafe) private static var cached: PythonObject?

    /// The proxy class, defined once per interpreter from `source`.
    private static func proxyClass() throws -> PythonObject {
        if let cached { return cached }
        let namespace = try Python.run(source)
        let proxy = try namespace.method("__getitem__", "IsolatedEnv")
        cached = proxy
        return proxy
    }

    /// The worker: reads (method, args, kwargs) frames from one pipe, answers on another
    /// (stdout stays the environment's own, for its prints).
    static let worker = #"""
import importlib, os, pickle, struct, sys, traceback
commands = os.fdopen(int(sys.argv[1]), "rb")
replies = os.fdopen(int(sys.argv[2]), "wb")

def receive():
    header = commands.read(8)
    if len(header) < 8:
        sys.exit(0)
    return pickle.loads(commands.read(struct.unpack("<Q", header)[0]))

def send(message):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    replies.write(struct.pack("<Q", len(data)) + data)
    replies.flush()

def failure(e):
    return ("error", type(e).__name__, str(e), traceback.format_exc())

def make(name, kwargs):
    if ":" in name and not name.startswith(":"):
        module, attribute = name.rsplit(":", 1)
        loaded = importlib.import_module(module)
        if hasattr(loaded, attribute):
            return getattr(loaded, attribute)(**kwargs)
        name = attribute
    import gymnasium
    if name.startswith("ALE/"):
        import ale_py
        gymnasium.register_envs(ale_py)
    elif name.startswith("MinAtar/"):
        from minatar.gym import register_envs
        register_envs()
    return gymnasium.make(name, **kwargs)

name, kwargs, path, wrappers = receive()
sys.path[:] = path  # the parent's, so what it can import (a notebook's own modules) the worker can
try:
    env = make(name, kwargs)
    for entry_point, wrapper_kwargs in wrappers:
        module, attribute = entry_point.split(":", 1)
        env = getattr(importlib.import_module(module), attribute)(env, **wrapper_kwargs)
    send(("ok", (env.observation_space, env.action_space, getattr(env, "metadata", {}))))
except BaseException as e:
    send(failure(e))
    sys.exit(0)
while True:
    method, args, kwargs = receive()
    try:
        send(("ok", getattr(env, method)(*args, **kwargs)))
    except BaseException as e:
        send(failure(e))
    if method == "close":
        sys.exit(0)
"""#

    static let source = #"""
import builtins, os, pickle, signal, struct, subprocess, sys
import gymnasium

WORKER = \#(pythonLiteral(worker))

class EnvironmentProcessError(RuntimeError):
    """The worker process running an isolated environment died."""

class IsolatedEnv(gymnasium.Env):
    def __init__(self, name, kwargs, executable, wrappers=()):
        command_read, command_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            self._process = subprocess.Popen([executable, "-c", WORKER, str(command_read), str(reply_write)],
                                             pass_fds=(command_read, reply_write), stdin=subprocess.DEVNULL)
        finally:
            os.close(command_read)
            os.close(reply_write)
        self._commands = os.fdopen(command_write, "wb")
        self._replies = os.fdopen(reply_read, "rb")
        self._name = name
        self._send((name, kwargs, list(sys.path), [tuple(w) for w in wrappers]))
        self.observation_space, self.action_space, self.metadata = self._receive("opening it")

    def _send(self, message):
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._commands.write(struct.pack("<Q", len(data)) + data)
            self._commands.flush()
        except (BrokenPipeError, ValueError):
            pass  # the reply read reports how the worker ended

    def _receive(self, during):
        header = self._replies.read(8)
        if len(header) < 8:
            code = self._process.wait()
            if code < 0:
                try:
                    how = "was killed by " + signal.Signals(-code).name
                except ValueError:
                    how = f"was killed by signal {-code}"
            else:
                how = f"exited with status {code}"
            raise EnvironmentProcessError(f"the worker process running {self._name} {how} during {during}")
        reply = pickle.loads(self._replies.read(struct.unpack("<Q", header)[0]))
        if reply[0] == "ok":
            return reply[1]
        _, kind, message, trace = reply
        known = getattr(builtins, kind, None)
        error = known(message) if isinstance(known, type) and issubclass(known, Exception) else RuntimeError(f"{kind}: {message}")
        error.add_note("in the environment's worker process:\n" + trace)
        raise error

    def _call(self, method, during, *args, **kwargs):
        self._send((method, args, kwargs))
        return self._receive(during)

    _episode, _step = 0, 0

    def reset(self, *, seed=None, options=None):
        self._episode, self._step = self._episode + 1, 0
        keywords = {k: v for k, v in (("seed", seed), ("options", options)) if v is not None}
        return self._call("reset", f"the reset of episode {self._episode} (seed {seed})", **keywords)

    def step(self, action):
        self._step += 1
        return self._call("step", f"step {self._step} of episode {self._episode} (action {action!r})", action)

    # A step begun and ended apart, so several workers step at once (vector environments).
    def step_begin(self, action):
        self._step += 1
        self._pending = f"step {self._step} of episode {self._episode} (action {action!r})"
        self._send(("step", (action,), {}))

    def step_end(self):
        return self._receive(self._pending)

    def close(self):
        if self._process.poll() is None:
            try:
                self._call("close", "close()")
            except Exception:
                pass
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._commands.close()
        self._replies.close()

    def __del__(self):
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
"""#

    /// `text` as a Python string literal (triple-quoted, raw content escaped).
    private static func pythonLiteral(_ text: String) -> String {
        "\"\"\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"\"\"", with: "\\\"\\\"\\\"") + "\"\"\""
    }
}
