import Checkpoint
import DQN
import Environments
import Foundation
import NN
import Robustness
import Runs
import Settings
import Tensor

/// A distillation checkpoint read back from a student directory's last/.
public typealias DistillCheckpoint = Checkpoint<DistillConfig, DistillState>

/// A distillation written to a student directory, shared by the CLI and the Python binding:
/// loads the teachers and offline states, then runs the distiller on the shared run loop (the
/// best student at the top level with a manifest recording teachers, losses, weights,
/// temperature and regime; last/ the latest student; metrics.csv).
public struct DistillationRun {
    public let directory: RunDirectory
    public var hooks = RunHooks()

    public init(directory: URL) { self.directory = RunDirectory(directory) }

    /// Runs distillation. `makeEnv` opens a fresh environment by name (collection and evaluation
    /// each get their own), told whether the name was recorded in a teacher's manifest; `environment` overrides the teachers' recorded one.
    public func start(config: DistillConfig, environment: EnvironmentRecipe?,
                      argumentOverrides: [String: EnvironmentArgument] = [:], force: Bool,
                      makeEnv: (_ recipe: EnvironmentRecipe, _ recorded: Bool) throws -> any Environment) throws -> DistillOutcome {
        try config.validate()
        if let groups = try Self.taskTeachers(config.teachers) {
            return try startMultiTask(config: config, groups: groups, environment: environment,
                                      argumentOverrides: argumentOverrides, force: force, makeEnv: makeEnv)
        }
        if config.generations > 1 {
            return try startGenerations(config: config, environment: environment, argumentOverrides: argumentOverrides,
                                        force: force, makeEnv: makeEnv)
        }
        let teacher = try TeacherEnsemble(paths: config.teachers)
        let distiller = try Distiller(config: config, teacher: teacher)
        guard let envName = environment ?? teacher.environment?.with(argumentOverrides) else {
            throw RunError.invalidSetting("the teacher's model.json records no environment; name one (--env).")
        }
        let recorded = environment == nil  // named by the teacher's model.json: data, not code
        let (collectEnv, evalEnv) = try Self.environments(config, recipe: envName, recorded: recorded, makeEnv: makeEnv)
        let offline = try Self.offlineObservations(config, teacher: teacher)
        let directory = self.directory
        let prepare = { try directory.prepareNew(force: force) }
        return try distiller.run(env: collectEnv, evalEnv: evalEnv, offline: offline, hooks: hooks,
                                 directory: directory, environment: envName, beforeStart: prepare)
    }

    /// Settings a resumed distillation may change; the others are the checkpoint's.
    public static let resumableSettings = ["steps", "learning_rate", "eval_interval", "eval_episodes", "eval_seed",
                                           "checkpoint_interval"]

    /// Reads last/ (e.g. to learn the environment before opening it). A `--generations` run keeps
    /// one checkpoint per generation: asked for its top level, the sentence names the latest.
    public func loadCheckpoint() throws -> DistillCheckpoint {
        do {
            return try directory.loadCheckpoint(DistillConfig.self, DistillState.self)
        } catch RunError.nothingToResume(let path) {
            let fm = FileManager.default
            let generations = ((try? fm.contentsOfDirectory(atPath: path)) ?? [])
                .compactMap { name in name.hasPrefix("generation-") ? Int(name.dropFirst("generation-".count)) : nil }
                .filter { fm.fileExists(atPath: "\(path)/generation-\($0)/last/state.json") }
            guard let latest = generations.max() else { throw RunError.nothingToResume(path) }
            throw RunError.invalidSetting("\(path) holds a self-distillation whose generations each have their own checkpoint; resume one with --out \(path)/generation-\(latest) --resume (later generations are then distilled afresh from it).")
        }
    }

