import Checkpoint
import DQN
import Environments
import Foundation
import NN
import Runs
import Tensor

/// One task of a multi-task distillation: its name, its teacher (or ensemble), and its environment.
public struct DistillationTask: Sendable {
    public var name: String
    public var teacher: TeacherEnsemble
    public var environment: EnvironmentRecipe

    public init(name: String, teacher: TeacherEnsemble, environment: EnvironmentRecipe) {
        self.name = name
        self.teacher = teacher
        self.environment = environment
    }
}

/// How one task of a multi-task student did at its best evaluation.
public struct TaskOutcome: Sendable {
    public var name: String
    public var studentReturn: EvaluationResult?
    public var teacherReturn: Double
    public var randomReturn: Double
    /// (student − random) / (teacher − random) on the same evaluation episodes.
    public var normalizedReturn: Double?
    /// Parameters of this task's network (shared trunk included).
    public var parameters: Int
    public var teacherParameters: Int
}

/// Multi-task policy distillation (Rusu et al. 2015) on the shared run loop: states are collected
/// task by task in turn (each labelled by its own teacher), and after each round of one state
/// per task the student takes `updates_per_step` gradient steps, each on one batch per task.
/// Evaluation scores each task by its normalised return and keeps the student with the best
/// mean over tasks; the model is `tasks/NAME/` per task (see `MultiTaskDirectory`).
public struct MultiTaskDistillationAlgorithm: RunAlgorithm {
    public let config: DistillConfig
    public let tasks: [DistillationTask]
    public var state: DistillState
    public private(set) var learner: MultiTaskLearner
    var collectors: [StateCollector]
    var buffers: [DistillationBuffer]
    /// Each task's minibatch of the current gradient step (storage reused).
    var minibatches: [LabelledBatch] = []
    let evalEnvs: [any Environment]
    /// Per task: mean returns of a uniform random policy and of the teacher on the evaluation episodes.
    public let randomReturns: [Double], teacherReturns: [Double]
    /// The last evaluation of each task, and the one of the best (kept) student.
    public private(set) var lastEvaluations: [EvaluationResult] = []
    public private(set) var keptEvaluations: [EvaluationResult] = []
    var lastLosses: LossParts = [:]
    var lastShare: Float = 0
    public var totalSteps: Int { config.steps }

    /// `collectEnvs[k]` and `evalEnvs[k]` are two instances of task k's environment. `resume`
    /// continues a checkpoint as `DistillationAlgorithm.init` does (each task's environment
    /// reseeded with its seed + its episodes).
    public init(config: DistillConfig, tasks: [DistillationTask], collectEnvs: [any Environment], evalEnvs: [any Environment],
                resume: (checkpoint: CheckpointReader, state: DistillState)? = nil) throws {
        precondition(tasks.count == collectEnvs.count && tasks.count == evalEnvs.count, "one pair of environments per task")
        try config.validate()
        for (k, task) in tasks.enumerated() {
            for env in [collectEnvs[k], evalEnvs[k]] where env.spec.observationSize != task.teacher.inputSize
                || env.spec.actionCount != task.teacher.actionCount {
                throw DistillError.sizeMismatch("Task \(task.name): the environment \(env.spec.name) has \(env.spec.observationSize) observation values and \(env.spec.actionCount) actions, but its teacher takes \(task.teacher.inputSize) and gives \(task.teacher.actionCount).")
            }
        }
        guard config.convolutions.isEmpty else {
            throw DistillError.sizeMismatch("A multi-task student is an MLP with a per-task input layer; --conv (convolutions) is not supported for it yet, so drop --conv.")
        }
        guard !config.hiddenSizes.isEmpty else {
            throw DistillError.sizeMismatch("A multi-task student needs at least one hidden layer (the shared trunk); give --hidden, e.g. 64,64.")
        }
        let widths = tasks.map { 2 * $0.teacher.inputSize + 4 + $0.teacher.actionCount }.reduce(0, +)
        try MemoryCheck.require(MemoryCheck.bytes([config.bufferSize, widths, 4]), for: "the labelled-state buffers",
                                key: "buffer_size", value: config.bufferSize)
        self.config = config
        self.tasks = tasks
        self.evalEnvs = evalEnvs
        let student = MultiTaskNetwork(inputSizes: tasks.map(\.teacher.inputSize), hiddenSizes: config.hiddenSizes,
                                       outputSizes: tasks.map(\.teacher.actionCount), activation: config.activation,
                                       seed: UInt64(config.seed) &+ 1)
        if let resume {
            guard resume.state.taskEpisodes.count == tasks.count else {
                throw RunError.damagedCheckpoint(resume.checkpoint.runPath, detail: "its state records \(resume.state.taskEpisodes.count) tasks' episodes for \(tasks.count) tasks")
            }
            learner = try MultiTaskLearner(restoring: resume.checkpoint, gradientSteps: resume.state.gradientSteps, student: student,
                                           teachers: tasks.map(\.teacher), config: config)
            state = resume.state
        } else {
            learner = MultiTaskLearner(student: student, teachers: tasks.map(\.teacher), config: config)
            state = DistillState(rng: SeededGenerator(seed: UInt64(config.seed)))
            state.taskEpisodes = Array(repeating: 0, count: tasks.count)
        }
        buffers = tasks.map {
            DistillationBuffer(capacity: config.bufferSize, observationSize: $0.teacher.inputSize, actionCount: $0.teacher.actionCount,
                               hiddenWidth: $0.teacher.hiddenWidth(layers: config.storedTeacherLayers($0.teacher)), lookahead: config.nStep)
        }
        minibatches = Array(repeating: LabelledBatch(), count: tasks.count)
        let episodes = state.taskEpisodes
        collectors = try collectEnvs.enumerated().map { try StateCollector(env: $1, config: config, seed: config.seed + $0, episodes: episodes[$0]) }
        var randoms: [Double] = [], teachers: [Double] = []
        for (k, env) in evalEnvs.enumerated() {
            var rng = SeededGenerator(seed: UInt64(config.evalSeed) &+ 99)
            randoms.append(try Runs.evaluate(env, episodes: config.evalEpisodes, seed: config.evalSeed) { _ in
                rng.int(below: env.spec.actionCount)
            }.mean)
            let teacher = tasks[k].teacher
            teachers.append(try Runs.evaluate(env, episodes: config.evalEpisodes, seed: config.evalSeed) { obs in
                StateCollector.argmax(teacher.label(obs, layers: [])[...])
            }.mean)
        }
        randomReturns = randoms
        teacherReturns = teachers
    }

