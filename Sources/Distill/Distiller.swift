import DQN
import Environments
import Foundation
import NN
import Tensor

/// What the distiller reports while it runs.
public enum DistillEvent: Sendable {
    case progress(DistillProgress)
    case evaluation(step: Int, labels: Int, result: EvaluationResult, isBest: Bool)
}

public struct DistillProgress: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var labels: Int
    public var gradientSteps: Int
    public var losses: LossParts
    /// Probability that the teacher acted at this step.
    public var teacherShare: Float
    public var elapsed: Double
    public var stepsPerSecond: Double { elapsed > 0 ? Double(step) / elapsed : 0 }
}

public struct DistillHooks {
    public var onEvent: (DistillEvent) -> Void = { _ in }
    /// The best student so far by evaluation (or the final one when evaluation is off).
    public var saveStudent: (MLP, EvaluationResult?, Int) throws -> Void = { _, _, _ in }
    /// The student at the moment a stop was requested (Ctrl-C), which may be worse than the best.
    public var saveInterrupted: (MLP, Int) throws -> Void = { _, _ in }
    public var shouldStop: () -> Bool = { false }
    /// Wraps each round of gradient steps, e.g. to release a lock around pure computation.
    public var aroundCompute: (() -> Void) -> Void = { $0() }
    public var progressInterval = 500
    public init() {}
}

public struct DistillOutcome: Sendable {
    public var student: MLP
    public var labels: Int
    public var gradientSteps: Int
    public var bestEvaluation: EvaluationResult?
    public var interrupted: Bool
    public var elapsed: Double
}

/// Knowledge distillation of a DQN teacher (or ensemble) into a smaller student: collects
/// teacher-labelled states under the chosen data regime and trains the student on them.
public struct Distiller {
    public let config: DistillConfig
    public let teacher: TeacherEnsemble

    /// Checks that the student can match the teacher and that the feature layers exist.
    public init(config: DistillConfig, teacher: TeacherEnsemble) throws {
        let teacherHidden = teacher.networks[0].hiddenSizes
        if config.featureWeight > 0, let ls = config.featureStudentLayer, let lt = config.featureTeacherLayer {
            guard ls >= 0 && ls < config.hiddenSizes.count else {
                throw DistillError.noSuchLayer("The student has no hidden layer \(ls): its hidden layers are 0..<\(config.hiddenSizes.count) (sizes \(config.hiddenSizes)).")
            }
            guard lt >= 0 && lt < teacherHidden.count else {
                throw DistillError.noSuchLayer("The teacher has no hidden layer \(lt): its hidden layers are 0..<\(teacherHidden.count) (sizes \(teacherHidden)).")
            }
        }
        self.config = config
        self.teacher = teacher
    }

    /// A fresh student for the teacher's input and action sizes.
    public func makeStudent() -> MLP {
        MLP(inputSize: teacher.inputSize, hiddenSizes: config.hiddenSizes, outputSize: teacher.actionCount,
            activation: config.activation, seed: UInt64(config.seed) &+ 1)
    }

    /// Checks an environment against the teacher.
    public func check(_ env: any Environment) throws {
        guard env.spec.observationSize == teacher.inputSize, env.spec.actionCount == teacher.actionCount else {
            throw DistillError.sizeMismatch("The environment \(env.spec.name) has \(env.spec.observationSize) observation values and \(env.spec.actionCount) actions, but the teacher takes \(teacher.inputSize) and gives \(teacher.actionCount); distil on the teacher's environment.")
        }
    }

