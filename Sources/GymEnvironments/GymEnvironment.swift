import Environments
import PythonBridge

/// A Gymnasium environment driven from Swift through the embedded interpreter.
///
/// Opens registered ids (`CartPole-v1`, with keyword arguments), users' own classes or factory
/// functions named `module:attribute`, or an existing Python object; speaks both Gymnasium's API
/// and the old gym API (reset returns only the observation; step returns a 4-tuple).
public final class GymEnvironment: ConcurrentlySteppable {
    public let spec: EnvironmentSpec
    /// The Python environment object.
    public let object: PythonObject
    /// True when the object speaks the old gym API.
    public private(set) var usesOldAPI = false

    /// The Python value of action 0 (`Discrete.start`).
    public let actionStart: Int
    private let stepName: PythonObject

    /// Opens `name`: a registered id, or `module:attribute` naming a class or factory that is
    /// called with `kwargs`.
    ///
    /// A name `recorded` in a model directory from elsewhere is data, not code: then only a
    /// registered id is opened, and a `module:attribute` is refused without importing anything.
    public convenience init(_ name: String, kwargs: [String: EnvironmentArgument] = [:], wrappers: [EnvironmentWrapper] = [],
                            recorded: Bool = false) throws {
        let arguments = kwargs.mapValues { $0 as any PythonConvertible }
        if EnvironmentIsolation.current == .process {
            // The wrappers go into the worker with the environment (some reach into its internals).
            if recorded && Self.namesCode(name) { throw EnvironmentError.untrustedRecord(name) }
            let object: PythonObject
            do { object = try IsolatedEnvironment.open(name, kwargs: arguments, wrappers: wrappers) } catch let e as PythonError {
                throw EnvironmentError.python(name, operation: "opening it in a worker process (--env-isolation process)", e)
            }
            try self.init(object: object, name: name)
            return
        }
        var object = try Self.open(name, kwargs: arguments, recorded: recorded)
        for wrapper in wrappers { object = try Self.wrap(object, in: wrapper, environment: name) }
        try self.init(object: object, name: name)
    }