    public var schedule: RunSchedule {
        RunSchedule(evalInterval: config.evalInterval, evalEpisodes: config.evalEpisodes, evalSeed: config.evalSeed,
                    checkpointInterval: config.checkpointInterval)
    }
    /// The first task's network (the run loop checkpoints it; `checkpointTensors` holds the rest).
    public var policy: MLP { learner.student.network(task: 0) }
    public var gradientSteps: Int { learner.gradientSteps }
    public static var metricColumns: [String] { DistillationAlgorithm.metricColumns }
    public static let progressRowKind: String? = "train"

    public var progressValues: [String: Double] {
        distillationProgress(labels: state.labels, teacherShare: lastShare, losses: lastLosses)
    }

    public mutating func advance(compute: (() -> Void) -> Void, report: (RunEvent) -> Void) throws {
        let step = state.step + 1
        let k = (step - 1) % tasks.count
        lastShare = config.teacherShare(atStep: step)
        try collectors[k].collect(teacher: tasks[k].teacher, layers: learner.storedLayers(task: k), student: learner.student.network(task: k), teacherShare: lastShare,
                                  epsilon: config.actingEpsilon, rng: &state.rng, into: &buffers[k])
        state.labels += 1
        if step % tasks.count == 0 { train(config.updatesPerStep, compute: compute) }
        state.gradientSteps = learner.gradientSteps
        state.taskEpisodes = collectors.map(\.episodes)
        state.episodes = state.taskEpisodes.reduce(0, +)
        try checkLosses()
        state.step = step
    }

    public mutating func finish(compute: (() -> Void) -> Void) throws {
        train(config.finalUpdates, compute: compute)
        state.gradientSteps = learner.gradientSteps
        try checkLosses()
    }

    func checkLosses() throws {
        try checkFiniteLosses(lastLosses, gradientSteps: learner.gradientSteps, learningRate: config.learningRate)
    }

    mutating func train(_ updates: Int, compute: (() -> Void) -> Void) {
        let teachers = tasks.map(\.teacher)  // once per round, not per update
        guard updates > 0, buffers.allSatisfy({ $0.count >= min(config.batchSize, config.steps / tasks.count) && $0.count > 0 }) else { return }
        compute {
            let withTransitions = config.taskWeight > 0
            for _ in 0..<updates {
                var batches: [(TransitionBatch, Tensor, Tensor?)] = []
                for k in buffers.indices {
                    buffers[k].sample(config.batchSize, rng: &state.rng, transitions: withTransitions, into: &minibatches[k])
                    batches.append((minibatches[k].transitions, minibatches[k].teacherQ,
                                    buffers[k].hiddenWidth > 0 ? minibatches[k].teacherHidden : nil))
                }
                lastLosses = learner.update(batches, teachers: teachers, distillationScale: config.distillationScale(step: state.step))
            }
        }
    }


