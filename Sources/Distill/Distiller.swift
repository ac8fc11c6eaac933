import Checkpoint
import DQN
import Environments
import Foundation
import NN
import Quantization
import Robustness
import Runs
import Settings
import Tensor

/// Where a distillation is; saved with its checkpoints.
public struct DistillState: RunState, Equatable {
    public var step = 0
    /// Teacher-labelled states collected.
    public var labels = 0
    /// Student updates so far (also its optimisers' step count).
    public var gradientSteps = 0
    /// Episodes of the collecting environment finished (a resumed run reseeds it with seed + episodes).
    public var episodes = 0
    /// A multi-task distillation's episodes per task (empty for one task).
    public var taskEpisodes: [Int] = []
    public var rng: SeededGenerator
    public var bestMeanReturn: Double?
    public var elapsedSeconds = 0.0

    public init(rng: SeededGenerator) { self.rng = rng }
    public static let resumeCommand = "distill distill"
}

/// The distillation step, run by the shared `RunLoop`: each `advance` collects one state under
/// the data regime (the teacher, the student or a mix acts; or the next offline observation),
/// has the teacher label it once, and trains the student on the collected states.
public struct DistillationAlgorithm: RunAlgorithm {
    public let config: DistillConfig
    public let teacher: TeacherEnsemble
    public var state: DistillState
    public private(set) var learner: StudentLearner
    var collector: StateCollector?
    let offline: Tensor?
    var buffer: DistillationBuffer
    /// The minibatch of the current gradient step (its storage reused from step to step).
    var minibatch = LabelledBatch()
    var lastLosses: LossParts = [:]
    var lastShare: Float = 0
    public let totalSteps: Int

