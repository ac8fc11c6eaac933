import Checkpoint
import DQN
import Environments
import Foundation
import NN
import Runs
import Settings
import Tensor

/// Where a co-distillation is: the student's counters and random stream, and the teacher's own
/// state and settings (saved with checkpoints so `--resume` can continue both).
public struct CoDistillationState: RunState, Equatable {
    public var step = 0
    public var bestMeanReturn: Double?
    public var elapsedSeconds = 0.0
    /// Labelled states the student has trained on (batch size × gradient steps).
    public var labels = 0
    /// Student updates so far (also its optimisers' step count).
    public var gradientSteps = 0
    /// The student's random stream (the teacher draws from its own).
    public var rng: SeededGenerator
    public var teacher: TrainingState
    public var teacherConfig: DQNConfig
    /// The teacher's best evaluated mean return (its network is in `teacher/`).
    public var teacherBestMeanReturn: Double?

    public init(rng: SeededGenerator, teacher: TrainingState, teacherConfig: DQNConfig) {
        self.rng = rng
        self.teacher = teacher
        self.teacherConfig = teacherConfig
    }

    public static let resumeCommand = "distill codistill"
}

/// A co-distillation checkpoint read back from a run directory's last/.
public typealias CoDistillationCheckpoint = Checkpoint<DistillConfig, CoDistillationState>

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
    public var state: CoDistillationState
    let evalEnvForTeacher: (any Environment)?
    let teacherDirectory: URL?
    public private(set) var teacherBest: EvaluationResult?
    var lastTeacherEvaluation: EvaluationResult?
    var lastLosses: LossParts = [:]
    /// Folder of the run directory holding the co-trained teacher.
    public static let teacherFolder = RunDirectory.coTrainedTeacherFolder

    /// `env` is the teacher's environment; `teacherEvalEnv` evaluates the teacher (nil: never);
    /// `directory` is the run directory whose `teacher/` keeps the teacher's best network.
    /// `resume` continues a checkpoint: the teacher as a resumed DQN run (its replay refills),
    /// the student, its optimiser and losses as saved.
    public init(teacherConfig: DQNConfig, studentConfig: DistillConfig, env: any Environment,
                teacherEvalEnv: (any Environment)?, directory: URL?,
                resume: (checkpoint: CheckpointReader, state: CoDistillationState)? = nil) throws {
        try teacherConfig.validate()
        guard teacherConfig.environmentCount == 1 else {
            throw SettingError(key: "environment_count", template: "co-distillation trains its teacher on one environment; drop {environment_count} (or train the teacher with it, then distil).")
        }
        guard studentConfig.quantize == .none else {
            throw RunError.invalidSetting("co-distillation trains its student in float; distil it again from the co-trained teacher with --quantize int8.")
        }
        guard studentConfig.prune == 0 else {
            throw RunError.invalidSetting("co-distillation keeps its student dense; prune it afterwards by distilling it from the co-trained teacher with --prune.")
        }
        guard studentConfig.collectPerturbation == nil else {
            throw RunError.invalidSetting("co-distillation labels the states its teacher's own training visits, so --student-collect-perturbation has no collection to perturb; distil again from the co-trained teacher with --collect-perturbation.")
        }
        var student = studentConfig
        student.steps = teacherConfig.totalSteps
        student.regime = .teacher
        if student.teachers.isEmpty { student.teachers = [directory?.appendingPathComponent(Self.teacherFolder).path ?? Self.teacherFolder] }
        try student.validate()
        if let resume {
            let saved = resume.state
            let learner = try DQNLearner(restoring: resume.checkpoint.prefixed("teacher"), observationShape: env.spec.observationShape,
                                         actionCount: env.spec.actionCount, adamSteps: saved.teacher.adamSteps,
                                         savedConfig: saved.teacherConfig, config: teacherConfig)
            teacher = try DQNAlgorithm(config: teacherConfig, env: env, resume: (learner, saved.teacher))
        } else {
            teacher = try DQNAlgorithm(config: teacherConfig, env: env)
        }
        try DQNAlgorithm.checkConvolutions(student.convolutions, spec: env.spec)
        let net = student.convolutions.isEmpty
            ? MLP(inputSize: env.spec.observationSize, hiddenSizes: student.hiddenSizes, outputSize: env.spec.actionCount,
                  activation: student.activation, seed: UInt64(student.seed) &+ 1)
            : MLP(observationShape: env.spec.observationShape, convolutions: student.convolutions, hiddenSizes: student.hiddenSizes,
                  outputSize: env.spec.actionCount, activation: student.activation, seed: UInt64(student.seed) &+ 1)
        let labeller = TeacherEnsemble(networks: [teacher.policy])
        if let resume {
            learner = try StudentLearner(restoring: resume.checkpoint, gradientSteps: resume.state.gradientSteps, student: net,
                                         teacher: labeller, config: student)
            state = resume.state
            state.teacherConfig = teacherConfig
        } else {
            learner = StudentLearner(student: net, teacher: labeller, config: student)
            state = CoDistillationState(rng: SeededGenerator(seed: UInt64(student.seed) &+ 0x5eed), teacher: teacher.state,
                                        teacherConfig: teacherConfig)
        }
        config = student
        evalEnvForTeacher = teacherEvalEnv
        teacherDirectory = directory?.appendingPathComponent(Self.teacherFolder)
    }

    public var totalSteps: Int { teacher.totalSteps }
    public var schedule: RunSchedule {
        RunSchedule(evalInterval: config.evalInterval, evalEpisodes: config.evalEpisodes, evalSeed: config.evalSeed,
                    checkpointInterval: teacher.config.checkpointInterval)
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
        state.teacher = teacher.state
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
        state.gradientSteps = learner.gradientSteps
        try checkFiniteLosses(lastLosses, gradientSteps: learner.gradientSteps, learningRate: config.learningRate)
    }

    /// Evaluates the student (the run keeps it by this) and the teacher, saving the teacher's best in `teacher/`.
    public mutating func evaluate(on env: any Environment) throws -> EvaluationResult {
        let result = try Runs.evaluate(Policy(learner.student), env: env, episodes: config.evalEpisodes, seed: config.evalSeed)
        if let evalEnvForTeacher {
            let t = try Runs.evaluate(Policy(teacher.policy), env: evalEnvForTeacher, episodes: config.evalEpisodes, seed: config.evalSeed)
            lastTeacherEvaluation = t
            if state.teacherBestMeanReturn.map({ t.mean > $0 }) ?? true {
                teacherBest = t
                state.teacherBestMeanReturn = t.mean
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

    /// The teacher's tensors under `teacher.` (as a DQN run saves them), and the student's.
    public func checkpointTensors() -> [String: Tensor] {
        var tensors = learner.checkpointTensors
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
        if state.teacherBestMeanReturn == nil { try saveTeacher(metrics: ["step": .number(Double(state.step))]) }
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
        return try run(&algorithm, environment: environment, evalEnv: studentEval)
    }

    /// Reads last/.
    public func loadCheckpoint() throws -> CoDistillationCheckpoint {
        try directory.loadCheckpoint(DistillConfig.self, CoDistillationState.self)
    }

    /// Continues the co-distillation checkpointed in last/ (or `checkpoint`, already read) on its recorded environment (opened by
    /// `makeEnv`): the teacher as `distill train --resume` continues a run (its replay refills),
    /// the student as `distill distill --resume` does. `teacherChanges` and `studentChanges`
    /// may change each one's resumable settings (the teacher's `total_steps` sets the run's
    /// length); others are refused with a `SettingError`.
    public func resume(from checkpoint: CoDistillationCheckpoint? = nil, teacherChanges: [(String, SettingValue)] = [],
                       studentChanges: [(String, SettingValue)] = [],
                       makeEnv: (EnvironmentRecipe) throws -> any Environment) throws -> (student: DistillOutcome, teacherBest: EvaluationResult?) {
        let saved = try checkpoint ?? loadCheckpoint()
        let teacherConfig = try saved.state.teacherConfig.resumed(changing: teacherChanges, resumable: TrainingRun.resumableSettings)
        let studentConfig = try saved.config.resumed(changing: studentChanges, resumable: DistillationRun.resumableSettings)
        guard teacherConfig.totalSteps >= saved.state.step else {
            throw RunError.alreadyPast(directory.url.path, step: saved.state.step, requested: teacherConfig.totalSteps)
        }
        let env = try makeEnv(saved.environment), studentEval = try makeEnv(saved.environment)
        let teacherEval = studentConfig.evalInterval > 0 ? try makeEnv(saved.environment) : nil
        var algorithm = try CoDistillationAlgorithm(teacherConfig: teacherConfig, studentConfig: studentConfig, env: env,
                                                    teacherEvalEnv: teacherEval, directory: directory.url,
                                                    resume: (saved.reader, saved.state))
        algorithm.recordedEnvironment = saved.environment
        return try run(&algorithm, environment: saved.environment, evalEnv: studentEval)
    }

    private func run(_ algorithm: inout CoDistillationAlgorithm, environment: EnvironmentRecipe,
                     evalEnv: any Environment) throws -> (student: DistillOutcome, teacherBest: EvaluationResult?) {
        let result = try RunLoop(directory: directory, environment: environment, hooks: hooks).run(&algorithm, evalEnv: evalEnv)
        let outcome = DistillOutcome(student: algorithm.learner.student, labels: algorithm.state.labels,
                                     gradientSteps: algorithm.learner.gradientSteps, bestEvaluation: result.bestEvaluation,
                                     interrupted: result.interrupted, elapsed: result.sessionSeconds)
        return (outcome, algorithm.teacherBest)
    }
}
