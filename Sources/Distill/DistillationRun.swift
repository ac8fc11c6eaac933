import Checkpoint
import DQN
import Environments
import Foundation
import NN
import Settings
import Tensor

/// A distillation written to a student directory: the distiller plus what the CLI and the
/// Python binding share (loading teachers and offline states, metrics.csv, saving the student
/// with a manifest that records the teachers, losses, weights, temperature and data regime).
public struct DistillationRun {
    public let directory: URL
    public var onEvent: (DistillEvent) -> Void = { _ in }
    public var shouldStop: () -> Bool = { false }
    /// Wraps each round of gradient steps (the Python binding releases the GIL here).
    public var aroundCompute: (() -> Void) -> Void = { $0() }

    public init(directory: URL) { self.directory = directory }

    /// Runs distillation. `makeEnv` opens a fresh environment by name (collection and evaluation
    /// each get their own); `environment` overrides the teachers' recorded one.
    public func start(config: DistillConfig, environment: String?, force: Bool,
                      makeEnv: (String) throws -> any Environment) throws -> DistillOutcome {
        try config.validate()
        let teacher = try TeacherEnsemble(paths: config.teachers)
        let distiller = try Distiller(config: config, teacher: teacher)
        guard let envName = environment ?? teacher.environment else {
            throw RunError.invalidSetting("the teacher's model.json records no environment; name one (--env).")
        }
        let collectEnv = config.regime == .offline ? nil : try makeEnv(envName)
        let evalEnv = config.evalInterval > 0 || config.regime == .offline ? try makeEnv(envName) : nil
        var offline: Tensor?
        if let path = config.offlineObservations {
            let states: Tensor
            do { states = try NumPyFile.read(URL(fileURLWithPath: path)) } catch let e as CheckpointError {
                throw DistillError.badObservations(path, detail: e.description)
            }
            guard states.rank == 2, states.columnCount == teacher.inputSize, states.rowCount > 0 else {
                throw DistillError.badObservations(path, detail: "expected an array of shape (N, \(teacher.inputSize)), got \(states.shape)")
            }
            offline = states
        }
        let fm = FileManager.default
        if fm.fileExists(atPath: directory.appendingPathComponent(ModelDirectory.manifestName).path) {
            guard force else { throw RunError.alreadyExists(directory.path) }
            try? fm.removeItem(at: directory)
        }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = try MetricsLog(url: directory.appendingPathComponent("metrics.csv"),
                                 columns: ["step", "kind", "labels", "gradient_steps", "q_mse", "kl", "ce", "task", "feature",
                                           "relational", "eval_mean", "eval_std", "wall_time"])
        let start = Date()
        var hooks = DistillHooks()
        hooks.shouldStop = shouldStop
        hooks.aroundCompute = aroundCompute
        hooks.onEvent = { [onEvent] event in
            let wall = String(format: "%.2f", Date().timeIntervalSince(start))
            switch event {
            case .progress(let p):
                var row = ["step": "\(p.step)", "kind": "train", "labels": "\(p.labels)", "gradient_steps": "\(p.gradientSteps)", "wall_time": wall]
                for (k, v) in p.losses { row[k] = "\(v)" }
                log.append(row)
            case .evaluation(let step, let labels, let r, _):
                log.append(["step": "\(step)", "kind": "eval", "labels": "\(labels)", "eval_mean": "\(r.mean)", "eval_std": "\(r.std)", "wall_time": wall])
            }
            onEvent(event)
        }
        let dir = directory
        hooks.saveStudent = { student, result, step in
            var metrics: [String: JSONValue] = ["step": .number(Double(step))]
            if let r = result {
                metrics["mean_return"] = .number(r.mean)
                metrics["std_return"] = .number(r.std)
                metrics["eval_episodes"] = .number(Double(r.episodes))
            }
            var cfg = JSONValue.object(encoding: config)
            cfg["kind"] = .string("student")
            cfg["losses"] = .array(config.activeLosses.map { .string($0) })
            try ModelDirectory.save(student, to: dir, environment: envName, config: cfg, metrics: metrics)
        }
        hooks.saveInterrupted = { [saveStudent = hooks.saveStudent] student, step in
            // Keep the best student at the top level; the interrupted one goes to last/.
            try ModelDirectory.save(student, to: dir.appendingPathComponent("last"), environment: envName,
                                    config: JSONValue.object(encoding: config), metrics: ["step": .number(Double(step))])
            if !FileManager.default.fileExists(atPath: dir.appendingPathComponent(ModelDirectory.manifestName).path) {
                try saveStudent(student, nil, step)
            }
        }
        return try distiller.run(env: collectEnv, evalEnv: evalEnv, offline: offline, hooks: hooks)
    }
}
