import Environments
import PythonBridge

/// Reads Gymnasium (or old gym) spaces and refuses the ones a DQN cannot use.
enum Spaces {
    /// Class names along the space's MRO, so subclasses of Box/Discrete are recognised.
    static func kinds(of space: PythonObject) throws -> [String] {
        let mro = try space.attr("__class__").attr("__mro__").elements()
        return try mro.map { try String(python: $0.attr("__name__")) }
    }

    /// The observation shape of a numeric Box (vectors, or images and grids of rank 2 or 3 in
    /// their own layout, flattened row-major for the networks) and the scale applied to its
    /// values: 1/255 for a uint8 image space with bounds 0–255, as SB3's `is_image_space`, else 1.
    /// A Discrete space gives `oneHotStart` (its `start`): observations are then encoded one-hot
    /// over its `n` values, as SB3 encodes them.
    static func observationLayout(_ space: PythonObject, name: String) throws -> (shape: [Int], scale: Float, bytes: Bool, oneHotStart: Int?) {
        let kinds = try kinds(of: space)
        let what = kinds.first ?? "?"
        if kinds.contains("Discrete") && !kinds.contains("Box") {
            let n = try Int(python: space.attr("n"))
            let start = (try? Int(python: space.attr("start"))) ?? 0
            guard n >= 1 && n <= 1 << 20 else {
                throw EnvironmentError.unsupportedObservationSpace(name, detail: "\(space) has \(n) values; a one-hot observation takes 1 to 1,048,576")
            }
            return ([n], 1, true, start)
        }
        guard kinds.contains("Box") else {
            let hint: String
            switch what {
            case "Dict", "Tuple": hint = "wrap it in gymnasium.wrappers.FlattenObservation"
            default: hint = "wrap it so observations are a float Box"
            }
            throw EnvironmentError.unsupportedObservationSpace(
                name, detail: "\(space) is a \(what), but only Box observations are supported; \(hint)")
        }
        let shape = try [Int](python: space.attr("shape"))
        let kind = try String(python: space.attr("dtype").attr("kind"))
        guard shape.count <= 3 else {
            throw EnvironmentError.unsupportedObservationSpace(
                name, detail: "\(space) has rank \(shape.count); observations of rank 1 to 3 (vectors, grids, HWC or CHW images) are supported, so stack or flatten the rest with a wrapper")
        }
        guard "fiub".contains(kind) else {
            throw EnvironmentError.unsupportedObservationSpace(
                name, detail: "\(space) has dtype kind '\(kind)'; observations must be numeric")
        }
        guard shape.reduce(1, *) > 0 else {
            throw EnvironmentError.unsupportedObservationSpace(name, detail: "\(space) is empty")
        }
        var scale: Float = 1
        if kind == "u", shape.count == 3, try String(python: space.attr("dtype").attr("name")) == "uint8" {
            let low = try Double(python: space.attr("low").method("min"))
            let high = try Double(python: space.attr("high").method("max"))
            if low == 0 && high == 255 { scale = 1 / 255 }
        }
        let itemSize = try Int(python: space.attr("dtype").attr("itemsize"))
        return (shape, scale, kind == "b" || (kind == "u" && itemSize == 1), nil)
    }

    /// The bounds of a continuous action space: a one-dimensional float Box with finite bounds
    /// (a deterministic or Gaussian actor's outputs are clipped or squashed into them); nil for
    /// any other space, which `discreteActions` then reads or refuses.
    static func continuousActions(_ space: PythonObject, name: String) throws -> [ClosedRange<Float>]? {
        guard try kinds(of: space).contains("Box") else { return nil }
        let shape = try [Int](python: space.attr("shape"))
        guard shape.count == 1, shape[0] >= 1, shape[0] <= maxActions else {
            throw EnvironmentError.unsupportedActionSpace(name, detail: "\(space) has shape \(shape); continuous actions must be a vector (a Box of one dimension)")
        }
        guard try String(python: space.attr("dtype").attr("kind")) == "f" else {
            throw EnvironmentError.unsupportedActionSpace(name, detail: "\(space) is not a float Box; continuous actions are floats")
        }
        let low = try [Double](python: space.attr("low").method("tolist"))
        let high = try [Double](python: space.attr("high").method("tolist"))
        guard low.count == shape[0], high.count == shape[0],
              zip(low, high).allSatisfy({ $0.isFinite && $1.isFinite && $0 < $1 }) else {
            throw EnvironmentError.unsupportedActionSpace(name, detail: "\(space) has unbounded or empty bounds; continuous actions need finite low < high for each value (rescale them with a wrapper)")
        }
        return zip(low, high).map { Float($0)...Float($1) }
    }

    /// `(n, start)` of a Discrete action space.
    /// The most actions a Discrete space may have: a Q-network has one output per action.
    static let maxActions = 1 << 20

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
        guard n <= maxActions else {
            throw EnvironmentError.unsupportedActionSpace(name, detail: "\(space) has \(n) actions, and a Q-network has one output per action; at most \(maxActions) are supported, so discretise more coarsely")
        }
        return (n, start)
    }
}
