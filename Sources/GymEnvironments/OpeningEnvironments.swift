import Environments
import PythonBridge

/// Opens an environment by name: `Corridor-N` is the built-in toy (N cells, 4N steps); anything
/// else is a Gymnasium id or `module:attribute` (see `GymEnvironment`).
public func makeEnvironment(_ name: String, kwargs: [String: EnvironmentArgument] = [:]) throws -> any Environment {
    if kwargs.isEmpty, let corridor = Corridor.named(name) { return corridor }
    return try GymEnvironment(name, kwargs: kwargs)
}

/// A factory that opens `name` afresh on each call.
public func environmentFactory(_ name: String, kwargs: [String: EnvironmentArgument] = [:]) -> EnvironmentFactory {
    { try makeEnvironment(name, kwargs: kwargs) }
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
