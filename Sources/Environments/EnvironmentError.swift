import PythonBridge

/// Why an environment could not be opened or stepped. Each text says what to do.
public enum EnvironmentError: Error, CustomStringConvertible {
    case unknownID(String, detail: String)
    case badFactory(String, detail: String)
    case unsupportedObservationSpace(String, detail: String)
    case unsupportedActionSpace(String, detail: String)
    case invalidAction(Int, actionCount: Int)
    case badResult(String, detail: String)
    /// The Python environment raised; the exception keeps its type, message and traceback.
    case python(String, operation: String, PythonError)

    public var description: String {
        switch self {
        case .unknownID(let id, let detail):
            return "Unknown environment id '\(id)' (\(detail)); check the spelling and version, e.g. CartPole-v1, or name your own class as module:attribute."
        case .badFactory(let name, let detail):
            return "Cannot open environment '\(name)': \(detail)."
        case .unsupportedObservationSpace(let name, let detail):
            return "Environment '\(name)' has an unsupported observation space: \(detail)."
        case .unsupportedActionSpace(let name, let detail):
            return "Environment '\(name)' has an unsupported action space: \(detail)."
        case .invalidAction(let a, let n):
            return "Action \(a) is out of range: this environment has actions 0..<\(n)."
        case .badResult(let name, let detail):
            return "Environment '\(name)' returned something unexpected: \(detail)."
        case .python(let name, let operation, let error):
            var text = "Environment '\(name)' raised in \(operation): \(error)"
            if let tb = error.exception?.traceback, !tb.isEmpty { text += "\n" + tb }
            return text
        }
    }

    /// The Python exception behind this error, if any.
    public var pythonException: PythonException? {
        if case .python(_, _, let e) = self { return e.exception }
        return nil
    }
}