    /// `env` collects states (not used offline); `offline` holds the offline regime's observations.
    /// `resume` continues from a checkpoint: the student, its optimisers and the losses' state
    /// are restored, the state (step, labels, random state) is taken as saved, the labelled
    /// buffer starts empty and refills, and the environment restarts an episode.
    public init(config: DistillConfig, teacher: TeacherEnsemble, env: (any Environment)?, offline: Tensor?,
                resume: (checkpoint: CheckpointReader, state: DistillState)? = nil) throws {
        self.config = config
        self.teacher = teacher
        self.offline = offline
        try MemoryCheck.require(MemoryCheck.bytes([config.bufferSize, 2 * teacher.inputSize + 4 + teacher.actionCount, 4]),
                                for: "the labelled-state buffer", key: "buffer_size", value: config.bufferSize)
        if teacher.head != .q && config.taskWeight > 0 {
            throw SettingError(key: "task_weight", template: "the task loss ({task_weight}) trains Q-values by TD, and this teacher outputs \(teacher.head.phrase); distil it with \(DistillationLosses.outputLosses(for: teacher.head)) (and feature or relational losses) alone.")
        }
        if let refused = config.losses.map(\.kind).first(where: { DistillationLosses.type($0, for: teacher.head) == nil }) {
            throw SettingError(key: "loss", template: "{loss} \(refused.rawValue) does not apply to a teacher that outputs \(teacher.head.phrase); distil it with \(DistillationLosses.outputLosses(for: teacher.head)).")
        }
        if teacher.head == .gaussian, config.losses.contains(where: { $0.kind == .kl }), teacher.networks[0].actionLogStd.isEmpty {
            throw SettingError(key: "loss", template: "{loss} kl between Gaussian policies needs the teacher's log standard deviation (action_log_std in its model.json), which this teacher lacks; convert it again with `distill import-sb3` or sd.from_sb3, or distil it with q-mse.")
        }
        var student: MLP
        if config.convolutions.isEmpty {
            student = MLP(inputSize: teacher.inputSize, hiddenSizes: config.hiddenSizes, outputSize: teacher.actionCount,
                          activation: config.activation, seed: UInt64(config.seed) &+ 1)
        } else {
            // The image shape (in the observations' own layout): the teacher's (a conv teacher), else the environment's.
            let shape = teacher.networks[0].inputShape.isEmpty ? (env?.spec.observationShape ?? []) : teacher.networks[0].observationShape
            guard shape.count == 3 else {
                throw DistillError.sizeMismatch("A convolutional student (--conv) needs the observations' (height, width, channels) shape: a convolutional teacher or an environment with image observations; these are flat vectors of \(teacher.inputSize).")
            }
            try DQNAlgorithm.checkConvolutions(config.convolutions, shape: shape, name: env?.spec.name ?? "the teacher's input",
                                               batchSize: config.batchSize)
            student = MLP(observationShape: shape, convolutions: config.convolutions, hiddenSizes: config.hiddenSizes,
                          outputSize: teacher.actionCount, activation: config.activation, seed: UInt64(config.seed) &+ 1)
        }
        // The student imitates the teacher's outputs, so they mean what the teacher's mean.
        student.head = teacher.head
        (student.actionLow, student.actionHigh) = (teacher.networks[0].actionLow, teacher.networks[0].actionHigh)
        student.actionLogStd = teacher.networks[0].actionLogStd
        if let resume {
            learner = try StudentLearner(restoring: resume.checkpoint, gradientSteps: resume.state.gradientSteps, student: student,
                                         teacher: teacher, config: config)
            state = resume.state
        } else {
            learner = StudentLearner(student: student, teacher: teacher, config: config)
            state = DistillState(rng: SeededGenerator(seed: UInt64(config.seed)))
        }
        buffer = DistillationBuffer(capacity: config.bufferSize, observationSize: teacher.inputSize, actionCount: teacher.actionCount,
                                    hiddenWidth: teacher.hiddenWidth(layers: config.storedTeacherLayers(teacher)),
                                    // Noisy observations (collect_perturbation observation_noise) are not bytes any more.
                                    byteScale: env.flatMap { $0.spec.observationsAreBytes && !config.collectsNoisyObservations
                                        ? $0.spec.observationScale : nil },
                                    frames: env.map { DQNAlgorithm.framesPerObservation($0.spec.observationShape) } ?? 1,
                                    lookahead: config.nStep)
        totalSteps = offline.map { min(config.steps, $0.rowCount) } ?? config.steps
        if offline == nil {
            guard let env else {
                throw DistillError.sizeMismatch("The \(config.regime.rawValue) regime needs an environment to collect states from.")
            }
            // DAgger under perturbation: the collector steps through a perturbed environment.
            let collectEnv = try Self.perturbed(env, config: config, teacher: teacher)
            collector = try StateCollector(env: collectEnv, config: config, seed: config.seed, episodes: state.episodes)
        }
    }

    /// `env` as robust distillation meets it (`collect_perturbation`): observation noise and
    /// slipping actions wrapped around it — dynamics levels are already in `env`, which
    /// DistillationRun opens as a VaryingEnvironment — or `env` itself without them. Collection
    /// steps through it, and so do the evaluations that pick the run's model, so a robust
    /// student is kept for its return where it is meant to act (on CartPole the clean return
    /// saturates at 500, and the first student to reach it would be kept).
    static func perturbed(_ env: any Environment, config: DistillConfig, teacher: TeacherEnsemble) throws -> any Environment {
        var noise: [Float] = [], actionNoise = 0.0, sticky = false
        for p in config.collectPerturbations ?? [] {
            switch p {
            case .observationNoise(let level):
                // Spreads measured on the teacher's own states (ε = 0.1), seeded: a resumed run measures the same.
                let label = { (obs: [Float]) in teacher.qValues(obs)[...] }
                let acting: Acting = teacher.head.isContinuous ? .continuous { teacher.continuousAction(fromLabel: label($0)) }
                                                               : .discrete { StateCollector.argmax(label($0)) }
                let spread = try observationSpread(env, states: 2_000, seed: config.seed &+ 50_000, acting: acting)
                noise = spread.map { $0 * Float(level) }
            case .randomActions(let level): actionNoise = level
            case .stickyActions(let level): (actionNoise, sticky) = (level, true)
            case .dynamics: break
            }
        }
        guard !noise.isEmpty || actionNoise > 0 else { return env }
        return PerturbedEnvironment(env, observationNoise: noise, actionNoise: actionNoise, sticky: sticky)
    }

