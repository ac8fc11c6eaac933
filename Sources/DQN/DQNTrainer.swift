import Environments
import Foundation
import NN
import Tensor

/// What the trainer reports while it runs.
public enum TrainingEvent: Sendable {
    /// Every `progressInterval` steps.
    case progress(TrainingProgress)
    /// An episode ended.
    case episode(step: Int, episode: Int, return: Double, length: Int, epsilon: Float, loss: Float?)
    /// A periodic evaluation finished; `isBest` when it is the best so far.
    case evaluation(step: Int, result: EvaluationResult, isBest: Bool)
}

/// A snapshot for progress lines.
public struct TrainingProgress: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var epsilon: Float
    public var episodes: Int
    /// Mean return of the last (up to) 100 episodes.
    public var recentMeanReturn: Double?
    public var loss: Float?
    public var gradientSteps: Int
    public var elapsed: Double
    public var stepsPerSecond: Double { elapsed > 0 ? Double(step) / elapsed : 0 }
}

/// Where the trainer is; saved with checkpoints so `--resume` can continue.
public struct TrainingState: Codable, Sendable, Equatable {
    public var step = 0
    public var episodes = 0
    public var gradientSteps = 0
    public var rng: SeededGenerator
    public var bestMeanReturn: Double?
    public var adamSteps = 0
    public var elapsedSeconds = 0.0
}

/// Hooks the trainer calls; all optional.
public struct TrainingHooks {
    /// Receives progress, episodes and evaluations.
    public var onEvent: (TrainingEvent) -> Void = { _ in }
    /// Called with the policy network when an evaluation is the best so far.
    public var saveBest: (MLP, EvaluationResult, Int) throws -> Void = { _, _, _ in }
    /// Called at checkpoint intervals, on stop requests and at the end with the full state.
    public var saveCheckpoint: (DQNLearner, TrainingState) throws -> Void = { _, _ in }
    /// Polled every step; returning true stops training after a checkpoint (Ctrl-C).
    public var shouldStop: () -> Bool = { false }
    /// Wraps each round of gradient steps, e.g. to release a lock around pure computation.
    public var aroundCompute: (() -> Void) -> Void = { $0() }
    public var progressInterval = 500
    public init() {}
}

/// How a run ended.
public struct TrainingOutcome: Sendable {
    public var learner: DQNLearner
    public var state: TrainingState
    public var interrupted: Bool
    public var bestEvaluation: EvaluationResult?
    public var lastEvaluation: EvaluationResult?
}

/// The DQN training loop (Mnih et al. 2015, with SB3's scheduling of learning starts, training
/// frequency, gradient steps and target updates).
public struct DQNTrainer {
    public let config: DQNConfig

    public init(config: DQNConfig) { self.config = config }

