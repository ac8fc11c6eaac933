import Checkpoint
import Environments
import Foundation
import NN
import Settings
import Tensor

/// Why a run directory cannot be used.
public enum RunError: Error, CustomStringConvertible {
    case alreadyExists(String)
    case nothingToResume(String)
    case badConfigFile(String, detail: String)
    /// A setting out of range: the sentence says which and what is allowed.
    case invalidSetting(String)

    public var description: String {
        switch self {
        case .alreadyExists(let p):
            return "\(p) already holds a run; choose another --out, add --force to overwrite it, or --resume to continue it."
        case .nothingToResume(let p):
            return "\(p) has no checkpoint to resume (expected \(p)/last/state.json); start a new run without --resume."
        case .badConfigFile(let p, let detail):
            return "The config file \(p) cannot be used: \(detail)."
        case .invalidSetting(let sentence):
            return sentence
        }
    }
}

/// A training run on disk. The directory is itself a model directory (its top-level `.npy`
/// files and `model.json` are the best policy so far); `last/` holds the latest full checkpoint
/// (policy, raw online and target networks, Adam moments, trainer state); `metrics.csv` the
/// per-episode and per-evaluation rows.
public struct RunDirectory {
    public let url: URL
    public var lastURL: URL { url.appendingPathComponent("last") }
    public var metricsURL: URL { url.appendingPathComponent("metrics.csv") }
    public static let metricColumns = ["step", "kind", "episode", "return", "length", "epsilon", "loss",
                                       "eval_mean", "eval_std", "eval_min", "eval_max", "wall_time"]

    public init(_ url: URL) { self.url = url }

    /// Makes the directory for a new run; refuses an existing run unless `force`.
    public func prepareNew(force: Bool) throws {
        let fm = FileManager.default
        let holdsRun = fm.fileExists(atPath: url.appendingPathComponent(ModelDirectory.manifestName).path)
            || fm.fileExists(atPath: lastURL.path) || fm.fileExists(atPath: metricsURL.path)
        if holdsRun {
            guard force else { throw RunError.alreadyExists(url.path) }
            for name in [ModelDirectory.manifestName, "last", "metrics.csv"] {
                try? fm.removeItem(at: url.appendingPathComponent(name))
            }
            for f in (try? fm.contentsOfDirectory(atPath: url.path)) ?? [] where f.hasSuffix(".npy") {
                try? fm.removeItem(at: url.appendingPathComponent(f))
            }
        }
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Saves the best policy at the top level.
    public func saveBest(_ network: MLP, environment: String, config: DQNConfig, evaluation: EvaluationResult, step: Int) throws {
        try ModelDirectory.save(network, to: url, environment: environment, config: config.jsonObject,
                                metrics: Self.metrics(evaluation, step: step))
    }

    /// Saves the full trainer checkpoint into `last/`.
    public func saveCheckpoint(_ learner: DQNLearner, state: TrainingState, environment: String) throws {
        var extras: [String: Tensor] = [:]
        for (i, t) in learner.online.parameters.enumerated() { extras["online.\(i)"] = t }
        for (i, t) in learner.target.parameters.enumerated() { extras["target.\(i)"] = t }
        let adam = learner.optimizer.state
        for (i, t) in learner.online.parameters.enumerated() where i < adam.firstMoments.count {
            extras["adam.m.\(i)"] = Tensor(shape: t.shape, scalars: adam.firstMoments[i])
            extras["adam.v.\(i)"] = Tensor(shape: t.shape, scalars: adam.secondMoments[i])
        }
        var metrics: [String: JSONValue] = ["step": .number(Double(state.step)), "episodes": .number(Double(state.episodes))]
        if let best = state.bestMeanReturn { metrics["best_mean_return"] = .number(best) }
        try ModelDirectory.save(learner.policyNetwork, to: lastURL, environment: environment,
                                config: learner.config.jsonObject, metrics: metrics, extraTensors: extras)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(SavedState(state: state, config: learner.config, environment: environment))
        try data.write(to: lastURL.appendingPathComponent("state.json"), options: .atomic)
    }

    /// Loads `last/` for `--resume`: the learner (networks and Adam moments) and trainer state.
    /// The replay buffer is not saved; it refills from new experience.
    public func loadCheckpoint() throws -> (learner: DQNLearner, state: TrainingState, environment: String) {
        let stateURL = lastURL.appendingPathComponent("state.json")
        guard let data = FileManager.default.contents(atPath: stateURL.path) else { throw RunError.nothingToResume(url.path) }
        let saved: SavedState
        do { saved = try JSONDecoder().decode(SavedState.self, from: data) } catch {
            throw CheckpointError.badManifest(stateURL.path, detail: "unreadable trainer state")
        }
        let (policy, _) = try ModelDirectory.load(from: lastURL)
        let actionCount = policy.outputSize
        var learner = DQNLearner(observationSize: policy.inputSize, actionCount: actionCount, config: saved.config)
        var online = learner.online, target = learner.target
        let count = online.parameters.count
        online.parameters = try (0..<count).map { try ModelDirectory.loadTensor("online.\($0)", from: lastURL) }
        target.parameters = try (0..<count).map { try ModelDirectory.loadTensor("target.\($0)", from: lastURL) }
        var adam = Adam(learningRate: saved.config.learningRate)
        if saved.state.adamSteps > 0 || (try? ModelDirectory.loadTensor("adam.m.0", from: lastURL)) != nil {
            let m = try (0..<count).map { try ModelDirectory.loadTensor("adam.m.\($0)", from: lastURL).scalars }
            let v = try (0..<count).map { try ModelDirectory.loadTensor("adam.v.\($0)", from: lastURL).scalars }
            adam.state = Adam.State(stepCount: saved.state.adamSteps, firstMoments: m, secondMoments: v)
        }
        learner = DQNLearner(online: online, target: target, optimizer: adam, actionCount: actionCount, config: saved.config)
        return (learner, saved.state, saved.environment)
    }

    static func metrics(_ e: EvaluationResult, step: Int) -> [String: JSONValue] {
        ["mean_return": .number(e.mean), "std_return": .number(e.std), "min_return": .number(e.min),
         "max_return": .number(e.max), "eval_episodes": .number(Double(e.episodes)), "step": .number(Double(step))]
    }

    struct SavedState: Codable {
        var state: TrainingState
        var config: DQNConfig
        var environment: String
    }
}

extension DQNConfig {
    /// The configuration as JSON values with snake_case keys, for manifests.
    public var jsonObject: [String: JSONValue] { JSONValue.object(encoding: self) }

    /// `self` with the settings of a JSON config file applied on top (keys in any spelling:
    /// learning_rate, learningRate, learning-rate); a file may hold per-environment sections.
    public func applying(json data: Data, environment: String, source: String) throws -> DQNConfig {
        var config = self
        do {
            try Self.settings.apply(try ConfigFile.settings(from: data, section: environment), to: &config)
        } catch let e as ConfigFile.Problem {
            throw RunError.badConfigFile(source, detail: e.description)
        } catch let e as SettingError {
            throw RunError.badConfigFile(source, detail: String(e.description.dropLast()))
        }
        return config
    }
}