    public var schedule: RunSchedule {
        RunSchedule(evalInterval: config.evalInterval, evalEpisodes: config.evalEpisodes, evalSeed: config.evalSeed,
                    checkpointInterval: config.checkpointInterval)
    }
    public var policy: MLP { learner.student }
    public var gradientSteps: Int { learner.gradientSteps }
    public static let metricColumns = ["labels", "gradient_steps"] + LossKind.allCases.map(\.metricName)
    public static let progressRowKind: String? = "train"

    public var progressValues: [String: Double] {
        distillationProgress(labels: state.labels, teacherShare: lastShare, losses: lastLosses)
    }

    public mutating func advance(compute: (() -> Void) -> Void, report: (RunEvent) -> Void) throws {
        let step = state.step + 1
        let d = teacher.inputSize
        lastShare = 0
        if let offline {
            let row = Array(offline.scalars[((step - 1) * d)..<(step * d)])
            if let bad = row.first(where: { !$0.isFinite }) {
                throw RunError.nonFinite("The offline observations hold a non-finite value (\(bad)) in row \(step - 1); clean the file.")
            }
            let label = teacher.label(row, layers: learner.storedLayers)
            buffer.add(Transition(observation: row, action: 0, reward: 0, nextObservation: row, terminated: true, discount: 0), label: label)
        } else if collector != nil {
            lastShare = config.teacherShare(atStep: step)
            try collector!.collect(teacher: teacher, layers: learner.storedLayers, student: learner.student, teacherShare: lastShare,
                                   epsilon: config.actingEpsilon, rng: &state.rng, into: &buffer)
        }
        state.labels += 1
        state.episodes = collector?.episodes ?? 0
        // Pruning by distillation: the masks follow the schedule in a hundred steps over the run.
        if config.prune > 0, step % max(1, totalSteps / 100) == 0 {
            learner.prune(to: config.pruneTarget(step: step, total: totalSteps))
        }
        train(config.updatesPerStep, compute: compute)
        try checkLosses()
        state.step = step
    }

    public mutating func finish(compute: (() -> Void) -> Void) throws {
        if config.prune > 0 { learner.prune(to: config.prune) }  // the full share, whatever the schedule reached
        train(config.finalUpdates, compute: compute)
        try checkLosses()
    }

    func checkLosses() throws {
        try checkFiniteLosses(lastLosses, gradientSteps: learner.gradientSteps, learningRate: config.learningRate)
    }

    mutating func train(_ updates: Int, compute: (() -> Void) -> Void) {
        guard buffer.count >= min(config.batchSize, totalSteps), updates > 0 else { return }
        compute {
            let withTransitions = config.taskWeight > 0, keepsHidden = buffer.hiddenWidth > 0
            for _ in 0..<updates {
                buffer.sample(config.batchSize, rng: &state.rng, transitions: withTransitions, into: &minibatch)
                lastLosses = learner.update(minibatch.transitions, teacherQ: minibatch.teacherQ,
                                            teacherHidden: keepsHidden ? minibatch.teacherHidden : nil, teacher: teacher,
                                            distillationScale: config.distillationScale(step: state.step))
            }
        }
        state.gradientSteps = learner.gradientSteps
    }

    public func checkpointTensors() -> [String: Tensor] { learner.checkpointTensors }

