import Environments
import PythonBridge

/// Opens an environment by name: `Corridor-N` is the built-in toy (N cells, 4N steps); anything
/// else is a Gymnasium id or `module:attribute` (see `GymEnvironment`). A name `recorded` in a
/// model directory may only name a registered id or a Gymnasium environment class.
public func makeEnvironment(_ name: String, kwargs: [String: EnvironmentArgument] = [:], recorded: Bool = false) throws -> any Environment {
    if kwargs.isEmpty, let corridor = Corridor.named(name) { return corridor }
    return try GymEnvironment(name, kwargs: kwargs, recorded: recorded)
}

/// Opens the environment a recipe describes. A `recorded` recipe (read from a model directory)
/// must name something importable and safe: see `makeEnvironment(_:kwargs:recorded:)`.
public func makeEnvironment(_ recipe: EnvironmentRecipe, recorded: Bool) throws -> any Environment {
    if recorded, let w = recipe.unrebuildableWrapper {
        throw EnvironmentError.wrapperNotRebuildable(recipe.name, wrapper: w.name,
                                                     reason: w.recordable ? "only Gymnasium's own wrappers are opened from a model directory, not \(w.entryPoint)" : "an argument is not plain data, e.g. a function")
    }
    if recorded && !recipe.isRebuildable { throw EnvironmentError.notRebuildable(recipe.name) }
    guard !recipe.wrappers.isEmpty else { return try makeEnvironment(recipe.name, kwargs: recipe.arguments, recorded: recorded) }
    return try GymEnvironment(recipe.name, kwargs: recipe.arguments, wrappers: recipe.wrappers, recorded: recorded)
}

/// A factory that opens a recipe afresh on each call.
public func environmentFactory(_ recipe: EnvironmentRecipe, recorded: Bool = false) -> EnvironmentFactory {
    { try makeEnvironment(recipe, recorded: recorded) }
}

/// A factory that opens `name` afresh on each call.
public func environmentFactory(_ name: String, kwargs: [String: EnvironmentArgument] = [:], recorded: Bool = false) -> EnvironmentFactory {
    { try makeEnvironment(name, kwargs: kwargs, recorded: recorded) }
}

extension EnvironmentArgument: PythonConvertible {
    public func pythonObject() throws -> PythonObject {
        switch self {
        case .int(let v): return try v.pythonObject()
        case .double(let v): return try v.pythonObject()
        case .bool(let v): return try v.pythonObject()
        case .string(let v): return try v.pythonObject()
        }
    }
}

extension EnvironmentError {
    /// A Python exception raised by the environment's code, with its type, message and traceback.
    public static func python(_ name: String, operation: String, _ error: PythonError) -> EnvironmentError {
        var report = "\(error)"
        if let tb = error.exception?.traceback, !tb.isEmpty { report += "\n" + tb }
        return .raised(name, operation: operation, report: report, underlying: error)
    }

    /// The Python exception behind this error, if any.
    public var pythonException: PythonException? {
        if case .raised(_, _, _, let underlying) = self { return (underlying as? PythonError)?.exception }
        return nil
    }
}
