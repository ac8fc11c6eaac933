import Checkpoint
import NN
import Settings
import Tensor

/// How a checkpoint names an algorithm's tensors: a network's parameters as `NAME.0`, `NAME.1`,
/// …, an Adam's moments as `NAME.m.i` and `NAME.v.i`. One naming for every algorithm, and one
/// reader that checks each shape, so a damaged or foreign last/ is refused with a sentence
/// rather than a trap.
public enum CheckpointTensors {
    /// `parameters` named `NAME.i`.
    public static func parameters(_ parameters: [Tensor], as name: String) -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (i, t) in parameters.enumerated() { tensors["\(name).\(i)"] = t }
        return tensors
    }

    /// An Adam's moments for `parameters` (their shapes), named `NAME.m.i` and `NAME.v.i`; none
    /// before its first step.
    public static func adam(_ state: Adam.State, for parameters: [Tensor], as name: String) -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (i, t) in parameters.enumerated() where i < state.firstMoments.count {
            tensors["\(name).m.\(i)"] = Tensor(shape: t.shape, scalars: state.firstMoments[i])
            tensors["\(name).v.\(i)"] = Tensor(shape: t.shape, scalars: state.secondMoments[i])
        }
        return tensors
    }
}

/// Reads tensors back from a checkpoint, names as `CheckpointTensors` writes them, checking
/// each shape against the tensors the run's settings build; `prefixed` hands one part (a loss's
/// state) its own names.
public struct CheckpointReader {
    let prefix: String
    let load: (String) throws -> Tensor
    let contains: (String) -> Bool
    /// The run directory, for messages.
    public let runPath: String

    /// The same checkpoint, with `prefix.` before every name.
    public func prefixed(_ prefix: String) -> CheckpointReader {
        CheckpointReader(prefix: self.prefix + prefix + ".", load: load, contains: contains, runPath: runPath)
    }

    /// The saved tensors `NAME.0`, `NAME.1`, … shaped as `templates` (e.g. a freshly built network's parameters).
    public func parameters(_ name: String, like templates: [Tensor]) throws -> [Tensor] {
        try tensors(templates.indices.map { "\(name).\($0)" }, like: templates)
    }

    /// The saved tensors `names`, shaped as `templates`.
    public func tensors(_ names: [String], like templates: [Tensor]) throws -> [Tensor] {
        precondition(names.count == templates.count, "one name per template")
        return try templates.indices.map { i in
            let key = "\(prefix)\(names[i])"
            let t: Tensor
            do { t = try load(key) } catch let e as CheckpointError {
                throw RunError.damagedCheckpoint(runPath, detail: e.description)
            }
            guard t.shape == templates[i].shape else {
                throw RunError.damagedCheckpoint(runPath, detail: "\(key) has shape \(t.shape) where the run's settings need \(templates[i].shape)")
            }
            return t
        }
    }

    /// The Adam saved as `NAME.m.i` / `NAME.v.i` for parameters shaped as `templates`, after
    /// `stepCount` steps; a fresh one when no step had been taken.
    public func adam(_ name: String, like templates: [Tensor], stepCount: Int, learningRate: Float) throws -> Adam {
        var adam = Adam(learningRate: learningRate)
        guard stepCount > 0 || contains("\(prefix)\(name).m.0") else { return adam }
        let m = try parameters("\(name).m", like: templates).map(\.scalars)
        let v = try parameters("\(name).v", like: templates).map(\.scalars)
        adam.state = Adam.State(stepCount: stepCount, firstMoments: m, secondMoments: v)
        return adam
    }
}

extension Checkpoint {
    /// Reads the algorithm's tensors.
    public var reader: CheckpointReader {
        CheckpointReader(prefix: "", load: tensor, contains: has, runPath: directory.deletingLastPathComponent().path)
    }
}

extension Configurable {
    /// These settings with `changes` for a resumed run; only the `resumable` ones may change (a
    /// `SettingError` names the others; restating a setting's saved value is no change).
    public func resumed(changing changes: [(String, SettingValue)], resumable: [String]) throws -> Self {
        var config = self
        for (name, value) in changes {
            let key = Self.settings.entry(name)?.key ?? name
            var changed = config
            try Self.settings.set(key, value, in: &changed)
            guard resumable.contains(key) || changed == config else {
                throw SettingError(key: key, template: "{\(key)} cannot change when a run is resumed (only " + resumable.map { "{\($0)}" }.joined(separator: ", ") + " can); start a new run to change it.")
            }
            config = changed
        }
        return config
    }
}
