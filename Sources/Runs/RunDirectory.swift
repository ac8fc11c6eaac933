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
    /// Another process is writing a run into the same directory (its pid, when known).
    case busy(String, pid: String?)
    /// `--force` would delete files this tool did not write.
    case foreignFiles(String, names: [String])
    /// last/ cannot be resumed.
    case damagedCheckpoint(String, detail: String)
    /// A non-finite number reached the run; the sentence names where.
    case nonFinite(String)
    /// A setting or input out of range: the sentence says which and what is allowed.
    case invalidSetting(String)
    /// `--resume` of one command on another's run (its path, what it holds, the command that resumes it).
    case otherKindOfRun(String, kind: String, command: String)
    /// A resumed run asked for fewer steps than it has taken.
    case alreadyPast(String, step: Int, requested: Int)

    public var description: String {
        switch self {
        case .alreadyExists(let p):
            return "\(p) already holds a run; choose another --out, add --force to overwrite it, or --resume to continue it."
        case .nothingToResume(let p):
            return "\(p) has no checkpoint to resume (expected \(p)/last/state.json); start a new run without --resume."
        case .badConfigFile(let p, let detail):
            return "The config file \(p) cannot be used: \(detail)."
        case .busy(let p, let pid):
            return "Another run\(pid.map { " (pid \($0))" } ?? "") is writing into \(p); wait for it to finish or choose another --out."
        case .foreignFiles(let p, let names):
            let shown = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? ", …" : "")
            return "\(p) holds files swift-distill did not write (\(shown)); --force only replaces a run, so move them away or choose another --out."
        case .damagedCheckpoint(let p, let detail):
            let reason = detail.hasSuffix(".") ? String(detail.dropLast()) : detail
            return "The checkpoint in \(p)/last cannot be resumed: \(reason). The best model in \(p) is saved separately; start a new run (--force) to train again."
        case .otherKindOfRun(let p, let kind, let command):
            let python = "sd." + (command.split(separator: " ").last.map(String.init) ?? command)
            return "\(p) holds \(kind); continue it with `\(command) --out \(p) --resume` (in Python, \(python)(…, out=…, resume=True))."
        case .alreadyPast(let p, let step, let requested):
            return "The run in \(p) is already at step \(step), past the \(requested) steps asked for; give --steps \(step) or more (in Python, steps=)."
        case .nonFinite(let sentence):
            return sentence
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
            || MultiTaskDirectory.index(url) != nil
    }

    /// Makes the directory for a new run. An existing run is refused unless `force`, which
    /// removes exactly the files a run wrote (see `RunFiles`) and refuses, naming the first,
    /// when the directory holds anything else anywhere inside it.
    public func prepareNew(force: Bool) throws {
        let fm = FileManager.default
        let holdsRun = holdsModel || fm.fileExists(atPath: lastURL.path) || fm.fileExists(atPath: metricsURL.path)
            || fm.fileExists(atPath: url.appendingPathComponent("monitor.csv").path)
        if holdsRun {
            guard force else { throw RunError.alreadyExists(url.path) }
            let lock = try self.lock()
            defer { lock.release() }
            let foreign = RunFiles.foreign(in: url)
            guard foreign.isEmpty else { throw RunError.foreignFiles(url.path, names: foreign) }
            for name in (try? fm.contentsOfDirectory(atPath: url.path)) ?? [] where name != ".lock" {
                try? fm.removeItem(at: url.appendingPathComponent(name))
            }
        }
        do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw CheckpointError.writeFailed(url.path, detail: FileProblem.directorySentence(url, error: error))
        }
    }

    /// The folder a co-distillation keeps its co-trained teacher in.
    public static let coTrainedTeacherFolder = "teacher"

    /// Holds the directory against other runs until released; the holder's pid is in `.lock`.
    public func lock() throws -> RunLock {
        let fm = FileManager.default
        do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw CheckpointError.writeFailed(url.path, detail: FileProblem.directorySentence(url, error: error))
        }
        let path = url.appendingPathComponent(".lock").path
        let lock: RunLock
        do { lock = try RunLock(path) } catch {
            if case .cannotOpen(let code) = error {
                throw CheckpointError.writeFailed(url.path, detail: FileProblem.sentence(errno: code))
            }
            let pid = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            throw RunError.busy(url.path, pid: pid.flatMap { $0.isEmpty ? nil : $0 })
        }
        removeLeftovers()
        return lock
    }

    /// Removes what killed saves left behind: staging copies of last/, unfinished manifests,
    /// and tensor files of the manifest's names that it does not refer to. Called with the lock held.
    func removeLeftovers() {
        for name in RunFiles.leftovers(in: url) {
            try? FileManager.default.removeItem(at: url.appendingPathComponent(name))
        }
    }

    /// Saves `network` as the run's model (the top level).
    public func saveModel(_ network: MLP, environment: EnvironmentRecipe, config: [String: JSONValue], metrics: [String: JSONValue]) throws {
        try ModelDirectory.save(network, to: url, environment: environment.name, environmentArguments: environment.argumentTexts,
                                environmentWrappers: environment.manifestWrappers, config: config, metrics: metrics,
                                replacing: .modelFilesOnly)
    }

    /// Saves a checkpoint into last/: the policy, the algorithm's tensors and state.json.
    public func saveCheckpoint<Config: Codable, State: RunState>(policy: MLP, tensors: [String: Tensor], files: [String: Data] = [:], state: State,
                                                                   config: Config, environment: EnvironmentRecipe,
                                                                   manifestConfig: [String: JSONValue]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let stateData = try encoder.encode(SavedState(state: state, config: config, environment: environment.name,
                                                      environmentArguments: environment.arguments,
                                                      environmentWrappers: environment.wrappers.isEmpty ? nil : environment.wrappers))
        var metrics: [String: JSONValue] = ["step": .number(Double(state.step))]
        if let best = state.bestMeanReturn { metrics["best_mean_return"] = .number(best) }
        try ModelDirectory.save(policy, to: lastURL, environment: environment.name, environmentArguments: environment.argumentTexts,
                                environmentWrappers: environment.manifestWrappers, config: manifestConfig, metrics: metrics,
                                extraTensors: tensors, extraFiles: files.merging(["state.json": stateData]) { _, state in state })
    }

    /// Reads last/ for resuming: the settings, the state, the environment, and the tensors.
    public func loadCheckpoint<Config: Configurable, State: RunState>(_: Config.Type, _: State.Type) throws -> Checkpoint<Config, State> {
        if FileManager.default.fileExists(atPath: url.path) { try lock().release() }  // and tidy what a killed save left
        guard let data = FileManager.default.contents(atPath: stateURL.path) else { throw RunError.nothingToResume(url.path) }
        let saved: SavedState<Config, State>
        do { saved = try JSONDecoder().decode(SavedState<Config, State>.self, from: data) } catch {
            if let other = Self.runKind(of: data), other.command != State.resumeCommand {
                throw RunError.otherKindOfRun(url.path, kind: other.kind, command: other.command)
            }
            throw RunError.damagedCheckpoint(url.path, detail: "last/state.json is not a readable training state")
        }
        let policy: MLP
        do { (policy, _) = try ModelDirectory.load(from: lastURL) } catch let e as CheckpointError {
            throw RunError.damagedCheckpoint(url.path, detail: e.description)
        }
        return Checkpoint(config: saved.config, state: saved.state,
                          environment: EnvironmentRecipe(name: saved.environment, arguments: saved.environmentArguments ?? [:],
                                                         wrappers: saved.environmentWrappers ?? []),
                          policy: policy, directory: lastURL)
    }

    /// What kind of run a state.json that did not decode belongs to, told by its keys (a
    /// co-distillation's state holds its teacher's settings, a distillation's settings name
    /// `teachers`, a DQN run's `total_steps`), and the command that resumes it; nil when none.
    static func runKind(of data: Data) -> (kind: String, command: String)? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let config = object["config"] as? [String: Any] else { return nil }
        if (object["state"] as? [String: Any])?["teacherConfig"] != nil { return ("a co-distillation", "distill codistill") }
        if config["teachers"] != nil { return ("a distillation", "distill distill") }
        if config["total_steps"] != nil { return ("a DQN training run", "distill train") }
        return nil
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
        var environmentArguments: [String: EnvironmentArgument]?
        var environmentWrappers: [EnvironmentWrapper]?
    }
}

/// A checkpoint read back from last/.
public struct Checkpoint<Config, State> {
    public var config: Config
    public var state: State
    public var environment: EnvironmentRecipe
    public var policy: MLP
    let directory: URL

    /// One of the algorithm's saved tensors.
    public func tensor(_ name: String) throws -> Tensor { try ModelDirectory.loadTensor(name, from: directory) }

    /// True when the checkpoint holds a tensor of that name.
    public func has(_ name: String) -> Bool {
        (try? ModelDirectory.readManifest(directory).tensors.contains { $0.name == name }) ?? false
    }
}
