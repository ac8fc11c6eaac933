import Checkpoint
import NN
import Settings
import Tensor

/// How a checkpoint names an algorithm's tensors: one named state dict. A network's parameters
/// are `NAME.PARAMETER` (`online.layers.0.weight`, `student.convs.1.bias`), an Adam's moments
/// `NAME.m.PARAMETER` and `NAME.v.PARAMETER` (`adam.m.layers.0.weight`), so a checkpoint reads
/// as the model directory does and a tensor is found by what it is, not by its position.
/// Checkpoints written before the names (`online.0`, `adam.m.0`) are still read. One reader
/// checks each shape, so a damaged or foreign last/ is refused with a sentence rather than a trap.
public enum CheckpointTensors {
    /// `parameters` named `NAME.names[i]` (`NAME.i` without names).
    public static func parameters(_ parameters: [Tensor], names: [String]? = nil, as name: String) -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (i, t) in parameters.enumerated() { tensors["\(name).\(names?[i] ?? String(i))"] = t }
        return tensors
    }

    /// An Adam's moments for `parameters` (their shapes), named `NAME.m.names[i]` and
    /// `NAME.v.names[i]`; none before its first step.
    public static func adam(_ state: Adam.State, for parameters: [Tensor], names: [String]? = nil, as name: String) -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (i, t) in parameters.enumerated() where i < state.firstMoments.count {
            let key = names?[i] ?? String(i)
            tensors["\(name).m.\(key)"] = Tensor(shape: t.shape, scalars: state.firstMoments[i])
            tensors["\(name).v.\(key)"] = Tensor(shape: t.shape, scalars: state.secondMoments[i])
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

    /// The saved tensors `NAME.names[i]` shaped as `templates` (e.g. a freshly built network's
    /// parameters); a checkpoint from before the names holds them as `NAME.0`, `NAME.1`, ….
    public func parameters(_ name: String, names: [String]? = nil, like templates: [Tensor]) throws -> [Tensor] {
        try tensors(keys(name, names: names, count: templates.count), like: templates)
    }

    /// The keys `NAME.names[i]`, or the positional `NAME.i` when the checkpoint has not the first named one.
    private func keys(_ name: String, names: [String]?, count: Int) -> [String] {
        if let names, let first = names.first, contains("\(prefix)\(name).\(first)") || !contains("\(prefix)\(name).0") {
            precondition(names.count == count, "one name per template")
            return names.map { "\(name).\($0)" }
        }
        return (0..<count).map { "\(name).\($0)" }
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

    /// The Adam saved as `NAME.m.…` / `NAME.v.…` for parameters shaped as `templates` (named
    /// `names`), after `stepCount` steps; a fresh one when no step had been taken.
    public func adam(_ name: String, names: [String]? = nil, like templates: [Tensor], stepCount: Int, learningRate: Float) throws -> Adam {
        var adam = Adam(learningRate: learningRate)
        let saved = contains("\(prefix)\(name).m.0") || names?.first.map { contains("\(prefix)\(name).m.\($0)") } == true
        guard stepCount > 0 || saved else { return adam }
        let m = try parameters("\(name).m", names: names, like: templates).map(\.scalars)
        let v = try parameters("\(name).v", names: names, like: templates).map(\.scalars)
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
