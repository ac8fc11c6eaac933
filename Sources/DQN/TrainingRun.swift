import Checkpoint
import Environments
import Foundation
import NN
import Runs
import Settings

/// A DQN checkpoint read back from a run's last/.
public typealias DQNCheckpoint = Checkpoint<DQNConfig, TrainingState>

/// DQN training written to a run directory, shared by the CLI and the Python binding: the
/// algorithm on the shared run loop (best model at the top level, last/ checkpoint, metrics).
public struct TrainingRun {
    public let directory: RunDirectory
    public var hooks = RunHooks()
    /// Asked for the learning rate before each training round (see `DQNAlgorithm.learningRateSchedule`).
    public var learningRateSchedule: ((Int) throws -> Float)?

    public init(directory: URL) { self.directory = RunDirectory(directory) }

    /// Starts a new run (refusing an existing one unless `force`). `makeEnv` opens the training
    /// environment and, when evaluation is on, a separate evaluation one.
    /// `replayFrom`, a directory of `ReplaySnapshot` files, fills the replay buffer to start with.
    public func start(config: DQNConfig, environment: EnvironmentRecipe, makeEnv: EnvironmentFactory, force: Bool,
                      replayFrom: URL? = nil) throws -> TrainingOutcome {
        try config.validate()
        let envs = try (0..<config.environmentCount).map { _ in try makeEnv() }
        let evalEnv = config.evalInterval > 0 ? try makeEnv() : nil
        let replay = try replayFrom.flatMap { try ReplaySnapshot.read(from: $0, expected: DQNAlgorithm.replayLayout(config, spec: envs[0].spec),
                                                                      actionCount: envs[0].spec.actionCount, prioritized: config.prioritizedReplay) }
        var algorithm = try DQNAlgorithm(config: config, envs: envs, replay: replay)
        algorithm.learningRateSchedule = learningRateSchedule
        try directory.prepareNew(force: force)
        let result = try RunLoop(directory: directory, environment: environment, hooks: hooks).run(&algorithm, evalEnv: evalEnv)
        return TrainingOutcome(algorithm, result)
    }

    /// Reads last/ (e.g. to learn the environment before opening it).
    public func loadCheckpoint() throws -> DQNCheckpoint {
        try directory.loadCheckpoint(DQNConfig.self, TrainingState.self)
    }

    /// Settings a resumed run may change; the others are the checkpoint's.
    public static let resumableSettings = ["total_steps", "learning_rate", "eval_interval", "eval_episodes", "eval_seed",
                                           "checkpoint_interval", "checkpoint_replay_buffer"]

    /// Continues from `checkpoint` (or last/) with `changes` to the resumable settings (e.g.
    /// more steps, a lower learning rate); any other setting is refused with a `SettingError`.
    /// The replay buffer is the checkpoint's when it kept one, or the one in `replayFrom` (a
    /// directory of `ReplaySnapshot` files, e.g. a buffer loaded from Python), else empty.
    /// `continuing` goes on with the episodes the environments `makeEnv` hands out are in.
    public func resume(from checkpoint: DQNCheckpoint? = nil, makeEnv: EnvironmentFactory,
                       changes: [(String, SettingValue)] = [], totalSteps: Int? = nil, replayFrom: URL? = nil,
                       continuing: DQNAlgorithm.EpisodesInProgress? = nil) throws -> TrainingOutcome {
        let saved = try checkpoint ?? loadCheckpoint()
        var config = try saved.config.resumed(changing: changes, resumable: Self.resumableSettings)
        if let totalSteps { config.totalSteps = totalSteps }
        try config.validate()
        guard config.totalSteps >= saved.state.step else {
            throw RunError.alreadyPast(directory.url.path, step: saved.state.step, requested: config.totalSteps)
        }
        let envs = try (0..<config.environmentCount).map { _ in try makeEnv() }
        let env = envs[0]
        guard saved.policy.inputSize == env.spec.observationSize, saved.policy.outputSize == env.spec.actionCount else {
            throw RunError.invalidSetting("the checkpoint in \(directory.url.path) expects \(saved.policy.inputSize) observation values and \(saved.policy.outputSize) actions but \(saved.environment) has \(env.spec.observationSize) and \(env.spec.actionCount).")
        }
        let evalEnv = config.evalInterval > 0 ? try makeEnv() : nil
        let replay = try ReplaySnapshot.read(from: replayFrom ?? directory.lastURL, expected: DQNAlgorithm.replayLayout(config, spec: env.spec),
                                             actionCount: env.spec.actionCount, prioritized: config.prioritizedReplay)
        var algorithm = try DQNAlgorithm(config: config, envs: envs, resume: (try DQNLearner(restoring: saved, config: config), saved.state),
                                         replay: replay, continuing: continuing)
        algorithm.learningRateSchedule = learningRateSchedule
        let result = try RunLoop(directory: directory, environment: saved.environment, hooks: hooks).run(&algorithm, evalEnv: evalEnv)
        return TrainingOutcome(algorithm, result)
    }
}

extension DQNLearner {
    /// The networks and Adam moments of a checkpoint.
    public init(restoring saved: DQNCheckpoint, config: DQNConfig) throws {
        let policy = saved.policy
        try self.init(restoring: saved.reader, observationShape: policy.inputShape.isEmpty ? [policy.inputSize] : policy.observationShape,
                      actionCount: policy.outputSize, adamSteps: saved.state.adamSteps, savedConfig: saved.config, config: config)
    }

    /// The networks (`online.layers.0.weight`, …, `target.…`) and Adam moments a checkpoint's `reader` holds, for
    /// a run on observations of `observationShape` with settings `savedConfig`; `config` may
    /// differ in the resumable settings (the learning rate).
    public init(restoring reader: CheckpointReader, observationShape: [Int], actionCount: Int, adamSteps: Int,
                savedConfig: DQNConfig, config: DQNConfig) throws {
        let fresh = DQNLearner(observationShape: observationShape, actionCount: actionCount, config: savedConfig)
        let templates = fresh.online.parameters, names = fresh.online.parameterNames
        var online = fresh.online, target = fresh.target
        online.parameters = try reader.parameters("online", names: names, like: templates)
        target.parameters = try reader.parameters("target", names: names, like: templates)
        let adam = try reader.adam("adam", names: names, like: templates, stepCount: adamSteps, learningRate: config.learningRate)
        self.init(online: online, target: target, optimizer: adam, actionCount: actionCount, config: config)
    }
}

extension DQNConfig {
    /// The configuration as JSON values with snake_case keys, for manifests.
    public var jsonObject: [String: JSONValue] { JSONValue.object(encoding: self) }

    /// `self` with the settings of a JSON config file applied on top (keys in any spelling:
    /// learning_rate, learningRate, learning-rate); a file may hold per-environment sections.
    public func applying(json data: Data, environment: String, source: String) throws -> DQNConfig {
        do {
            return try applying(try ConfigFile.settings(from: data, section: environment), source: source)
        } catch let e as ConfigFile.Problem {
            throw RunError.badConfigFile(source, detail: e.description)
        }
    }

    /// `self` with a config file's settings (already read, e.g. from rl-zoo YAML) applied.
    public func applying(_ values: [String: SettingValue], source: String) throws -> DQNConfig {
        var config = self
        do {
            try Self.settings.applyFile(values, to: &config)
        } catch let e as ConfigFile.Problem {
            throw RunError.badConfigFile(source, detail: e.description)
        } catch let e as SettingError {
            throw RunError.badConfigFile(source, detail: String(e.description.dropLast()))
        }
        return config
    }
}
