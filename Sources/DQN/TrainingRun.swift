import Checkpoint
import Environments
import Foundation
import NN
import Settings

/// A training run written to a run directory: the trainer plus everything around it that the
/// CLI and the Python binding share (metrics.csv rows, best-model and checkpoint saves, the
/// final model when evaluation is off, resuming).
public struct TrainingRun {
    public let directory: RunDirectory
    /// Receives every trainer event after it has been logged.
    public var onEvent: (TrainingEvent) -> Void = { _ in }
    /// Polled every step; true stops the run after a checkpoint.
    public var shouldStop: () -> Bool = { false }
    /// Wraps each round of gradient steps (the Python binding releases the GIL here).
    public var aroundCompute: (() -> Void) -> Void = { $0() }

    public init(directory: URL) { self.directory = RunDirectory(directory) }

    /// Starts a new run (refusing an existing one unless `force`).
    public func start(config: DQNConfig, environment: String, env: any Environment, evalEnv: (any Environment)?,
                      force: Bool) throws -> TrainingOutcome {
        try config.validate()
        try directory.prepareNew(force: force)
        return try run(config: config, environment: environment, env: env, evalEnv: evalEnv, resume: nil)
    }

    /// A checkpoint as `RunDirectory.loadCheckpoint` returns it.
    public typealias Checkpoint = (learner: DQNLearner, state: TrainingState, environment: String)

    /// Continues from `last/`; `totalSteps` may extend the run.
    public func resume(env: any Environment, evalEnv: (any Environment)?, totalSteps: Int? = nil) throws -> TrainingOutcome {
        try resume(from: directory.loadCheckpoint(), env: env, evalEnv: evalEnv, totalSteps: totalSteps)
    }

    /// Continues from a checkpoint the caller already loaded (e.g. to learn its environment first).
    public func resume(from saved: Checkpoint, env: any Environment, evalEnv: (any Environment)?,
                       totalSteps: Int? = nil) throws -> TrainingOutcome {
        var config = saved.learner.config
        if let totalSteps { config.totalSteps = totalSteps }
        try config.validate()
        guard saved.learner.online.inputSize == env.spec.observationSize else {
            throw RunError.invalidSetting("the checkpoint in \(directory.url.path) expects \(saved.learner.online.inputSize) observation values but \(saved.environment) gives \(env.spec.observationSize).")
        }
        let learner = DQNLearner(online: saved.learner.online, target: saved.learner.target,
                                 optimizer: saved.learner.optimizer, actionCount: saved.learner.actionCount, config: config)
        return try run(config: config, environment: saved.environment, env: env, evalEnv: evalEnv, resume: (learner, saved.state))
    }

    private func run(config: DQNConfig, environment: String, env: any Environment, evalEnv: (any Environment)?,
                     resume: (DQNLearner, TrainingState)?) throws -> TrainingOutcome {
        let log = try MetricsLog(url: directory.metricsURL, columns: RunDirectory.metricColumns)
        let start = Date()
        let dir = directory
        var hooks = TrainingHooks()
        hooks.shouldStop = shouldStop
        hooks.aroundCompute = aroundCompute
        hooks.onEvent = { [onEvent] event in
            let wall = String(format: "%.2f", Date().timeIntervalSince(start))
            switch event {
            case .progress: break
            case .episode(let step, let episode, let ret, let length, let eps, let loss):
                log.append(["step": "\(step)", "kind": "episode", "episode": "\(episode)", "return": "\(ret)",
                            "length": "\(length)", "epsilon": "\(eps)", "loss": loss.map { "\($0)" } ?? "", "wall_time": wall])
            case .evaluation(let step, let r, _):
                log.append(["step": "\(step)", "kind": "eval", "eval_mean": "\(r.mean)", "eval_std": "\(r.std)",
                            "eval_min": "\(r.min)", "eval_max": "\(r.max)", "wall_time": wall])
            }
            onEvent(event)
        }
        hooks.saveBest = { net, result, step in
            try dir.saveBest(net, environment: environment, config: config, evaluation: result, step: step)
        }
        hooks.saveCheckpoint = { learner, state in
            var s = state
            s.adamSteps = learner.optimizer.stepCount
            try dir.saveCheckpoint(learner, state: s, environment: environment)
        }
        let outcome = try DQNTrainer(config: config).train(env: env, evalEnv: evalEnv, hooks: hooks, resume: resume)
        if outcome.state.bestMeanReturn == nil {
            // No evaluation ran: the last policy is the run's model.
            try ModelDirectory.save(outcome.learner.policyNetwork, to: directory.url, environment: environment,
                                    config: config.jsonObject, metrics: ["step": .number(Double(outcome.state.step))])
        }
        return outcome
    }
}
