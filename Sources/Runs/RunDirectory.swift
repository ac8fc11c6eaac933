import Checkpoint
import Foundation
import NN
import Settings
import Tensor

/// Why a run directory cannot be used.
public enum RunError: Error, CustomStringConvertible {
    case alreadyExists(String)
    case nothingToResume(String)
    case badConfigFile(String, detail: String)
    /// Another process is writing a run into the same directory.
    case busy(String)
    /// A setting or input out of range: the sentence says which and what is allowed.
    case invalidSetting(String)

    public var description: String {
        switch self {
        case .alreadyExists(let p):
            return "\(p) already holds a run; choose another --out, add --force to overwrite it, or --resume to continue it."
        case .nothingToResume(let p):
            return "\(p) has no checkpoint to resume (expected \(p)/last/state.json); start a new run without --resume."
        case .badConfigFile(let p, let detail):
            return "The config file \(p) cannot be used: \(detail)."
        case .busy(let p):
            return "Another run is writing into \(p); wait for it to finish or choose another --out."
        case .invalidSetting(let sentence):
            return sentence
        }
    }
}

/// A run on disk. The directory is itself a model directory (its top-level `.npy` files and
/// `model.json` are the best policy so far); `last/` holds the latest checkpoint (the policy,
/// the algorithm's tensors and `state.json`); `metrics.csv` one row per episode, evaluation or
/// progress report.
public struct RunDirectory: Sendable {
    public let url: URL
    public var lastURL: URL { url.appendingPathComponent("last") }
    public var metricsURL: URL { url.appendingPathComponent("metrics.csv") }
    var stateURL: URL { lastURL.appendingPathComponent("state.json") }

    public init(_ url: URL) { self.url = url }

    /// True when the top level holds a saved model.
    public var holdsModel: Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent(ModelDirectory.manifestName).path)
    }

    /// Makes the directory for a new run. An existing run is refused unless `force`, which
    /// removes only what a run writes (model.json and its tensors, last/, metrics.csv) and keeps
    /// every other file.
    public func prepareNew(force: Bool) throws {
        let fm = FileManager.default
        let holdsRun = holdsModel || fm.fileExists(atPath: lastURL.path) || fm.fileExists(atPath: metricsURL.path)
        if holdsRun {
            guard force else { throw RunError.alreadyExists(url.path) }
            let lock = try self.lock()
            defer { lock.release() }
            var written = [ModelDirectory.manifestName, "last", "metrics.csv"]
            if let manifest = try? ModelDirectory.readManifest(url) { written += manifest.tensors.map(\.file) }
            for f in (try? fm.contentsOfDirectory(atPath: url.path)) ?? [] where f.hasPrefix("layers.") && f.hasSuffix(".npy") {
                written.append(f)
            }
            for name in Set(written) where !name.contains("/") && name != ".." {
                try? fm.removeItem(at: url.appendingPathComponent(name))
            }
        }
        do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw CheckpointError.writeFailed(url.path, detail: error.localizedDescription)
        }
    }

    /// Holds the directory against other runs until released.
    public func lock() throws -> RunLock {
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        guard let lock = RunLock(url.appendingPathComponent(".lock").path) else { throw RunError.busy(url.path) }
        return lock
    }

    /// Saves `network` as the run's model (the top level).
    public func saveModel(_ network: MLP, environment: String, config: [String: JSONValue], metrics: [String: JSONValue]) throws {
        try ModelDirectory.save(network, to: url, environment: environment, config: config, metrics: metrics)
    }

    /// Saves a checkpoint into last/: the policy, the algorithm's tensors and state.json.
    public func saveCheckpoint<Config: Codable, State: RunState>(policy: MLP, tensors: [String: Tensor], state: State,
                                                                   config: Config, environment: String,
                                                                   manifestConfig: [String: JSONValue]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let stateData = try encoder.encode(SavedState(state: state, config: config, environment: environment))
        var metrics: [String: JSONValue] = ["step": .number(Double(state.step))]
        if let best = state.bestMeanReturn { metrics["best_mean_return"] = .number(best) }
        try ModelDirectory.save(policy, to: lastURL, environment: environment, config: manifestConfig, metrics: metrics,
                                extraTensors: tensors, extraFiles: ["state.json": stateData])
    }

    /// Reads last/ for resuming: the settings, the state, the environment, and the tensors.
    public func loadCheckpoint<Config: Configurable, State: RunState>(_: Config.Type, _: State.Type) throws -> Checkpoint<Config, State> {
        guard let data = FileManager.default.contents(atPath: stateURL.path) else { throw RunError.nothingToResume(url.path) }
        let saved: SavedState<Config, State>
        do { saved = try JSONDecoder().decode(SavedState<Config, State>.self, from: data) } catch {
            throw CheckpointError.badManifest(stateURL.path, detail: "unreadable trainer state")
        }
        let (policy, _) = try ModelDirectory.load(from: lastURL)
        return Checkpoint(config: saved.config, state: saved.state, environment: saved.environment, policy: policy, directory: lastURL)
    }

    /// A manifest's metrics for an evaluation at `step`.
    public static func metrics(_ e: EvaluationResult, step: Int) -> [String: JSONValue] {
        ["mean_return": .number(e.mean), "std_return": .number(e.std), "min_return": .number(e.min),
         "max_return": .number(e.max), "eval_episodes": .number(Double(e.episodes)), "step": .number(Double(step))]
    }

    struct SavedState<Config: Codable, State: Codable>: Codable {
        var state: State
        var config: Config
        var environment: String
    }
}

/// A checkpoint read back from last/.
public struct Checkpoint<Config, State> {
    public var config: Config
    public var state: State
    public var environment: String
    public var policy: MLP
    let directory: URL

    /// One of the algorithm's saved tensors.
    public func tensor(_ name: String) throws -> Tensor { try ModelDirectory.loadTensor(name, from: directory) }

    /// True when the checkpoint holds a tensor of that name.
    public func has(_ name: String) -> Bool {
        (try? ModelDirectory.readManifest(directory).tensors.contains { $0.name == name }) ?? false
    }
}
