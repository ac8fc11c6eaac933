/// Every DQN hyperparameter, one plain struct (as CleanRL's `Args`). The defaults are
/// rl-baselines3-zoo's tuned settings for CartPole-v1; `DQNConfig.defaults(for:)` has the
/// published settings of other environments.
public struct DQNConfig: Codable, Equatable, Sendable {
    public var totalSteps = 50_000
    public var seed = 0
    public var hiddenSizes = [256, 256]
    public var learningRate: Float = 2.3e-3
    public var batchSize = 64
    public var bufferSize = 100_000
    /// Environment steps of uniformly random actions before learning starts.
    public var learningStarts = 1_000
    public var gamma: Float = 0.99
    /// Environment steps between target-network updates.
    public var targetUpdateInterval = 10
    /// Polyak coefficient: 1 is a hard copy.
    public var tau: Float = 1.0
    /// Environment steps between training rounds.
    public var trainFrequency = 256
    /// Gradient steps per training round; −1 means as many as `trainFrequency`.
    public var gradientSteps = 128
    /// Fraction of training over which ε falls linearly from `explorationInitial` to `explorationFinal`.
    public var explorationFraction: Float = 0.16
    public var explorationInitial: Float = 1.0
    public var explorationFinal: Float = 0.04
    /// Global gradient-norm clip (SB3's max_grad_norm).
    public var maxGradNorm: Float = 10
    /// "huber" (smooth L1, as SB3) or "mse".
    public var loss = "huber"
    public var doubleDQN = false
    /// Value and advantage streams on the last hidden layer (saved folded into a plain Q head).
    public var dueling = false
    /// n-step returns (1 = one-step TD).
    public var nStep = 1
    public var prioritizedReplay = false
    public var priorityAlpha: Float = 0.6
    public var priorityBetaInitial: Float = 0.4
    public var priorityEpsilon: Float = 1e-6
    /// Environment steps between evaluations (0 turns them off).
    public var evalInterval = 5_000
    public var evalEpisodes = 10
    /// Seed of the first evaluation episode (each episode i uses evalSeed + i).
    public var evalSeed = 10_000
    /// Environment steps between checkpoints of the last state (0: only at the end).
    public var checkpointInterval = 10_000
    public var activation = "relu"

    public init() {}

    /// snake_case names, as in config files, manifests and Python keyword arguments.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case totalSteps = "total_steps"
        case seed = "seed"
        case hiddenSizes = "hidden_sizes"
        case learningRate = "learning_rate"
        case batchSize = "batch_size"
        case bufferSize = "buffer_size"
        case learningStarts = "learning_starts"
        case gamma = "gamma"
        case targetUpdateInterval = "target_update_interval"
        case tau = "tau"
        case trainFrequency = "train_frequency"
        case gradientSteps = "gradient_steps"
        case explorationFraction = "exploration_fraction"
        case explorationInitial = "exploration_initial"
        case explorationFinal = "exploration_final"
        case maxGradNorm = "max_grad_norm"
        case loss = "loss"
        case doubleDQN = "double_dqn"
        case dueling = "dueling"
        case nStep = "n_step"
        case prioritizedReplay = "prioritized_replay"
        case priorityAlpha = "priority_alpha"
        case priorityBetaInitial = "priority_beta_initial"
        case priorityEpsilon = "priority_epsilon"
        case evalInterval = "eval_interval"
        case evalEpisodes = "eval_episodes"
        case evalSeed = "eval_seed"
        case checkpointInterval = "checkpoint_interval"
        case activation = "activation"
    }

    /// Published, known-good settings (rl-baselines3-zoo's `hyperparams/dqn.yml`) for `env`,
    /// or the CartPole-v1 settings for environments it does not list.
    public static func defaults(for env: String) -> DQNConfig {
        var c = DQNConfig()
        switch env {
        case "Acrobot-v1":
            c.totalSteps = 100_000; c.learningRate = 6.3e-4; c.batchSize = 128; c.bufferSize = 50_000
            c.learningStarts = 0; c.targetUpdateInterval = 250; c.trainFrequency = 4; c.gradientSteps = -1
            c.explorationFraction = 0.12; c.explorationFinal = 0.1
        case "LunarLander-v2", "LunarLander-v3":
            c.totalSteps = 100_000; c.learningRate = 6.3e-4; c.batchSize = 128; c.bufferSize = 50_000
            c.learningStarts = 0; c.targetUpdateInterval = 250; c.trainFrequency = 4; c.gradientSteps = -1
            c.explorationFraction = 0.12; c.explorationFinal = 0.1
        case "MountainCar-v0":
            c.totalSteps = 120_000; c.learningRate = 4e-3; c.batchSize = 128; c.bufferSize = 10_000
            c.learningStarts = 1_000; c.targetUpdateInterval = 600; c.trainFrequency = 16; c.gradientSteps = 8
            c.explorationFraction = 0.2; c.explorationFinal = 0.07; c.hiddenSizes = [256, 256]
        default:
            break
        }
        return c
    }

    /// Gradient steps per round with −1 resolved.
    public var resolvedGradientSteps: Int { gradientSteps < 0 ? trainFrequency : gradientSteps }

    /// A sentence naming the first out-of-range setting, or nil when all are valid.
    public func validationError() -> String? {
        func positive(_ v: Int, _ flag: String) -> String? { v >= 1 ? nil : "--\(flag) must be at least 1 (got \(v))." }
        if let e = positive(totalSteps, "steps") ?? positive(batchSize, "batch-size") ?? positive(bufferSize, "buffer-size")
            ?? positive(trainFrequency, "train-frequency") ?? positive(targetUpdateInterval, "target-update-interval")
            ?? positive(nStep, "n-step") ?? positive(evalEpisodes, "eval-episodes") { return e }
        if hiddenSizes.contains(where: { $0 < 1 }) { return "--hidden sizes must be positive, e.g. 256,256." }
        if learningRate <= 0 || !learningRate.isFinite { return "--learning-rate must be positive (got \(learningRate))." }
        if !(gamma > 0 && gamma <= 1) { return "--gamma must be in (0, 1] (got \(gamma))." }
        if !(tau > 0 && tau <= 1) { return "--tau must be in (0, 1] (got \(tau))." }
        if gradientSteps == 0 || gradientSteps < -1 { return "--gradient-steps must be positive or -1 (got \(gradientSteps))." }
        if !(explorationFraction > 0 && explorationFraction <= 1) { return "--exploration-fraction must be in (0, 1] (got \(explorationFraction))." }
        for (v, f) in [(explorationInitial, "exploration-initial"), (explorationFinal, "exploration-final")] where !(v >= 0 && v <= 1) {
            return "--\(f) must be in [0, 1] (got \(v))."
        }
        if learningStarts < 0 { return "--learning-starts must be 0 or more (got \(learningStarts))." }
        if evalInterval < 0 || checkpointInterval < 0 { return "--eval-interval and --checkpoint-interval must be 0 or more." }
        if loss != "huber" && loss != "mse" { return "--loss must be huber or mse (got \(loss))." }
        if activation != "relu" && activation != "tanh" { return "--activation must be relu or tanh (got \(activation))." }
        if maxGradNorm <= 0 { return "--max-grad-norm must be positive (got \(maxGradNorm))." }
        if !(priorityAlpha >= 0 && priorityAlpha <= 1) || !(priorityBetaInitial >= 0 && priorityBetaInitial <= 1) {
            return "--priority-alpha and --priority-beta must be in [0, 1]."
        }
        return nil
    }
}