    /// Trains on `env`, evaluating on `evalEnv` (a separate instance with its own seeds).
    /// `resume` continues from a saved learner and state; the replay buffer starts empty.
    public func train(env: any Environment, evalEnv: (any Environment)?, hooks: TrainingHooks = TrainingHooks(),
                      resume: (DQNLearner, TrainingState)? = nil) throws -> TrainingOutcome {
        let spec = env.spec
        var learner = resume?.0 ?? DQNLearner(observationSize: spec.observationSize, actionCount: spec.actionCount, config: config)
        var state = resume?.1 ?? TrainingState(rng: SeededGenerator(seed: UInt64(config.seed)))
        var buffer = ReplayBuffer(capacity: config.bufferSize, observationSize: spec.observationSize)
        var prioritized = config.prioritizedReplay
            ? PrioritizedSampler(capacity: config.bufferSize, alpha: config.priorityAlpha, epsilon: config.priorityEpsilon) : nil
        var nstep = NStepAccumulator(n: config.nStep, gamma: config.gamma)
        let schedule = LinearSchedule(initial: config.explorationInitial, final: config.explorationFinal,
                                      fraction: config.explorationFraction, totalSteps: config.totalSteps)
        let learnStart = resume == nil ? config.learningStarts : state.step + min(config.learningStarts, config.batchSize)
        var recentReturns: [Double] = []
        var lastLoss: Float?
        var bestEval: EvaluationResult?, lastEval: EvaluationResult?
        let clock = Date()
        let priorElapsed = state.elapsedSeconds

        var obs = try env.reset(seed: resume == nil ? config.seed : config.seed &+ state.episodes)
        var episodeReturn = 0.0, episodeLength = 0
        while state.step < config.totalSteps {
            if hooks.shouldStop() {
                state.elapsedSeconds = priorElapsed + Date().timeIntervalSince(clock)
                try hooks.saveCheckpoint(learner, state)
                return TrainingOutcome(learner: learner, state: state, interrupted: true, bestEvaluation: bestEval, lastEvaluation: lastEval)
            }
            let epsilon = schedule.value(at: state.step)
            let action: Int
            if state.step < learnStart || state.rng.nextUnitFloat() < epsilon {
                action = state.rng.int(below: spec.actionCount)
            } else {
                action = learner.greedyAction(obs)
            }
            let s = try env.step(action)
            episodeReturn += s.reward
            episodeLength += 1
            for t in nstep.push(observation: obs, action: action, reward: Float(s.reward), nextObservation: s.observation,
                                terminated: s.terminated, truncated: s.truncated) {
                let slot = buffer.add(t)
                prioritized?.added(slot: slot)
            }
            state.step += 1
            if s.isDone {
                state.episodes += 1
                recentReturns.append(episodeReturn)
                if recentReturns.count > 100 { recentReturns.removeFirst() }
                hooks.onEvent(.episode(step: state.step, episode: state.episodes, return: episodeReturn,
                                       length: episodeLength, epsilon: epsilon, loss: lastLoss))
                episodeReturn = 0
                episodeLength = 0
                obs = try env.reset(seed: nil)
            } else {
                obs = s.observation
            }

            if state.step > learnStart && state.step % config.trainFrequency == 0 && buffer.count >= config.batchSize {
                hooks.aroundCompute {
                    for _ in 0..<config.resolvedGradientSteps {
                        let batch: TransitionBatch
                        if let sampler = prioritized {
                            let beta = config.priorityBetaInitial + (1 - config.priorityBetaInitial) * Float(state.step) / Float(config.totalSteps)
                            let drawn = sampler.sample(config.batchSize, count: buffer.count, beta: beta, rng: &state.rng)
                            batch = buffer.batch(drawn.indices, weights: drawn.weights)
                        } else {
                            batch = buffer.batch(buffer.sampleIndices(config.batchSize, rng: &state.rng))
                        }
                        let (loss, td) = learner.update(batch)
                        prioritized?.update(indices: batch.indices, tdErrors: td)
                        lastLoss = loss
                        state.gradientSteps += 1
                    }
                }
            }
            if state.step % config.targetUpdateInterval == 0 { learner.updateTarget() }

            if let evalEnv, config.evalInterval > 0, state.step % config.evalInterval == 0 || state.step == config.totalSteps {
                let result = try evaluateGreedy(learner.policyNetwork, env: evalEnv, episodes: config.evalEpisodes, seed: config.evalSeed)
                lastEval = result
                let isBest = state.bestMeanReturn.map { result.mean > $0 } ?? true
                if isBest {
                    state.bestMeanReturn = result.mean
                    bestEval = result
                    try hooks.saveBest(learner.policyNetwork, result, state.step)
                }
                hooks.onEvent(.evaluation(step: state.step, result: result, isBest: isBest))
            }
            if state.step % hooks.progressInterval == 0 || state.step == config.totalSteps {
                hooks.onEvent(.progress(TrainingProgress(
                    step: state.step, totalSteps: config.totalSteps, epsilon: epsilon, episodes: state.episodes,
                    recentMeanReturn: recentReturns.isEmpty ? nil : recentReturns.reduce(0, +) / Double(recentReturns.count),
                    loss: lastLoss, gradientSteps: state.gradientSteps,
                    elapsed: priorElapsed + Date().timeIntervalSince(clock))))
            }
            if config.checkpointInterval > 0 && state.step % config.checkpointInterval == 0 && state.step < config.totalSteps {
                state.elapsedSeconds = priorElapsed + Date().timeIntervalSince(clock)
                try hooks.saveCheckpoint(learner, state)
            }
        }
        state.elapsedSeconds = priorElapsed + Date().timeIntervalSince(clock)
        try hooks.saveCheckpoint(learner, state)
        return TrainingOutcome(learner: learner, state: state, interrupted: false, bestEvaluation: bestEval, lastEvaluation: lastEval)
    }
}
