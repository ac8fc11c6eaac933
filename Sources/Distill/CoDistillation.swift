import Checkpoint
import DQN
import Environments
import Foundation
import NN
import Runs
import Tensor

/// Online co-distillation: a DQN teacher learns as it would alone while a student, in the same
/// loop, distils the teacher's *current* Q-values on batches from the teacher's replay (one
/// student step per teacher gradient step, times `updates_per_step`). The student draws from
/// its own random stream, so the teacher's run is exactly the run it would have had alone.
/// The run's model is the student; the teacher's best evaluated network is kept in `teacher/`.
public struct CoDistillationAlgorithm: RunAlgorithm {
    /// The student's settings (`teachers` names `teacher/`; `steps` equals the teacher's).
    public let config: DistillConfig
    public private(set) var teacher: DQNAlgorithm
    public private(set) var learner: StudentLearner
    public var state: DistillState
    let evalEnvForTeacher: (any Environment)?
    let teacherDirectory: URL?
    public private(set) var teacherBest: EvaluationResult?
    var lastTeacherEvaluation: EvaluationResult?
    var lastLosses: LossParts = [:]
    /// Folder of the run directory holding the co-trained teacher.
    public static let teacherFolder = "teacher"

    /// `env` is the teacher's environment; `teacherEvalEnv` evaluates the teacher (nil: never);
    /// `directory` is the run directory whose `teacher/` keeps the teacher's best network.
    public init(teacherConfig: DQNConfig, studentConfig: DistillConfig, env: any Environment,
                teacherEvalEnv: (any Environment)?, directory: URL?) throws {
        try teacherConfig.validate()
        var student = studentConfig
        student.steps = teacherConfig.totalSteps
        student.regime = .teacher
        if student.teachers.isEmpty { student.teachers = [directory?.appendingPathComponent(Self.teacherFolder).path ?? Self.teacherFolder] }
        try student.validate()
        teacher = try DQNAlgorithm(config: teacherConfig, env: env)
        try DQNAlgorithm.checkConvolutions(student.convolutions, spec: env.spec)
        let net = student.convolutions.isEmpty
            ? MLP(inputSize: env.spec.observationSize, hiddenSizes: student.hiddenSizes, outputSize: env.spec.actionCount,
                  activation: student.activation, seed: UInt64(student.seed) &+ 1)
            : MLP(observationShape: env.spec.observationShape, convolutions: student.convolutions, hiddenSizes: student.hiddenSizes,
                  outputSize: env.spec.actionCount, activation: student.activation, seed: UInt64(student.seed) &+ 1)
        learner = StudentLearner(student: net, teacher: TeacherEnsemble(networks: [teacher.policy]), config: student)
        state = DistillState(rng: SeededGenerator(seed: UInt64(student.seed) &+ 0x5eed))
        config = student
        evalEnvForTeacher = teacherEvalEnv
        teacherDirectory = directory?.appendingPathComponent(Self.teacherFolder)
    }

    public var totalSteps: Int { teacher.totalSteps }
    public var schedule: RunSchedule {
        RunSchedule(evalInterval: config.evalInterval, evalEpisodes: config.evalEpisodes, evalSeed: config.evalSeed,
                    checkpointInterval: 0)
    }
    public var policy: MLP { learner.student }
    public var gradientSteps: Int { learner.gradientSteps }
    public static var metricColumns: [String] { ["teacher_gradient_steps", "teacher_loss"] + DistillationAlgorithm.metricColumns }
    public static let progressRowKind: String? = "train"

    public var progressValues: [String: Double] {
        var values = teacher.progressValues
        values["teacher_loss"] = values.removeValue(forKey: "loss")
        values["teacher_gradient_steps"] = Double(teacher.gradientSteps)
        for (k, v) in lastLosses { values[k] = Double(v) }
        return values
    }

    public mutating func advance(compute: (() -> Void) -> Void, report: (RunEvent) -> Void) throws {
        let before = teacher.gradientSteps
        try teacher.advance(compute: compute, report: report)
        state.step = teacher.state.step
        let updates = (teacher.gradientSteps - before) * config.updatesPerStep
        guard updates > 0 else { return }
        let labeller = TeacherEnsemble(networks: [teacher.policy])
        let replay = teacher.replay
        compute {
            for _ in 0..<updates {
                let batch = replay.batch(replay.sampleIndices(config.batchSize, rng: &state.rng))
                lastLosses = learner.update(batch, teacherQ: labeller.qValues(batch.observations), teacher: labeller,
                                            distillationScale: config.distillationScale(step: state.step))
            }
        }
        state.labels += updates * config.batchSize
        try checkFiniteLosses(lastLosses, gradientSteps: learner.gradientSteps, learningRate: config.learningRate)
    }

