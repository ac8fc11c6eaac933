import Checkpoint
import Environments

/// How a recipe is written into, and read back from, a model's manifest.
extension EnvironmentRecipe {
    /// The environment a manifest records, or nil when it records none.
    public init?(recordedIn manifest: ModelManifest) {
        guard let name = manifest.environment else { return nil }
        self.init(name: name, argumentTexts: manifest.environmentArguments,
                  wrappers: (manifest.environmentWrappers ?? []).map(EnvironmentWrapper.init(recorded:)))
    }

    /// The wrappers as a manifest records them.
    public var manifestWrappers: [ModelManifest.Wrapper] {
        wrappers.map { ModelManifest.Wrapper(name: $0.name, entryPoint: $0.entryPoint,
                                             arguments: $0.arguments.isEmpty ? nil : $0.arguments.mapValues(\.description),
                                             recordable: $0.recordable ? nil : false) }
    }
}

extension EnvironmentWrapper {
    init(recorded w: ModelManifest.Wrapper) {
        self.init(name: w.name, entryPoint: w.entryPoint,
                  arguments: (w.arguments ?? [:]).mapValues { EnvironmentArgument(parsing: $0) }, recordable: w.recordable ?? true)
    }
}

/// An environment's observation layout as manifests record it (in `config`): the shape of grid
/// and image observations and the scale their values get, when either is not the trivial one.
public enum ObservationLayout {
    public static func manifestEntries(_ spec: EnvironmentSpec) -> [String: JSONValue] {
        var entries: [String: JSONValue] = [:]
        if spec.observationShape.count > 1 { entries["observation_shape"] = .array(spec.observationShape.map { .number(Double($0)) }) }
        if spec.observationScale != 1 { entries["observation_scale"] = .number(Double(spec.observationScale)) }
        // A Discrete observation space: the networks read it one-hot (the NumPy loader encodes integers the same way).
        if let start = spec.oneHotStart { entries["observation_one_hot_start"] = .number(Double(start)) }
        return entries
    }
}
