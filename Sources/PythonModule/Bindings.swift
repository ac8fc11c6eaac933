import Checkpoint
import CPython
import DQN
import Distill
import Environments
import GymEnvironments
import Foundation
import PythonBridge
import Tensor

/// The functions behind `swiftdistill._core`. Arguments arrive positionally from the Python
/// wrapper (python/swiftdistill), which checks names and types; values are checked here.
enum Bindings {
    /// Runs `body` on the argument tuple; Swift errors become Python exceptions.
    static func call(_ args: UnsafeMutablePointer<PyObject>?, _ body: ([PythonObject]) throws -> PythonObject)
        -> UnsafeMutablePointer<PyObject>?
    {
        do {
            let items = try args.map { try PythonObject(borrowing: $0).elements() } ?? []
            let result = try body(items)
            cpy_incref(result.pointer)
            return result.pointer
        } catch {
            raise(error)
            return nil
        }
    }

    /// Sets the Python exception that best matches a Swift error.
    static func raise(_ error: Error) {
        if let interrupt = error as? Interrupted { interrupt.exception.restore(); return }
        if let e = error as? PythonError, let ex = e.exception, ex.value != nil { ex.restore(); return }
        if let e = error as? EnvironmentError, let ex = e.pythonException, ex.value != nil {
            ex.restore()
            return
        }
        let message = "\(error)"
        let type: UnsafeMutablePointer<PyObject>
        switch error {
        case RunError.alreadyExists: type = cpy_exc_file_exists()
        case RunError.nothingToResume, CheckpointError.missingFile: type = cpy_exc_file_not_found()
        case is RunError, is CheckpointError, is DistillError, is EnvironmentError, is PythonError: type = cpy_exc_value_error()
        default: type = cpy_exc_runtime_error()
        }
        PyErr_SetString(type, message)
    }

    /// A KeyboardInterrupt caught while Swift was running; raised again after the checkpoint.
    struct Interrupted: Error { let exception: PythonException }

    static func dqnDefaults(_ a: [PythonObject]) throws -> PythonObject {
        try schema(DQNConfig.defaults(for: String(python: a[0])))
    }

    static func distillDefaults(_ a: [PythonObject]) throws -> PythonObject { try schema(DistillConfig()) }

    /// {"defaults": {name: value}, "types": {name: "int" | "float" | "bool" | "str" | "int_list" | "optional_int" | …}}
    /// so the Python wrapper can check keyword arguments by name and kind.
    static func schema<T: Encodable>(_ config: T) throws -> PythonObject {
        let defaults = JSONValue.object(encoding: config)
        func normalised(_ k: String) -> String { k.lowercased().filter { $0 != "_" } }
        let byNormalised = Dictionary(uniqueKeysWithValues: defaults.keys.map { (normalised($0), $0) })
        var types: [String: JSONValue] = [:]
        for child in Mirror(reflecting: config).children {
            guard let label = child.label else { continue }
            // Optional settings that are nil are absent from the encoded defaults: derive their snake_case name.
            let key = byNormalised[normalised(label)] ?? label.reduce(into: "") { out, c in
                if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
            }
            // Exact types: an empty [String] would also pass an `is [Int]` test.
            let t = type(of: child.value)
            let name: String
            if t == Bool.self { name = "bool" }
            else if t == Int.self { name = "int" }
            else if t == Float.self || t == Double.self { name = "float" }
            else if t == String.self { name = "str" }
            else if t == [Int].self { name = "int_list" }
            else if t == [String].self { name = "str_list" }
            else if t == Int?.self { name = "optional_int" }
            else if t == String?.self { name = "optional_str" }
            else { name = "any" }
            types[key] = .string(name)
        }
        return try json(JSONValue.object(["defaults": .object(defaults), "types": .object(types)]))
    }