    /// Applies a recorded Gymnasium wrapper: its class from `entryPoint`, called with the
    /// environment and the recorded keyword arguments.
    static func wrap(_ env: PythonObject, in wrapper: EnvironmentWrapper, environment name: String) throws -> PythonObject {
        let parts = wrapper.entryPoint.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw EnvironmentError.wrapperNotRebuildable(name, wrapper: wrapper.name, reason: "its entry point '\(wrapper.entryPoint)' is not module:attribute")
        }
        do {
            let module = try Python.import(parts[0])
            guard try module.hasAttr(parts[1]) else {
                throw EnvironmentError.unknownWrapper(name, wrapper: parts[1], module: parts[0])
            }
            return try module.attr(parts[1]).call(arguments: [env], kwargs: wrapper.arguments.mapValues { $0 as any PythonConvertible })
        } catch let e as PythonError {
            throw EnvironmentError.python(name, operation: "\(wrapper.name)(...)", e)
        }
    }

    /// Wraps an existing Python environment object.
    public init(object: PythonObject, name: String? = nil) throws {
        let label = name ?? object.typeName
        do {
            self.object = object
            let (shape, scale, bytes, oneHot) = try Spaces.observationLayout(object.attr("observation_space"), name: label)
            var spec: EnvironmentSpec
            if let bounds = try Spaces.continuousActions(object.attr("action_space"), name: label) {
                spec = EnvironmentSpec(name: label, observationShape: shape, actionCount: bounds.count, observationScale: scale,
                                       observationsAreBytes: bytes, actionBounds: bounds)
                self.actionStart = 0
            } else {
                let actions = try Spaces.discreteActions(object.attr("action_space"), name: label)
                spec = EnvironmentSpec(name: label, observationShape: shape, actionCount: actions.count, observationScale: scale,
                                       observationsAreBytes: bytes)
                self.actionStart = actions.start
            }
            spec.oneHotStart = oneHot
            self.spec = spec
            self.stepName = try "step".pythonObject()
        } catch let error as PythonError {
            throw EnvironmentError.badFactory(label, detail: "it does not look like a Gymnasium environment (\(error)); it needs observation_space, action_space, reset and step")
        }
    }

    public func reset(seed: Int?) throws -> [Float] {
        try Python.withGIL {
            let result: PythonObject
            do {
                if usesOldAPI {
                    result = try oldReset(seed: seed)
                } else {
                    do {
                        result = try seed.map { try object.method("reset", kwargs: ["seed": $0]) }
                            ?? object.method("reset")
                    } catch let e as PythonError where Self.rejectsSeedKeyword(e) {
                        usesOldAPI = true
                        result = try oldReset(seed: seed)
                    }
                }
            } catch let e as PythonError {
                throw EnvironmentError.python(spec.name, operation: "reset()", e)
            }
            // Gymnasium returns (obs, info); old gym returns obs alone.
            let observation: PythonObject
            let items = try result.tupleItems()
            if items.count == 2, items[1].isDict {
                observation = items[0]
            } else {
                usesOldAPI = true
                observation = result
            }
            return try read(observation)
        }
    }

    /// True for an environment in a worker process (`EnvironmentIsolation.process`).
    public private(set) lazy var stepsConcurrently: Bool = (try? Python.withGIL { try object.hasAttr("step_begin") }) ?? false

    public func beginStep(_ action: Int) throws {
        try checkDiscrete(action)
        try Python.withGIL {
            do {
                _ = try object.method("step_begin", action + actionStart)
            } catch let e as PythonError {
                throw EnvironmentError.python(spec.name, operation: "step(\(action + actionStart))", e)
            }
        }
    }

    public func endStep() throws -> Step {
        try Python.withGIL {
            let result: PythonObject
            do {
                result = try object.method("step_end")
            } catch let e as PythonError {
                throw EnvironmentError.python(spec.name, operation: "step", e)
            }
            return try readStep(result)
        }
    }

    private func checkDiscrete(_ action: Int) throws {
        guard !spec.isContinuous else {
            throw EnvironmentError.unsupportedActionSpace(spec.name, detail: "it takes continuous actions (a Box of \(spec.actionCount)), not the discrete action \(action); a Q-network needs a Discrete action space (discretise it with a wrapper)")
        }
        guard action >= 0 && action < spec.actionCount else {
            throw EnvironmentError.invalidAction(action, actionCount: spec.actionCount)
        }
    }

    public func step(_ action: Int) throws -> Step {
        try checkDiscrete(action)
        return try Python.withGIL {
            let result: PythonObject
            do {
                result = try object.callMethod(stepName, action + actionStart)
            } catch let e as PythonError {
                throw EnvironmentError.python(spec.name, operation: "step(\(action + actionStart))", e)
            }
            return try readStep(result)
        }
    }

    /// Applies a continuous action, passed to Python as a float32 NumPy array.
    public func step(continuous action: [Float]) throws -> Step {
        guard spec.isContinuous else {
            throw EnvironmentError.unsupportedActionSpace(spec.name, detail: "it takes discrete actions, not the continuous action \(action)")
        }
        guard action.count == spec.actionCount, action.allSatisfy(\.isFinite) else {
            throw EnvironmentError.badResult(spec.name, detail: "a continuous action needs \(spec.actionCount) finite values, got \(action)")
        }
        return try Python.withGIL {
            let result: PythonObject
            do {
                let array = try PythonObject.ndarray(action, shape: [action.count])
                result = try object.callMethod(stepName, array)
            } catch let e as PythonError {
                throw EnvironmentError.python(spec.name, operation: "step(\(action))", e)
            }
            return try readStep(result)
        }
    }

    /// Reads step()'s Gymnasium 5-tuple or old gym 4-tuple.
    private func readStep(_ result: PythonObject) throws -> Step {
        try Python.withGIL {
            try result.withTupleView { items in
                switch items.count {
                case 5:
                    return Step(observation: try read(items, 0), reward: try number(items, 1, "reward"),
                                terminated: try flag(items, 2, "terminated"), truncated: try flag(items, 3, "truncated"))
                case 4:
                    usesOldAPI = true
                    let done = try flag(items, 2, "done")
                    var truncated = false
                    if items.isDict(3), let t = try? items.object(3).method("get", "TimeLimit.truncated", false) {
                        truncated = (try? Bool(python: t)) ?? false
                    }
                    return Step(observation: try read(items, 0), reward: try number(items, 1, "reward"),
                                terminated: done && !truncated, truncated: truncated)
                default:
                    throw EnvironmentError.badResult(spec.name, detail: "step() returned \(result.typeName) \(String(describing: result).prefix(80)); expected (obs, reward, terminated, truncated, info) or the old (obs, reward, done, info)")
                }
            }
        }
    }

    /// Calls `close()` on the Python object, if it has one.
    public func close() {
        _ = try? object.method("close")
    }

    // MARK: - Opening

    static func open(_ name: String, kwargs: [String: any PythonConvertible], recorded: Bool) throws -> PythonObject {
        // A model directory is data: a module it names is never imported (importing runs the
        // module's code), so a recorded `module:attribute` is refused before Python sees it.
        let namesCode = Self.namesCode(name)
        if recorded && namesCode { throw EnvironmentError.untrustedRecord(name) }
        if let colon = name.lastIndex(of: ":"), namesCode {
            let moduleName = String(name[..<colon]), attribute = String(name[name.index(after: colon)...])
            let module: PythonObject
            do {
                module = try Python.import(moduleName)
            } catch let e as PythonError {
                throw EnvironmentError.badFactory(name, detail: "module '\(moduleName)' could not be imported (\(e)); make sure it is on PYTHONPATH or installed in the venv")
            }
            if try module.hasAttr(attribute) {
                let factory = try module.attr(attribute)
                guard factory.isCallable else {
                    throw EnvironmentError.badFactory(name, detail: "'\(attribute)' in module '\(moduleName)' is a \(factory.typeName), not a class or function")
                }
                do {
                    return try factory.call(arguments: [], kwargs: kwargs)
                } catch let e as PythonError {
                    throw EnvironmentError.python(name, operation: "\(attribute)(...)", e)
                }
            }
            // Gymnasium's own "module:Id-v0" form: importing registered the id.
            if attribute.contains("-v") { return try make(attribute, original: name, kwargs: kwargs) }
            throw EnvironmentError.badFactory(name, detail: "module '\(moduleName)' has no attribute '\(attribute)'")
        }
        return try make(name, original: name, kwargs: kwargs)
    }

    /// True for `module:attribute` (code to import), false for a registered id.
    static func namesCode(_ name: String) -> Bool { name.contains(":") && !name.hasPrefix(":") }

    /// Packages whose ids Gymnasium finds only once they have registered them: the module to
    /// import for a namespace, and the function in it that registers (nil: importing does).
    static let namespaceProviders: [String: (module: String, register: String?)] = [
        "ALE": ("ale_py", nil),                      // Atari: ALE/Breakout-v5 (pip install ale-py)
        "MinAtar": ("minatar.gym", "register_envs"), // MinAtar/Breakout-v1 (pip install minatar)
    ]

    private static func make(_ id: String, original: String, kwargs: [String: any PythonConvertible]) throws -> PythonObject {
        let gym: PythonObject
        do {
            gym = try Python.import("gymnasium")
        } catch let e as PythonError where e.exception?.typeName == "KeyboardInterrupt" {
            throw e  // Ctrl-C while gymnasium was being imported: an interruption, not a missing package
        } catch {
            do { gym = try Python.import("gym") } catch let e as PythonError where e.exception?.typeName == "KeyboardInterrupt" {
                throw e
            } catch {
                throw EnvironmentError.badFactory(original, detail: "neither gymnasium nor gym can be imported in this Python; run `make setup` or `pip install gymnasium` in the venv")
            }
        }
        var registeredProvider = false
        while true {
            do {
                return try gym.method("make", id, kwargs: kwargs)
            } catch let e as PythonError {
                guard let ex = e.exception else { throw EnvironmentError.python(original, operation: "gymnasium.make", e) }
                if ex.typeName.contains("NotFound") || ex.typeName.contains("UnregisteredEnv") || ex.typeName.contains("Deprecated") {
                    // Not registered yet: let the package that provides the namespace register it, once.
                    if !registeredProvider, try registerProvider(of: id, in: gym) {
                        registeredProvider = true
                        continue
                    }
                    // Registered with the old `gym` instead (its make returns an old-API environment).
                    if let old = try oldGymMake(id, kwargs: kwargs) { return old }
                    throw EnvironmentError.unknownID(id, detail: ex.message)
                }
                if ex.typeName.contains("DependencyNotInstalled") {
                    throw EnvironmentError.badFactory(original, detail: "\(ex.message)")
                }
                throw EnvironmentError.python(original, operation: "gymnasium.make", e)
            }
        }
    }

    /// Imports the package behind `id`'s namespace (`ALE/…`, `MinAtar/…`) and lets it register
    /// its environments; false when there is no such package here.
    private static func registerProvider(of id: String, in gym: PythonObject) throws -> Bool {
        guard let slash = id.firstIndex(of: "/"), let provider = namespaceProviders[String(id[..<slash])] else { return false }
        guard let module = try? Python.import(provider.module) else { return false }
        if let register = provider.register {
            guard try module.hasAttr(register) else { return false }
            _ = try module.method(register)
        } else if try gym.hasAttr("register_envs") {
            _ = try gym.method("register_envs", module)
        }
        return true
    }

    /// `gym.make(id)` when the old `gym` package is importable and has `id` registered; nil otherwise.
    private static func oldGymMake(_ id: String, kwargs: [String: any PythonConvertible]) throws -> PythonObject? {
        guard let old = try? Python.import("gym"), let registry = try? old.attr("envs").attr("registry"),
              (try? Bool(python: registry.method("__contains__", id))) == true else { return nil }
        do {
            return try old.method("make", id, kwargs: kwargs)
        } catch let e as PythonError {
            throw EnvironmentError.python(id, operation: "gym.make (the old gym package, where \(id) is registered)", e)
        }
    }

    // MARK: - Reading results

    private func oldReset(seed: Int?) throws -> PythonObject {
        if let seed, try object.hasAttr("seed") { try object.method("seed", seed) }
        return try object.method("reset")
    }

    private static func rejectsSeedKeyword(_ e: PythonError) -> Bool {
        guard let ex = e.exception, ex.typeName == "TypeError" else { return false }
        return ex.message.contains("seed") && ex.message.contains("keyword")
    }

    private func read(_ observation: PythonObject) throws -> [Float] {
        if spec.oneHotStart != nil { return try oneHot(observation) }
        return try checked(observation.typeName) { try observation.floatArray() }
    }

    private func read(_ items: PythonTupleView, _ i: Int) throws -> [Float] {
        if spec.oneHotStart != nil { return try oneHot(items.object(i)) }
        return try checked(items.object(i).typeName) { try items.floats(i) }
    }

    /// A Discrete observation (an integer) one-hot: a 1 at its value − start among n zeros.
    private func oneHot(_ observation: PythonObject) throws -> [Float] {
        let start = spec.oneHotStart ?? 0, n = spec.observationSize
        guard let value = try? Int(python: observation), value >= start, value - start < n else {
            throw EnvironmentError.badResult(spec.name, detail: "the observation \(observation) (\(observation.typeName)) is not one of the \(n) values of its Discrete space (from \(start))")
        }
        var out = [Float](repeating: 0, count: n)
        out[value - start] = 1
        return out
    }

    private func checked(_ typeName: @autoclosure () -> String, _ read: () throws -> [Float]) throws -> [Float] {
        let values: [Float]
        do {
            values = try read()
        } catch let e as PythonError {
            throw EnvironmentError.badResult(spec.name, detail: "the observation (\(typeName())) is not numeric (\(e))")
        }
        guard values.count == spec.observationSize else {
            throw EnvironmentError.badResult(spec.name, detail: "an observation with \(values.count) values, but observation_space has shape \(spec.observationShape)")
        }
        guard spec.observationScale != 1 else { return values }
        let scale = spec.observationScale
        return values.map { $0 * scale }
    }

    private func number(_ items: PythonTupleView, _ i: Int, _ what: String) throws -> Double {
        guard let v = items.double(i) else {
            let o = items.object(i)
            throw EnvironmentError.badResult(spec.name, detail: "\(what) is \(o.typeName) \(o), not a number")
        }
        return v
    }

    private func flag(_ items: PythonTupleView, _ i: Int, _ what: String) throws -> Bool {
        guard let v = items.bool(i) else {
            let o = items.object(i)
            throw EnvironmentError.badResult(spec.name, detail: "\(what) is \(o.typeName) \(o), not a bool")
        }
        return v
    }
}