    /// A quantisation-aware student is scored as it will run: as the int8 network `distill
    /// quantize` makes of it on the ranges it trains with, so the run keeps the best int8
    /// student rather than the best float one (their returns differ most on the runs that
    /// need it). Other students are scored greedily in float.
    public mutating func evaluate(on env: any Environment) throws -> EvaluationResult {
        guard let ranges = learner.quantizerRanges else {
            return try Runs.evaluate(Policy(policy), env: env, episodes: schedule.evalEpisodes, seed: schedule.evalSeed)
        }
        let int8 = try Int8Quantizer.quantize(policy, calibration: .empty, ranges: ranges)
        try checkFits(inputs: int8.inputSize, actions: int8.outputSize, continuous: int8.head.isContinuous, env)
        return try Runs.evaluate(env, episodes: schedule.evalEpisodes, seed: schedule.evalSeed, acting: int8.acting)
    }

    /// A pruned student becomes the run's model only once its masks reached the full share: from
    /// the first mask update after `prune_end`, and after the last step (when `finish` prunes fully).
    public var evaluationMayBeBest: Bool {
        guard config.prune > 0 else { return true }
        let interval = max(1, totalSteps / 100)
        return state.step >= totalSteps || state.step >= Int((config.pruneEnd * Float(totalSteps)).rounded(.up)) + interval
    }

    /// The configuration, marked as a student's, with the losses in use by name.
    public func manifestConfig() -> [String: JSONValue] {
        var cfg = JSONValue.object(encoding: config)
        cfg["kind"] = .string("student")
        cfg["losses"] = .array(config.activeLosses.map { .string($0) })
        if config.prune > 0 { cfg["sparsity"] = .number(Double(learner.sparsity)) }
        if let ranges = learner.quantizerRanges { cfg["quantizer_ranges"] = .array(ranges.map { .number(Double($0)) }) }
        if config.prune > 0 && config.pruneUnits { cfg["removed_units"] = .array(learner.removedUnits.map { .number(Double($0)) }) }
        if let spec = collector?.env.spec { cfg.merge(ObservationLayout.manifestEntries(spec)) { _, new in new } }
        return cfg
    }

}

/// How a distillation ended.
public struct DistillOutcome: Sendable {
    public var student: MLP
    public var labels: Int
    public var gradientSteps: Int
    public var bestEvaluation: EvaluationResult?
    public var interrupted: Bool
    /// Seconds of this session.
    public var elapsed: Double
    /// With several generations: each generation's best evaluated mean return, in order.
    public var generations: [Double?] = []
    /// A multi-task student's tasks, at its best evaluation (empty for one task).
    public var tasks: [TaskOutcome] = []

    init(student: MLP, labels: Int, gradientSteps: Int, bestEvaluation: EvaluationResult?, interrupted: Bool, elapsed: Double) {
        self.student = student
        self.labels = labels
        self.gradientSteps = gradientSteps
        self.bestEvaluation = bestEvaluation
        self.interrupted = interrupted
        self.elapsed = elapsed
    }

    init(_ algorithm: DistillationAlgorithm, _ result: RunResult) {
        student = algorithm.learner.student
        labels = algorithm.state.labels
        gradientSteps = algorithm.learner.gradientSteps
        bestEvaluation = result.bestEvaluation
        interrupted = result.interrupted
        elapsed = result.sessionSeconds
    }

    init(_ algorithm: MultiTaskDistillationAlgorithm, _ result: RunResult) {
        student = algorithm.policy
        labels = algorithm.state.labels
        gradientSteps = algorithm.learner.gradientSteps
        bestEvaluation = result.bestEvaluation
        interrupted = result.interrupted
        elapsed = result.sessionSeconds
        tasks = algorithm.outcomes
    }
}

/// Knowledge distillation of a DQN teacher (or ensemble) into a smaller student, in memory
/// (nothing written): checks that the student can match the teacher, then runs the loop.
public struct Distiller {
    public let config: DistillConfig
    public let teacher: TeacherEnsemble