    /// train(env: str | factory, env_name, config_json, out, force, resume, callback, resume_steps)
    static func train(_ a: [PythonObject]) throws -> PythonObject {
        let (envArg, envName, configJSON) = (a[0], try String(python: a[1]), try String(python: a[2]))
        let out = try String(python: a[3]), force = try Bool(python: a[4]), resume = try Bool(python: a[5])
        let callback: PythonObject? = a[6].isNone ? nil : a[6]
        Allocator.retainFreedMemory()
        var run = TrainingRun(directory: URL(fileURLWithPath: out))
        let control = RunControl(callback: callback)
        run.shouldStop = control.shouldStop
        run.aroundCompute = { body in Python.withoutGIL(body) }
        run.onEvent = { event in control.send(event.dictionary) }
        let make = { try environment(envArg) }
        let outcome: TrainingOutcome
        if resume {
            let steps = try Int(python: a[7])
            outcome = try run.resume(env: make(), evalEnv: make(), totalSteps: steps > 0 ? steps : nil)
        } else {
            let config = try DQNConfig().applying(json: Data(configJSON.utf8), environment: envName, source: "keyword arguments")
            outcome = try run.start(config: config, environment: envName, env: make(),
                                    evalEnv: config.evalInterval > 0 ? make() : nil, force: force)
        }
        try control.finish(interrupted: outcome.interrupted)
        var summary: [String: any PythonConvertible] = [
            "out": out, "steps": outcome.state.step, "episodes": outcome.state.episodes,
            "gradient_steps": outcome.state.gradientSteps, "wall_time": outcome.state.elapsedSeconds,
            "interrupted": outcome.interrupted,
        ]
        if let best = outcome.state.bestMeanReturn { summary["best_mean_return"] = best }
        return try PythonObject.dictionary(summary)
    }

    /// distill(config_json, out, env: str | None, force, callback)
    static func distill(_ a: [PythonObject]) throws -> PythonObject {
        let data = Data(try String(python: a[0]).utf8)
        let config: DistillConfig
        do { config = try JSONDecoder().decode(DistillConfig.self, from: data) } catch {
            throw RunError.invalidSetting("the distillation settings do not decode: \(error)")
        }
        let out = try String(python: a[1])
        let envName: String? = a[2].isNone ? nil : try String(python: a[2])
        let force = try Bool(python: a[3])
        let callback: PythonObject? = a[4].isNone ? nil : a[4]
        Allocator.retainFreedMemory()
        var run = DistillationRun(directory: URL(fileURLWithPath: out))
        let control = RunControl(callback: callback)
        run.shouldStop = control.shouldStop
        run.aroundCompute = { body in Python.withoutGIL(body) }
        run.onEvent = { event in control.send(event.dictionary) }
        let outcome = try run.start(config: config, environment: envName, force: force) { try makeEnvironment($0) }
        try control.finish(interrupted: outcome.interrupted)
        var summary: [String: any PythonConvertible] = [
            "out": out, "labels": outcome.labels, "gradient_steps": outcome.gradientSteps,
            "wall_time": outcome.elapsed, "interrupted": outcome.interrupted,
        ]
        if let best = outcome.bestEvaluation { summary["best_mean_return"] = best.mean }
        return try PythonObject.dictionary(summary)
    }

