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
