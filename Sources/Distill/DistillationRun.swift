import Checkpoint
import DQN
import Environments
import Foundation
import NN
import Runs
import Settings
import Tensor

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
        let collectEnv = config.regime == .offline ? nil : try makeEnv(envName, recorded)
        let evalEnv = config.evalInterval > 0 || config.regime == .offline ? try makeEnv(envName, recorded) : nil
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
        let directory = self.directory
        let prepare = { try directory.prepareNew(force: force) }
        return try distiller.run(env: collectEnv, evalEnv: evalEnv, offline: offline, hooks: hooks,
                                 directory: directory, environment: envName, beforeStart: prepare)
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
