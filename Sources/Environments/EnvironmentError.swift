/// Why an environment could not be opened or stepped. Each text says what to do.
public enum EnvironmentError: Error, CustomStringConvertible {
    case unknownID(String, detail: String)
    case badFactory(String, detail: String)
    case unsupportedObservationSpace(String, detail: String)
    case unsupportedActionSpace(String, detail: String)
    case invalidAction(Int, actionCount: Int)
    case badResult(String, detail: String)
    /// A model directory records an environment as `module:attribute`, which is code and is not imported from data.
    case untrustedRecord(String)
    /// A recorded environment that only existed in the process that trained the model.
    case notRebuildable(String)
    /// A parameter to change in place on an environment that is not a Gymnasium object here.
    case parameterNotSettable(String, parameter: String)
    /// A parameter that is neither an attribute of the environment nor a keyword its constructor takes.
    case unknownParameter(String, parameter: String, detail: String)
    /// A recorded wrapper that cannot be applied from the record: the environment, the wrapper, why.
    case wrapperNotRebuildable(String, wrapper: String, reason: String)
    /// A wrapper named (`--wrapper`) that the module it names does not have.
    case unknownWrapper(String, wrapper: String, module: String)
    /// The environment's own code failed (e.g. a Python exception); `report` is the failure as
    /// the adapter words it (type, message and traceback), `underlying` the original error.
    case raised(String, operation: String, report: String, underlying: any Error)

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
        case .untrustedRecord(let name):
            return "The model records its environment as '\(name)', which names Python code, and a model directory is data that never runs code; if you trust that module, name it yourself (--trust-env \(name), or env='\(name)' in Python)."
        case .parameterNotSettable(let name, let parameter):
            return "\(name) cannot change \(parameter): it is not a Gymnasium environment in this process (a built-in one, or one run with --env-isolation process), so \(parameter) could only be a gymnasium.make keyword, and \(name) does not take it as one; vary a Gymnasium environment's parameter, without --env-isolation process."
        case .unknownParameter(let name, let parameter, let detail):
            return "\(name) has no attribute '\(parameter)' and does not take it as a gymnasium.make keyword (\(detail)); name an attribute of its unwrapped environment (e.g. CartPole's length) or a keyword of its constructor (e.g. LunarLander's gravity)."
        case .notRebuildable(let name):
            return "The model was trained on '\(name)', defined in a notebook or script (or a lambda), which cannot be rebuilt from its record; pass the environment yourself (--env module:Class, or env= in Python)."
        case .wrapperNotRebuildable(let name, let wrapper, let reason):
            return "The model was trained on '\(name)' wrapped in \(wrapper), which cannot be rebuilt from its record (\(reason)); pass the environment yourself (env= in Python, or --env with an id or class that applies it)."
        case .unknownWrapper(let name, let wrapper, let module):
            return "\(module) has no wrapper named '\(wrapper)' to put around '\(name)'; name one of Gymnasium's wrappers, e.g. FrameStackObservation, AtariPreprocessing or FlattenObservation (all of them: python -c 'import gymnasium.wrappers as w; print(w.__all__)')."
        case .raised(let name, let operation, let report, _):
            return "Environment '\(name)' raised in \(operation): \(report)"
        }
    }
}