    /// Continues the distillation checkpointed in last/ (or `checkpoint`) with `changes` to the
    /// resumable settings (more steps, a lower learning rate, …); any other setting is refused
    /// with a `SettingError`. The student, its optimisers, the losses' state, the step, label
    /// count and random state continue; the labelled buffer is not saved and refills from new
    /// states (training waits for one batch of them), as a resumed DQN run refills its replay.
    /// The teachers are read again from the paths the checkpoint records, and the environment is
    /// the recorded one (plus `argumentOverrides`), opened as recorded data; a multi-task
    /// distillation reopens each task's environment from its teacher's model.json.
    /// `environmentGiven` says `makeEnv` opens an environment of the caller's rather than the
    /// recipe's (Python's `env=`), which a multi-task distillation refuses.
    public func resume(from checkpoint: DistillCheckpoint? = nil, changes: [(String, SettingValue)] = [],
                       argumentOverrides: [String: EnvironmentArgument] = [:], environmentGiven: Bool = false,
                       makeEnv: (_ recipe: EnvironmentRecipe, _ recorded: Bool) throws -> any Environment) throws -> DistillOutcome {
        let saved = try checkpoint ?? loadCheckpoint()
        let config = try saved.config.resumed(changing: changes, resumable: Self.resumableSettings)
        try config.validate()
        guard config.steps >= saved.state.step else {
            throw RunError.alreadyPast(directory.url.path, step: saved.state.step, requested: config.steps)
        }
        if let groups = try Self.taskTeachers(config.teachers) {
            guard argumentOverrides.isEmpty, !environmentGiven else {
                throw RunError.invalidSetting("a multi-task distillation takes each task's environment from its teacher's model.json; drop \(environmentGiven ? "env=" : "--env-arg").")
            }
            return try runMultiTask(config: config, groups: groups, resume: (saved.reader, saved.state), makeEnv: makeEnv)
        }
        let teacher = try TeacherEnsemble(paths: config.teachers)
        let distiller = try Distiller(config: config, teacher: teacher)
        let recipe = saved.environment.with(argumentOverrides)
        let (collectEnv, evalEnv) = try Self.environments(config, recipe: recipe, recorded: true, makeEnv: makeEnv)
        return try distiller.run(env: collectEnv, evalEnv: evalEnv, offline: try Self.offlineObservations(config, teacher: teacher),
                                 hooks: hooks, directory: directory, environment: recipe, resume: (saved.reader, saved.state))
    }

    /// The environments a single-task distillation opens: one to collect states from (none
    /// offline) and one to evaluate on (when evaluating, and always offline).
    static func environments(_ config: DistillConfig, recipe: EnvironmentRecipe, recorded: Bool,
                             makeEnv: (_ recipe: EnvironmentRecipe, _ recorded: Bool) throws -> any Environment)
        throws -> (collect: (any Environment)?, evaluate: (any Environment)?)
    {
        // Collection under changed dynamics (and the evaluations that keep the run's model):
        // one environment per value, opened now, so a parameter the environment lacks fails before any step.
        func open() throws -> any Environment {
            guard let dynamics = config.collectDynamics else { return try makeEnv(recipe, recorded) }
            return try VaryingEnvironment(levels: dynamics.values.map {
                try openVaried(recipe, recorded: recorded, parameter: dynamics.name, value: EnvironmentArgument(parsing: $0), makeEnv: makeEnv)
            })
        }
        let collect = config.regime == .offline ? nil : try open()
        let evaluate = config.evalInterval > 0 || config.regime == .offline
            ? (config.regime == .offline ? try makeEnv(recipe, recorded) : try open()) : nil
        return (collect, evaluate)
    }

    /// The offline regime's observations (`offline_observations`), checked against the teacher.
    static func offlineObservations(_ config: DistillConfig, teacher: TeacherEnsemble) throws -> Tensor? {
        guard let path = config.offlineObservations else { return nil }
        let states: Tensor
        do { states = try NumPyFile.read(URL(fileURLWithPath: path)) } catch let e as CheckpointError {
            throw DistillError.badObservations(path, detail: e.description)
        }
        guard states.rank == 2, states.columnCount == teacher.inputSize, states.rowCount > 0 else {
            throw DistillError.badObservations(path, detail: "expected an array of shape (N, \(teacher.inputSize)), got \(states.shape)")
        }
        return states
    }

