import Environments
import PythonBridge

/// Reads Gymnasium (or old gym) spaces and refuses the ones a DQN cannot use.
enum Spaces {
    /// Class names along the space's MRO, so subclasses of Box/Discrete are recognised.
    static func kinds(of space: PythonObject) throws -> [String] {
        let mro = try space.attr("__class__").attr("__mro__").elements()
        return try mro.map { try String(python: $0.attr("__name__")) }
    }

    /// The observation shape of a float (or low-rank integer) Box.
    static func observationShape(_ space: PythonObject, name: String) throws -> [Int] {
        let kinds = try kinds(of: space)
        let what = kinds.first ?? "?"
        guard kinds.contains("Box") else {
            let hint: String
            switch what {
            case "Discrete": hint = "wrap the environment so it returns a one-hot float Box observation"
            case "Dict", "Tuple": hint = "wrap it in gymnasium.wrappers.FlattenObservation"
            default: hint = "wrap it so observations are a float Box"
            }
            throw EnvironmentError.unsupportedObservationSpace(
                name, detail: "\(space) is a \(what), but only Box observations are supported; \(hint)")
        }
        let shape = try [Int](python: space.attr("shape"))
        let kind = try String(python: space.attr("dtype").attr("kind"))
        if shape.count >= 3 || (kind == "u" && shape.count >= 2) {
            throw EnvironmentError.unsupportedObservationSpace(
                name, detail: "\(space) looks like an image; the networks here are MLPs over flat vectors, so give it a feature vector (e.g. RAM observations or a wrapper that extracts features)")
        }
        guard "fiub".contains(kind) else {
            throw EnvironmentError.unsupportedObservationSpace(
                name, detail: "\(space) has dtype kind '\(kind)'; observations must be numeric")
        }
        guard shape.reduce(1, *) > 0 else {
            throw EnvironmentError.unsupportedObservationSpace(name, detail: "\(space) is empty")
        }
        return shape
    }

    /// `(n, start)` of a Discrete action space.
    static func discreteActions(_ space: PythonObject, name: String) throws -> (count: Int, start: Int) {
        let kinds = try kinds(of: space)
        guard kinds.contains("Discrete") else {
            let what = kinds.first ?? "?"
            let hint = what == "Box"
                ? "continuous actions need an actor-critic method; DQN needs a Discrete action space (discretise it with a wrapper)"
                : "DQN needs a single Discrete action space"
            throw EnvironmentError.unsupportedActionSpace(name, detail: "\(space) is a \(what); \(hint)")
        }
        let n = try Int(python: space.attr("n"))
        let start = try space.hasAttr("start") ? Int(python: space.attr("start")) : 0
        guard n >= 1 else {
            throw EnvironmentError.unsupportedActionSpace(name, detail: "\(space) has no actions")
        }
        return (n, start)
    }
}