    /// Evaluates every task on its own evaluation environment (the argument is not used); the
    /// result's returns are the tasks' normalised returns, so its mean is what the run keeps.
    public mutating func evaluate(on _: any Environment) throws -> EvaluationResult {
        var results: [EvaluationResult] = []
        for k in tasks.indices {
            results.append(try Runs.evaluate(Policy(learner.student.network(task: k)), env: evalEnvs[k],
                                             episodes: config.evalEpisodes, seed: config.evalSeed))
        }
        lastEvaluations = results
        let score = EvaluationResult(returns: tasks.indices.map { normalized(results[$0].mean, task: $0) },
                                     lengths: results.map { $0.lengths.reduce(0, +) / max($0.lengths.count, 1) })
        if state.bestMeanReturn.map({ score.mean > $0 }) ?? true { keptEvaluations = results }
        return score
    }

    /// (return − random) / (teacher − random) of task `k`.
    public func normalized(_ mean: Double, task k: Int) -> Double {
        EvaluationResult.normalizedReturn(mean, reference: teacherReturns[k], random: randomReturns[k])
    }

    public var evaluationColumns: [String] { tasks.flatMap { ["eval_return_\($0.name)", "eval_normalized_\($0.name)"] } }

    public var evaluationValues: [String: Double] {
        var values: [String: Double] = [:]
        for (k, r) in lastEvaluations.enumerated() {
            values["eval_return_\(tasks[k].name)"] = r.mean
            values["eval_normalized_\(tasks[k].name)"] = normalized(r.mean, task: k)
        }
        return values
    }

    public func saveModel(in directory: RunDirectory, environment: EnvironmentRecipe, metrics: [String: JSONValue]) throws {
        let evaluated = keptEvaluations.count == tasks.count
        let records = tasks.enumerated().map { k, task in
            var m: [String: JSONValue] = ["teacher_mean_return": .number(teacherReturns[k]), "random_mean_return": .number(randomReturns[k])]
            if evaluated {
                m.merge(RunDirectory.metrics(keptEvaluations[k], step: state.step)) { a, _ in a }
                m["normalized_return"] = .number(normalized(keptEvaluations[k].mean, task: k))
            }
            return MultiTaskDirectory.TaskRecord(name: task.name, environment: task.environment.name,
                                                 environmentArguments: task.environment.argumentTexts,
                                                 environmentWrappers: task.environment.manifestWrappers, metrics: m)
        }
        var overall: [String: JSONValue] = ["step": metrics["step"] ?? .number(Double(state.step))]
        if evaluated {
            let scores = tasks.indices.map { normalized(keptEvaluations[$0].mean, task: $0) }
            overall["mean_normalized_return"] = .number(scores.reduce(0, +) / Double(scores.count))
            overall["min_normalized_return"] = .number(scores.min() ?? 0)
            overall["eval_episodes"] = .number(Double(config.evalEpisodes))
        }
        try MultiTaskDirectory.save(learner.student, tasks: records, config: manifestConfig(), metrics: overall, in: directory.url)
    }

    public func checkFinite(what: String) throws {
        for k in tasks.indices { try NonFinite.check(learner.student.network(task: k), what: "task \(tasks[k].name)'s \(what)") }
    }

    public func checkpointTensors() -> [String: Tensor] {
        learner.checkpointTensors
    }

    public func manifestConfig() -> [String: JSONValue] {
        var cfg = JSONValue.object(encoding: config)
        cfg["kind"] = .string("multitask_student")
        cfg["losses"] = .array(config.activeLosses.map { .string($0) })
        cfg["teachers"] = .array(tasks.flatMap { task in task.teacher.paths.map { .string("\(task.name)=\($0)") } })
        return cfg
    }

    /// Each task's result at the kept (best) evaluation.
    public var outcomes: [TaskOutcome] {
        tasks.enumerated().map { k, task in
            let kept = keptEvaluations.count == tasks.count ? keptEvaluations[k] : nil
            return TaskOutcome(name: task.name, studentReturn: kept, teacherReturn: teacherReturns[k], randomReturn: randomReturns[k],
                               normalizedReturn: kept.map { normalized($0.mean, task: k) },
                               parameters: learner.student.network(task: k).parameterCount,
                               teacherParameters: task.teacher.networks.reduce(0) { $0 + $1.parameterCount })
        }
    }
}