    /// compare(teacher, student, episodes, seed, env: str | None) -> JSON text
    static func compare(_ a: [PythonObject]) throws -> PythonObject {
        let tURL = URL(fileURLWithPath: try String(python: a[0])), sURL = URL(fileURLWithPath: try String(python: a[1]))
        let (t, tm) = try ModelDirectory.load(from: tURL)
        let (s, _) = try ModelDirectory.load(from: sURL)
        guard let name = a[4].isNone ? tm.environment : try String(python: a[4]) else {
            throw RunError.invalidSetting("the teacher records no environment; pass env=.")
        }
        let report = try Python.withoutGIL {
            try Distill.compare(teacher: t, teacherBytes: try ModelDirectory.modelBytes(tURL), student: s, studentBytes: try ModelDirectory.modelBytes(sURL),
                                env: try Python.withGIL { try makeEnvironment(name) }, episodes: try Int(python: a[2]), seed: try Int(python: a[3]))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try String(decoding: encoder.encode(report), as: UTF8.self).pythonObject()
    }

    /// q_values(model_dir, observations: 2-D float array) -> ndarray (N × actions), float32.
    static func qValues(_ a: [PythonObject]) throws -> PythonObject {
        let (net, _) = try ModelDirectory.load(from: URL(fileURLWithPath: try String(python: a[0])))
        let shape = try a[1].arrayShape()
        guard shape.count == 2, shape[1] == net.inputSize else {
            throw RunError.invalidSetting("observations must have shape (N, \(net.inputSize)), got \(shape).")
        }
        let q = net(Tensor(shape: shape, scalars: try a[1].floatArray()))
        return try PythonObject.ndarray(q.scalars, shape: q.shape)
    }

    /// A string names an environment; anything else is a factory that returns a Gymnasium env.
    static func environment(_ arg: PythonObject) throws -> any Environment {
        if let name = try? String(python: arg) { return try makeEnvironment(name) }
        let object: PythonObject
        do { object = try arg.call() } catch let e as PythonError {
            throw EnvironmentError.python(arg.typeName, operation: "creating the environment", e)
        }
        return try GymEnvironment(object: object)
    }

    static func json<T: Encodable>(_ value: T) throws -> PythonObject {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try String(decoding: encoder.encode(value), as: UTF8.self).pythonObject()
    }
}

/// Progress callbacks, Ctrl-C (a pending KeyboardInterrupt) and callback errors for one run.
final class RunControl {
    let callback: PythonObject?
    private var caught: PythonError?

    init(callback: PythonObject?) { self.callback = callback }

    /// True once Python has a pending signal exception or the callback raised.
    func shouldStop() -> Bool {
        if caught != nil { return true }
        let signalled = (try? Python.withGIL { PyErr_CheckSignals() != 0 }) ?? false
        if signalled { caught = (try? Python.withGIL { PythonError.fetch() }) }
        return caught != nil
    }

    func send(_ event: [String: any PythonConvertible]) {
        guard let callback, caught == nil else { return }
        do { try callback.call(PythonObject.dictionary(event)) } catch let e as PythonError { caught = e } catch {}
    }

    /// Raises what stopped the run, after the caller's checkpoint.
    func finish(interrupted: Bool) throws {
        if let caught, let ex = caught.exception { throw Bindings.Interrupted(exception: ex) }
    }
}

extension TrainingEvent {
    var dictionary: [String: any PythonConvertible] {
        switch self {
        case .progress(let p):
            var d: [String: any PythonConvertible] = ["kind": "progress", "step": p.step, "total_steps": p.totalSteps,
                                                      "epsilon": Double(p.epsilon), "episodes": p.episodes,
                                                      "gradient_steps": p.gradientSteps, "steps_per_second": p.stepsPerSecond]
            if let r = p.recentMeanReturn { d["recent_mean_return"] = r }
            if let l = p.loss { d["loss"] = Double(l) }
            return d
        case .episode(let step, let episode, let ret, let length, let eps, _):
            return ["kind": "episode", "step": step, "episode": episode, "return": ret, "length": length, "epsilon": Double(eps)]
        case .evaluation(let step, let r, let isBest):
            return ["kind": "eval", "step": step, "mean_return": r.mean, "std_return": r.std, "is_best": isBest]
        }
    }
}

extension DistillEvent {
    var dictionary: [String: any PythonConvertible] {
        switch self {
        case .progress(let p):
            var d: [String: any PythonConvertible] = ["kind": "progress", "step": p.step, "total_steps": p.totalSteps,
                                                      "labels": p.labels, "gradient_steps": p.gradientSteps,
                                                      "steps_per_second": p.stepsPerSecond]
            for (k, v) in p.losses { d[k] = Double(v) }
            return d
        case .evaluation(let step, let labels, let r, let isBest):
            return ["kind": "eval", "step": step, "labels": labels, "mean_return": r.mean, "std_return": r.std, "is_best": isBest]
        }
    }
}
