import Checkpoint
import Environments
import Foundation
import NN
import Tensor

/// How a run ended.
public struct RunResult: Sendable {
    public var interrupted: Bool
    public var bestEvaluation: EvaluationResult?
    public var lastEvaluation: EvaluationResult?
    /// Seconds of this session.
    public var sessionSeconds: Double
}

/// The one run skeleton: steps an algorithm to its end, evaluating every `evalInterval` steps on
/// a separate environment and keeping the best policy as the run's model, logging metrics,
/// checkpointing into last/, reporting events, and stopping cleanly (after a checkpoint) when
/// asked. Without a directory nothing is written (in-memory runs, tests).
public struct RunLoop {
    public var directory: RunDirectory?
    /// The environment recorded in manifests and checkpoints.
    public var environment: EnvironmentRecipe
    public var hooks: RunHooks

    public init(directory: RunDirectory?, environment: EnvironmentRecipe, hooks: RunHooks = RunHooks()) {
        self.directory = directory
        self.environment = environment
        self.hooks = hooks
    }

    static let evaluationColumns = ["eval_mean", "eval_std", "eval_min", "eval_max"]

    public func run<A: RunAlgorithm>(_ algorithm: inout A, evalEnv: (any Environment)?) throws -> RunResult {
        let lock = try directory?.lock()
        defer { lock?.release() }
        let log = try directory.map {
            try MetricsLog(url: $0.metricsURL, columns: ["step", "kind"] + A.metricColumns + Self.evaluationColumns
                                                         + algorithm.evaluationColumns + ["wall_time"])
        }
        let sb3 = directory.map { SB3Logs(directory: $0.url, environment: environment.name) }
        let tensorBoard = directory.map { TensorBoardLog(directory: $0.url) }
        let clock = Date()
        let prior = algorithm.state.elapsedSeconds
        let startStep = algorithm.state.step
        func elapsed() -> Double { prior + Date().timeIntervalSince(clock) }
        var best: EvaluationResult?, last: EvaluationResult?
        var evaluationExtras: [String: Double] = [:]  // the algorithm's figures of the last evaluation

        func emit(_ event: RunEvent) {
            if let log, var row = Self.row(event, progressKind: A.progressRowKind) {
                if case .evaluation = event { for (k, v) in evaluationExtras { row[k] = Self.text(v) } }
                log.append(row.merging(["wall_time": String(format: "%.2f", elapsed())]) { a, _ in a })
            }
            switch event {
            case .episode(let e): sb3?.episode(e); tensorBoard?.episode(e)
            case .evaluation(let step, let result, _):
                sb3?.evaluation(step: step, result: result)
                tensorBoard?.evaluation(step: step, result: result)
            case .progress(let p): tensorBoard?.progress(p)
            }
            hooks.onEvent(event)
        }
        func checkpoint() throws {
            try algorithm.checkFinite(what: "network at step \(algorithm.state.step)")
            algorithm.state.elapsedSeconds = elapsed()
            try directory?.saveCheckpoint(policy: algorithm.policy, tensors: algorithm.checkpointTensors(), files: algorithm.checkpointFiles(),
                                          state: algorithm.state, config: algorithm.config, environment: environment,
                                          manifestConfig: algorithm.manifestConfig())
        }
        func evaluate(on env: any Environment) throws {
            let step = algorithm.state.step
            let result = try algorithm.evaluate(on: env)
            evaluationExtras = algorithm.evaluationValues
            last = result
            let isBest = algorithm.evaluationMayBeBest && (algorithm.state.bestMeanReturn.map { result.mean > $0 } ?? true)
            if isBest {
                try algorithm.checkFinite(what: "policy evaluated at step \(step)")
                algorithm.state.bestMeanReturn = result.mean
                best = result
                if let directory {
                    try algorithm.saveModel(in: directory, environment: environment, metrics: RunDirectory.metrics(result, step: step))
                }
            }
            emit(.evaluation(step: step, result: result, isBest: isBest))
        }

        let total = algorithm.totalSteps
        let schedule = algorithm.schedule
        // Training rounds run with subnormals flushed (FTZ/DAZ); acting, the environment and the
        // caller's callbacks keep the thread's own floating-point mode.
        let compute: (() -> Void) -> Void = { [hooks] body in hooks.aroundCompute { SubnormalMode.flushingToZero(body) } }
        while algorithm.state.step < total {
            if hooks.shouldStop() {
                try checkpoint()
                if let directory, !directory.holdsModel, (try? algorithm.checkFinite(what: "")) != nil {
                    try algorithm.saveModel(in: directory, environment: environment, metrics: ["step": .number(Double(algorithm.state.step))])
                }
                return RunResult(interrupted: true, bestEvaluation: best, lastEvaluation: last,
                                 sessionSeconds: Date().timeIntervalSince(clock))
            }
            let before = algorithm.state.step
            try algorithm.advance(compute: compute, report: emit)
            let step = algorithm.state.step
            // A step may count several environment steps (vector environments): an interval is
            // due when the step crosses one of its multiples (with single steps, lands on one).
            func due(_ interval: Int) -> Bool { interval > 0 && step / interval > before / interval }
            if let evalEnv, due(schedule.evalInterval), step < total {
                try evaluate(on: evalEnv)
            }
            if due(hooks.progressInterval) || step >= total {
                let session = Date().timeIntervalSince(clock)
                var progress = RunProgress(step: step, totalSteps: total, gradientSteps: algorithm.gradientSteps,
                                           elapsed: elapsed(), stepsPerSecond: session > 0 ? Double(step - startStep) / session : 0,
                                           values: algorithm.progressValues)
                progress.sessionSeconds = session
                hooks.onPolicy?(algorithm.policy)
                if let onObservations = hooks.onObservations, let current = algorithm.currentObservations {
                    onObservations(current.values, current.spec)
                }
                emit(.progress(progress))
                if hooks.wantsCheckpoint(), step < total { try checkpoint() }
            }
            if due(schedule.checkpointInterval), step < total { try checkpoint() }
        }
        try algorithm.finish(compute: compute)
        if let evalEnv {
            try evaluate(on: evalEnv)
        } else {
            try algorithm.checkFinite(what: "final network")
            if let directory {
                try algorithm.saveModel(in: directory, environment: environment, metrics: ["step": .number(Double(algorithm.state.step))])
            }
        }
        try checkpoint()
        return RunResult(interrupted: false, bestEvaluation: best, lastEvaluation: last, sessionSeconds: Date().timeIntervalSince(clock))
    }

    /// The metrics.csv row of an event (wall time added by the caller).
    static func row(_ event: RunEvent, progressKind: String?) -> [String: String]? {
        switch event {
        case .progress(let p):
            guard let kind = progressKind else { return nil }
            var row = ["step": "\(p.step)", "kind": kind, "gradient_steps": "\(p.gradientSteps)"]
            for (k, v) in p.values { row[k] = Self.text(v) }
            return row
        case .episode(let e):
            var row = ["step": "\(e.step)", "kind": "episode", "episode": "\(e.episode)", "return": "\(e.episodeReturn)",
                       "length": "\(e.length)"]
            for (k, v) in e.values { row[k] = Self.text(v) }
            return row
        case .evaluation(let step, let r, _):
            return ["step": "\(step)", "kind": "eval", "eval_mean": "\(r.mean)", "eval_std": "\(r.std)",
                    "eval_min": "\(r.min)", "eval_max": "\(r.max)"]
        }
    }

    /// Integers without a fraction, Float-sized figures as Float prints them.
    static func text(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? "\(Int(v))" : "\(Float(v))"
    }
}