    /// Checks that the feature layers exist in student and teacher.
    public init(config: DistillConfig, teacher: TeacherEnsemble) throws {
        if config.featureWeight > 0, let ls = config.featureStudentLayer, let lt = config.featureTeacherLayer {
            guard ls >= 0 && ls < config.hiddenSizes.count else {
                throw DistillError.noSuchLayer("The student has no hidden layer \(ls): its hidden layers are 0..<\(config.hiddenSizes.count) (sizes \(config.hiddenSizes)).")
            }
            for net in teacher.networks {
                let teacherHidden = net.hiddenSizes
                guard lt >= 0 && lt < teacherHidden.count else {
                    throw DistillError.noSuchLayer("The teacher has no hidden layer \(lt): its hidden layers are 0..<\(teacherHidden.count) (sizes \(teacherHidden)).")
                }
            }
        }
        if config.relationalWeight > 0 && (config.hiddenSizes.isEmpty || teacher.networks.contains { $0.hiddenSizes.isEmpty }) {
            throw DistillError.noSuchLayer("The relational loss compares the last hidden layers, but the \(config.hiddenSizes.isEmpty ? "student" : "teacher") has none.")
        }
        if config.flowWeight > 0 {
            for net in teacher.networks where net.hiddenSizes.count != config.hiddenSizes.count || config.hiddenSizes.isEmpty {
                throw DistillError.noSuchLayer("The flow loss pairs the student's layers with the teacher's one by one, but the student has \(config.hiddenSizes.count) hidden layer\(config.hiddenSizes.count == 1 ? "" : "s") and the teacher \(net.hiddenSizes.count); give the student \(net.hiddenSizes.count) (e.g. --hidden \(net.hiddenSizes.map { _ in "16" }.joined(separator: ",")))." )
            }
        }
        self.config = config
        self.teacher = teacher
    }

    /// Checks an environment against the teacher.
    public func check(_ env: any Environment) throws {
        guard env.spec.observationSize == teacher.inputSize, env.spec.actionCount == teacher.actionCount else {
            throw DistillError.sizeMismatch("The environment \(env.spec.name) has \(env.spec.observationSize) observation values and \(env.spec.actionCount) actions, but the teacher takes \(teacher.inputSize) and gives \(teacher.actionCount); distil on the teacher's environment.")
        }
    }

    /// Runs distillation. `env` collects data (not used offline); `evalEnv` evaluates the student;
    /// `resume` continues a checkpoint (see `DistillationAlgorithm.init`).
    public func run(env: (any Environment)?, evalEnv: (any Environment)?, offline: Tensor? = nil,
                    hooks: RunHooks = RunHooks(), directory: RunDirectory? = nil, environment: EnvironmentRecipe? = nil,
                    resume: (checkpoint: CheckpointReader, state: DistillState)? = nil,
                    beforeStart: () throws -> Void = {}) throws -> DistillOutcome {
        try config.validate()
        if let env { try check(env) }
        if let evalEnv { try check(evalEnv) }
        var algorithm = try DistillationAlgorithm(config: config, teacher: teacher, env: offline == nil ? env : nil, offline: offline,
                                                  resume: resume)
        let name = environment ?? EnvironmentRecipe(name: env?.spec.name ?? evalEnv?.spec.name ?? "unknown")
        // A robust student is evaluated under the perturbations it is distilled for.
        let evaluation = try evalEnv.map { offline == nil ? try DistillationAlgorithm.perturbed($0, config: config, teacher: teacher) : $0 }
        try beforeStart()
        let result = try RunLoop(directory: directory, environment: name, hooks: hooks).run(&algorithm, evalEnv: evaluation)
        return DistillOutcome(algorithm, result)
    }
}

extension ModelManifest {
    /// The layer-input ranges a quantisation-aware distillation trained with (`quantizer_ranges`
    /// in its config): the scales `distill quantize` keeps for it.
    public var quantizerRanges: [Float]? {
        guard case .array(let values)? = config["quantizer_ranges"] else { return nil }
        let ranges = values.compactMap { v -> Float? in if case .number(let x) = v { return Float(x) } else { return nil } }
        return ranges.count == values.count && !ranges.isEmpty ? ranges : nil
    }
}