    /// Teachers named `TASK=DIR` grouped by task in order of first appearance (a task named twice
    /// is an ensemble), or nil when none is named (one task). An argument that is an existing
    /// directory is a path even when it holds `=`.
    public static func taskTeachers(_ teachers: [String]) throws -> [(name: String, paths: [String])]? {
        var groups: [(name: String, paths: [String])] = []
        var unnamed: [String] = []
        for spec in teachers {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: spec, isDirectory: &isDirectory) && isDirectory.boolValue
            guard !exists, let eq = spec.firstIndex(of: "=") else { unnamed.append(spec); continue }
            let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
            guard let first = name.unicodeScalars.first, CharacterSet.letters.contains(first),
                  name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }) else {
                throw DistillError.teachersDisagree("The task name '\(name)' in --teacher \(spec) must start with a letter and hold only letters, digits, '-' and '_' (e.g. --teacher cartpole=runs/cp).")
            }
            if let i = groups.firstIndex(where: { $0.name == name }) { groups[i].paths.append(path) } else { groups.append((name, [path])) }
        }
        if groups.isEmpty { return nil }
        guard unnamed.isEmpty else {
            throw DistillError.teachersDisagree("Name every teacher's task or none: \(unnamed.joined(separator: ", ")) has no TASK= while \(groups[0].name)= is named (e.g. --teacher cartpole=runs/cp --teacher acrobot=runs/ac).")
        }
        return groups
    }

    /// Multi-task distillation: one student, a task per teacher name, each task on the
    /// environment its teacher recorded; the model is saved as `tasks/NAME/` per task.
    func startMultiTask(config: DistillConfig, groups: [(name: String, paths: [String])], environment: EnvironmentRecipe?,
                        argumentOverrides: [String: EnvironmentArgument], force: Bool,
                        makeEnv: (_ recipe: EnvironmentRecipe, _ recorded: Bool) throws -> any Environment) throws -> DistillOutcome {
        let refuse = { (what: String) in DistillError.teachersDisagree("Multi-task distillation (\(groups.map(\.name).joined(separator: ", "))) \(what).") }
        if environment != nil || !argumentOverrides.isEmpty { throw refuse("takes each task's environment from its teacher's model.json, so --env and --env-arg do not apply; retrain a teacher on the environment you want") }
        if config.regime == .offline { throw refuse("collects states from each task's environment; the offline regime (one observation file) does not apply") }
        if config.generations > 1 { throw refuse("runs one generation; distil the multi-task student again from its tasks/NAME directories") }
        if config.quantize != .none { throw refuse("trains its shared student in float; quantise one task's student by distilling it again from tasks/NAME with --quantize int8") }
        if config.prune > 0 { throw refuse("keeps its shared student dense; prune one task's student by distilling it again from tasks/NAME with --prune") }
        if config.stateNoise > 0 || config.adversarialEpsilon > 0 || config.collectPerturbation != nil {
            throw refuse("trains on its tasks' clean states; distil one task's student again from tasks/NAME with --state-noise, --adversarial-epsilon or --collect-perturbation")
        }
        if groups.count == 1 { throw refuse("needs at least two tasks; for one, give --teacher DIR without a name") }
        return try runMultiTask(config: config, groups: groups, makeEnv: makeEnv, beforeStart: { try directory.prepareNew(force: force) })
    }

    /// Opens each task's teacher and environments (recorded in its teacher's model.json) and
    /// runs the multi-task algorithm, new or resumed.
    func runMultiTask(config: DistillConfig, groups: [(name: String, paths: [String])],
                      resume: (checkpoint: CheckpointReader, state: DistillState)? = nil,
                      makeEnv: (_ recipe: EnvironmentRecipe, _ recorded: Bool) throws -> any Environment,
                      beforeStart: () throws -> Void = {}) throws -> DistillOutcome {
        var tasks: [DistillationTask] = []
        for (name, paths) in groups {
            let teacher = try TeacherEnsemble(paths: paths)
            guard teacher.head == .q else {
                throw DistillError.teachersDisagree("Multi-task distillation takes Q-value teachers, and task \(name)'s teacher \(paths[0]) outputs \(teacher.head.phrase); distil it on its own.")
            }
            guard let recipe = teacher.environment else {
                throw DistillError.teacherUnreadable(paths[0], detail: "its model.json records no environment, which task \(name) needs")
            }
            tasks.append(DistillationTask(name: name, teacher: teacher, environment: recipe))
        }
        let collectEnvs = try tasks.map { try makeEnv($0.environment, true) }
        let evalEnvs = try tasks.map { try makeEnv($0.environment, true) }
        var algorithm = try MultiTaskDistillationAlgorithm(config: config, tasks: tasks, collectEnvs: collectEnvs, evalEnvs: evalEnvs,
                                                           resume: resume)
        try beforeStart()
        let recipe = EnvironmentRecipe(name: tasks.map { "\($0.name)=\($0.environment.name)" }.joined(separator: "+"))
        let result = try RunLoop(directory: directory, environment: recipe, hooks: hooks).run(&algorithm, evalEnv: evalEnvs[0])
        return DistillOutcome(algorithm, result)
    }

    /// Sequential self-distillation (born-again networks, Furlanello et al. 2018): generation 1
    /// is distilled from the teachers, each later one from the generation before, each into
    /// `DIR/generation-G` (use `hidden_sizes` equal to the teacher's for born-again students).
    /// Returns the last generation's outcome, with every generation's in `generations`.
    func startGenerations(config: DistillConfig, environment: EnvironmentRecipe?, argumentOverrides: [String: EnvironmentArgument],
                          force: Bool, makeEnv: (_ recipe: EnvironmentRecipe, _ recorded: Bool) throws -> any Environment) throws -> DistillOutcome {
        var outcomes: [DistillOutcome] = []
        var teachers = config.teachers
        for generation in 1...config.generations {
            var single = config
            single.generations = 1
            single.teachers = teachers
            var run = DistillationRun(directory: directory.url.appendingPathComponent("generation-\(generation)"))
            run.hooks = hooks
            let outcome = try run.start(config: single, environment: environment, argumentOverrides: argumentOverrides,
                                        force: force, makeEnv: makeEnv)
            outcomes.append(outcome)
            if outcome.interrupted { break }
            teachers = [run.directory.url.path]
        }
        var last = outcomes[outcomes.count - 1]
        last.generations = outcomes.map { $0.bestEvaluation?.mean }
        return last
    }
}