    /// Runs distillation. `env` collects data (not used offline); `evalEnv` evaluates the student.
    public func run(env: (any Environment)?, evalEnv: (any Environment)?, offline: Tensor? = nil,
                    hooks: DistillHooks = DistillHooks()) throws -> DistillOutcome {
        if let env { try check(env) }
        if let evalEnv { try check(evalEnv) }
        var learner = StudentLearner(student: makeStudent(), teacher: teacher, config: config)
        var rng = SeededGenerator(seed: UInt64(config.seed))
        let d = teacher.inputSize
        var buffer = DistillationBuffer(capacity: config.bufferSize, observationSize: d, actionCount: teacher.actionCount)
        let totalSteps = offline.map { min(config.steps, $0.rowCount) } ?? config.steps
        let clock = Date()
        var best: EvaluationResult?
        var lastLosses: LossParts = [:]
        var obs: [Float] = []
        if config.regime != .offline {
            guard let env else { throw DistillError.sizeMismatch("The \(config.regime) regime needs an environment to collect states from.") }
            obs = try env.reset(seed: config.seed)
        }

        func evaluateAndSave(step: Int) throws {
            guard let evalEnv else { return }
            let result = try evaluateGreedy(learner.student, env: evalEnv, episodes: config.evalEpisodes, seed: config.evalSeed)
            let isBest = best.map { result.mean > $0.mean } ?? true
            if isBest {
                best = result
                try hooks.saveStudent(learner.student, result, step)
            }
            hooks.onEvent(.evaluation(step: step, labels: buffer.count, result: result, isBest: isBest))
        }
        func train(_ updates: Int) {
            guard buffer.count >= min(config.batchSize, totalSteps), updates > 0 else { return }
            hooks.aroundCompute {
                for _ in 0..<updates {
                    let (batch, q) = buffer.batch(buffer.transitions.sampleIndices(config.batchSize, rng: &rng))
                    lastLosses = learner.update(batch, teacherQ: q, teacher: teacher)
                }
            }
        }
        var labels = 0
        for step in 1...max(totalSteps, 1) where totalSteps > 0 {
            if hooks.shouldStop() {
                try hooks.saveInterrupted(learner.student, step)
                return DistillOutcome(student: learner.student, labels: labels, gradientSteps: learner.gradientSteps,
                                      bestEvaluation: best, interrupted: true, elapsed: Date().timeIntervalSince(clock))
            }
            var share: Float = 0
            if let offline {
                let row = Array(offline.scalars[((step - 1) * d)..<(step * d)])
                let q = teacher.qValues(Tensor(shape: [1, d], scalars: row)).scalars
                buffer.add(Transition(observation: row, action: 0, reward: 0, nextObservation: row, terminated: true, discount: 0), teacherQValues: q)
            } else if let env {
                let q = teacher.qValues(Tensor(shape: [1, d], scalars: obs)).scalars
                share = teacherShare(step)
                let teacherActs = share >= 1 || (share > 0 && rng.nextUnitFloat() < share)
                let action: Int
                if rng.nextUnitFloat() < config.actingEpsilon {
                    action = rng.int(below: teacher.actionCount)
                } else if teacherActs {
                    action = argmax(q)
                } else {
                    action = learner.student(Tensor(shape: [1, d], scalars: obs)).argmaxRows()[0]
                }
                let s = try env.step(action)
                buffer.add(Transition(observation: obs, action: action, reward: Float(s.reward), nextObservation: s.observation,
                                      terminated: s.terminated, discount: config.gamma), teacherQValues: q)
                obs = s.isDone ? try env.reset(seed: nil) : s.observation
            }
            labels += 1
            train(config.updatesPerStep)
            if config.evalInterval > 0 && step % config.evalInterval == 0 && step < totalSteps { try evaluateAndSave(step: step) }
            if step % hooks.progressInterval == 0 || step == totalSteps {
                hooks.onEvent(.progress(DistillProgress(step: step, totalSteps: totalSteps, labels: labels,
                                                        gradientSteps: learner.gradientSteps, losses: lastLosses,
                                                        teacherShare: share, elapsed: Date().timeIntervalSince(clock))))
            }
        }
        train(config.finalUpdates)
        if evalEnv != nil {
            try evaluateAndSave(step: totalSteps)
        } else {
            try hooks.saveStudent(learner.student, nil, totalSteps)
        }
        return DistillOutcome(student: learner.student, labels: labels, gradientSteps: learner.gradientSteps,
                              bestEvaluation: best, interrupted: false, elapsed: Date().timeIntervalSince(clock))
    }

    /// Probability that the teacher acts at `step` (1-based).
    func teacherShare(_ step: Int) -> Float {
        switch config.regime {
        case .teacher: return 1
        case .mixed: return max(0, 1 - Float(step) / (config.mixFraction * Float(config.steps)))
        case .student, .offline: return 0
        }
    }

    private func argmax(_ q: [Float]) -> Int {
        var best = 0
        for i in 1..<q.count where q[i] > q[best] { best = i }
        return best
    }
}