    /// Evaluates the student (the run keeps it by this) and the teacher, saving the teacher's best in `teacher/`.
    public mutating func evaluate(on env: any Environment) throws -> EvaluationResult {
        let result = try Runs.evaluate(Policy(learner.student), env: env, episodes: config.evalEpisodes, seed: config.evalSeed)
        if let evalEnvForTeacher {
            let t = try Runs.evaluate(Policy(teacher.policy), env: evalEnvForTeacher, episodes: config.evalEpisodes, seed: config.evalSeed)
            lastTeacherEvaluation = t
            if teacherBest.map({ t.mean > $0.mean }) ?? true {
                teacherBest = t
                try saveTeacher(metrics: RunDirectory.metrics(t, step: state.step))
            }
        }
        return result
    }

    public var evaluationColumns: [String] { ["teacher_eval_mean", "teacher_eval_std"] }
    public var evaluationValues: [String: Double] {
        lastTeacherEvaluation.map { ["teacher_eval_mean": $0.mean, "teacher_eval_std": $0.std] } ?? [:]
    }

    func saveTeacher(metrics: [String: JSONValue]) throws {
        guard let teacherDirectory else { return }
        try NonFinite.check(teacher.policy, what: "co-trained teacher at step \(state.step)")
        var cfg = JSONValue.object(encoding: teacher.config)
        cfg["kind"] = .string("teacher")
        try ModelDirectory.save(teacher.policy, to: teacherDirectory, environment: recordedEnvironment?.name,
                                environmentArguments: recordedEnvironment?.argumentTexts ?? [:],
                                environmentWrappers: recordedEnvironment?.manifestWrappers ?? [], config: cfg, metrics: metrics,
                                replacing: .wholeDirectory)
    }

    /// The environment written into the teacher's manifest (set by the run).
    public var recordedEnvironment: EnvironmentRecipe?

    public func checkpointTensors() -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (k, v) in teacher.checkpointTensors() { tensors["teacher.\(k)"] = v }
        return tensors
    }

    public func manifestConfig() -> [String: JSONValue] {
        var cfg = JSONValue.object(encoding: config)
        cfg["kind"] = .string("student")
        cfg["losses"] = .array(config.activeLosses.map { .string($0) })
        cfg["co_distilled"] = .bool(true)
        cfg["teacher_config"] = .object(JSONValue.object(encoding: teacher.config))
        return cfg
    }

    /// Saves the teacher when it was never evaluated (no evaluation environment).
    public mutating func finish(compute: (() -> Void) -> Void) throws {
        if teacherBest == nil { try saveTeacher(metrics: ["step": .number(Double(state.step))]) }
    }
}

/// A co-distillation written to a run directory (see `CoDistillationAlgorithm`).
public struct CoDistillationRun {
    public let directory: RunDirectory
    public var hooks = RunHooks()

    public init(directory: URL) { self.directory = RunDirectory(directory) }

    /// Trains teacher and student together on `environment`; returns the student's outcome and the teacher's best evaluation.
    public func start(teacherConfig: DQNConfig, studentConfig: DistillConfig, environment: EnvironmentRecipe, force: Bool,
                      makeEnv: () throws -> any Environment) throws -> (student: DistillOutcome, teacherBest: EvaluationResult?) {
        let env = try makeEnv()
        let evaluates = studentConfig.evalInterval > 0
        let studentEval = try makeEnv()
        var algorithm = try CoDistillationAlgorithm(teacherConfig: teacherConfig, studentConfig: studentConfig, env: env,
                                                    teacherEvalEnv: evaluates ? try makeEnv() : nil, directory: directory.url)
        algorithm.recordedEnvironment = environment
        try directory.prepareNew(force: force)
        let result = try RunLoop(directory: directory, environment: environment, hooks: hooks).run(&algorithm, evalEnv: studentEval)
        let outcome = DistillOutcome(student: algorithm.learner.student, labels: algorithm.state.labels,
                                     gradientSteps: algorithm.learner.gradientSteps, bestEvaluation: result.bestEvaluation,
                                     interrupted: result.interrupted, elapsed: result.sessionSeconds)
        return (outcome, algorithm.teacherBest)
    }
}
