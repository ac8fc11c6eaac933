import NN
import Settings

/// The TD loss of the Q-learning update.
/// What `train_frequency` counts between training rounds.
public enum TrainFrequencyUnit: String, Sendable, CaseIterable, Codable {
    case step, episode
}

public enum TDLoss: String, Sendable, CaseIterable, Codable {
    /// Smooth L1 (PyTorch's `smooth_l1_loss`, as SB3).
    case huber
    case mse
}

/// Every DQN hyperparameter, one plain struct (as CleanRL's `Args`). The defaults are
/// rl-baselines3-zoo's tuned settings for CartPole-v1; `DQNConfig.defaults(for:)` has the
/// published settings of other environments. `DQNConfig.settings` is the table of names, ranges
/// and help that every front end derives its flags, keys and checks from.
public struct DQNConfig: Configurable {
    public var totalSteps = 50_000
    public var seed = 0
    public var hiddenSizes = [256, 256]
    /// Convolutions before the hidden layers, for image and grid observations (none: an MLP over
    /// the flattened observation).
    public var convolutions: [ConvSpec] = []
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
    /// Environment steps between training rounds (or finished episodes: `trainFrequencyUnit`).
    public var trainFrequency = 256
    /// What `trainFrequency` counts: steps of every environment, or finished episodes (SB3's
    /// `train_freq=(n, "episode")`, one environment).
    public var trainFrequencyUnit = TrainFrequencyUnit.step
    /// Gradient steps per training round; −1 means as many as `trainFrequency`.
    public var gradientSteps = 128
    /// Fraction of training over which ε falls linearly from `explorationInitial` to `explorationFinal`.
    public var explorationFraction: Float = 0.16
    public var explorationInitial: Float = 1.0
    public var explorationFinal: Float = 0.04
    /// Global gradient-norm clip (SB3's max_grad_norm).
    public var maxGradNorm: Float = 10
    public var loss = TDLoss.huber
    public var doubleDQN = false
    /// Episodes cut by a time limit end as terminal ones do (no bootstrap from their last
    /// observation): SB3's `handle_timeout_termination=False`. Off, as in SB3 by default.
    public var timeLimitTerminal = false
    /// Value and advantage streams on the last hidden layer (saved folded into a plain Q head).
    public var dueling = false
    /// n-step returns (1 = one-step TD).
    public var nStep = 1
    /// Environments stepped together (SB3's `n_envs`): each step acts in all of them, and
    /// counts as that many environment steps.
    public var environmentCount = 1
    /// A model directory whose weights the online and target networks start from (fine-tuning a
    /// teacher, or SB3's `set_parameters` before `learn`); nil: a fresh initialisation.
    public var initialModel: String?
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
    /// Checkpoints keep the replay buffer (last/replay.*), so a resumed run samples the memory it
    /// had rather than refilling it: off by default, as SB3's checkpoints, for its size.
    public var checkpointReplayBuffer = false
    public var activation = Activation.relu

    public init() {}

    public init(from decoder: Decoder) throws { self = try Self.decoded(from: decoder) }
    public func encode(to encoder: Encoder) throws { try encodeSettings(to: encoder) }

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
            c.explorationFraction = 0.2; c.explorationFinal = 0.07; c.hiddenSizes = [256, 256]; c.gamma = 0.98
        case "CartPole-v1":
            break
        case let name where name.hasPrefix("Corridor-"):
            // The built-in toy: small, fast, solved in a couple of thousand steps.
            c.totalSteps = 2_000; c.hiddenSizes = [32]; c.learningRate = 1e-3; c.batchSize = 32; c.bufferSize = 10_000
            c.learningStarts = 100; c.targetUpdateInterval = 100; c.trainFrequency = 4; c.gradientSteps = 1
            c.explorationFraction = 0.3; c.explorationFinal = 0.05; c.gamma = 0.9; c.evalInterval = 500
        default:
            c = genericDefaults
        }
        return c
    }

    /// Stable-Baselines3's DQN defaults (the `DQN` class's keyword defaults, `MlpPolicy`'s 64-64
    /// network), for environments rl-zoo has not tuned; 100,000 steps.
    public static var genericDefaults: DQNConfig {
        var c = DQNConfig()
        c.totalSteps = 100_000; c.hiddenSizes = [64, 64]; c.learningRate = 1e-4; c.batchSize = 32; c.bufferSize = 1_000_000
        c.learningStarts = 100; c.gamma = 0.99; c.targetUpdateInterval = 10_000; c.tau = 1; c.trainFrequency = 4
        c.gradientSteps = 1; c.explorationFraction = 0.1; c.explorationInitial = 1; c.explorationFinal = 0.05; c.maxGradNorm = 10
        return c
    }

    /// Environments with their own defaults: rl-zoo's published settings, and the built-in toy.
    /// Others get `genericDefaults`.
    public static func hasTunedDefaults(_ env: String) -> Bool {
        ["CartPole-v1", "Acrobot-v1", "LunarLander-v2", "LunarLander-v3", "MountainCar-v0"].contains(env) || env.hasPrefix("Corridor-")
    }

    /// One line for a run that falls back to `genericDefaults`.
    public static func genericDefaultsNotice(_ env: String) -> String {
        "\(env) has no rl-baselines3-zoo settings: using Stable-Baselines3's DQN defaults (64-64 network, learning rate 1e-4, buffer 1,000,000, target update every 10,000 steps, 100,000 steps); tune them with flags or --config."
    }

    /// Gradient steps per round with −1 resolved.
    /// −1: as many as the environment steps of a round (SB3's: `train_frequency` steps of every environment).
    public var resolvedGradientSteps: Int { gradientSteps < 0 ? trainFrequency * environmentCount : gradientSteps }
}

extension DQNConfig {
    /// SB3's `policy`, as rl-zoo files give it: only `MlpPolicy` describes these networks.
    static var sb3Policy: Setting<DQNConfig> {
        Setting(key: "policy", kind: .string, help: "SB3's policy name (rl-zoo files): MlpPolicy, the only one these networks are.",
                isStored: false, read: { _ in .string("MlpPolicy") },
                write: { _, v in
                    guard case .string(let s) = v, s == "MlpPolicy" else {
                        throw SettingError(key: "policy", template: "{policy} must be MlpPolicy (got \(v)): the networks here are MLPs over flat observations.")
                    }
                })
    }

    /// SB3's `policy_kwargs`: `dict(net_arch=[256, 256])` (or a dict) sets the hidden sizes,
    /// `activation_fn=nn.Tanh` the activation.
    static var sb3PolicyKeywords: Setting<DQNConfig> {
        Setting(key: "policy_kwargs", kind: .string, help: "SB3's policy_kwargs, e.g. dict(net_arch=[256, 256]) (rl-zoo files).",
                isStored: false, read: { c in .string("dict(net_arch=[\(c.hiddenSizes.map(String.init).joined(separator: ", "))])") },
                write: { c, v in
                    let text: String
                    switch v {
                    case .string(let s): text = s
                    case .object(let o): text = o.keys.sorted().map { "\($0)=\(o[$0]!)" }.joined(separator: ",")
                    default: throw SettingError(key: "policy_kwargs", template: "{policy_kwargs} must be like dict(net_arch=[256, 256]) (got \(v)).")
                    }
                    var rest = text.replacingOccurrences(of: " ", with: "")
                    if rest.hasPrefix("dict(") && rest.hasSuffix(")") { rest = String(rest.dropFirst(5).dropLast()) }
                    var matched = false
                    if let r = rest.range(of: "net_arch=["), let end = rest[r.upperBound...].firstIndex(of: "]") {
                        let sizes = rest[r.upperBound..<end].split(separator: ",").map { Int($0) }
                        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
                            throw SettingError(key: "policy_kwargs", template: "{policy_kwargs}: net_arch must be a list of positive sizes (got \(text)).")
                        }
                        c.hiddenSizes = sizes.map { $0! }
                        matched = true
                    }
                    if rest.contains("activation_fn=") {
                        if rest.contains("Tanh") { c.activation = .tanh } else if rest.contains("ReLU") { c.activation = .relu } else {
                            throw SettingError(key: "policy_kwargs", template: "{policy_kwargs}: activation_fn must be nn.ReLU or nn.Tanh (got \(text)).")
                        }
                        matched = true
                    }
                    guard matched else {
                        throw SettingError(key: "policy_kwargs", template: "{policy_kwargs} must name net_arch and/or activation_fn, e.g. dict(net_arch=[256, 256]) (got \(text)).")
                    }
                })
    }

    /// The largest step count or interval a setting takes (10^12: years of environment steps).
    public static let maxCount = 1_000_000_000_000

    /// The table of DQN settings: the only list of their names, kinds, ranges and help.
    public static var settings: SettingsTable<DQNConfig> {
        SettingsTable([
            .int("total_steps", \.totalSteps, min: 1, max: maxCount, flag: "steps", aliases: ["n_timesteps"], help: "Environment steps to train for."),
            .int("seed", \.seed, min: 0, help: "Seed for networks, exploration, replay sampling and the environment."),
            .sizes("hidden_sizes", \.hiddenSizes, example: "256,256", flag: "hidden", aliases: ["hidden"], help: "Hidden layer sizes, e.g. 256,256."),
            ConvSpec.setting(\.convolutions,
                             help: "Convolutions before the hidden layers for image/grid observations: OUT:KERNEL[:STRIDE[:PADDING]],… or minatar (16:3:1), nature (32:8:4,64:4:2,64:3:1), none."),
            .choice("activation", \.activation, help: "Non-linearity between hidden layers."),
            .float("learning_rate", \.learningRate, .positive, aliases: ["lr"], help: "Adam learning rate."),
            .int("batch_size", \.batchSize, min: 1, max: 1 << 20, help: "Transitions per gradient step."),
            .int("buffer_size", \.bufferSize, min: 1, max: maxCount, help: "Replay buffer capacity (transitions)."),
            .int("learning_starts", \.learningStarts, min: 0, max: maxCount, help: "Steps of uniformly random actions before learning."),
            .float("gamma", \.gamma, .fractionExcludingZero, help: "Discount factor γ."),
            .int("target_update_interval", \.targetUpdateInterval, min: 1, max: maxCount, help: "Environment steps between target-network updates."),
            .float("tau", \.tau, .fractionExcludingZero, help: "Polyak coefficient (1 = hard copy)."),
            .int("train_frequency", \.trainFrequency, min: 1, max: 1_000_000, aliases: ["train_freq"],
                 help: "Steps between training rounds (with n_envs > 1, steps of all the environments together, as SB3 counts them)."),
            .choice("train_frequency_unit", \.trainFrequencyUnit,
                    help: "What train_frequency counts: environment steps, or finished episodes (SB3's train_freq=(n, \"episode\"); one environment)."),
            .int("gradient_steps", \.gradientSteps, min: -1, max: 100_000, help: "Gradient steps per round (-1 = the round's environment steps)."),
            .optionalString("initial_model", \.initialModel,
                            help: "A model directory to start the Q-network from (same hidden sizes, activation and convolutions), e.g. to fine-tune a teacher; default: a fresh initialisation."),
            .int("environment_count", \.environmentCount, min: 1, max: 1_024, flag: "n-envs", aliases: ["n_envs"],
                 help: "Environments stepped together (SB3's n_envs): total_steps, learning_starts and target_update_interval count the steps of all of them."),
            .float("exploration_fraction", \.explorationFraction, .fractionExcludingZero, help: "Fraction of training over which ε falls."),
            .float("exploration_initial", \.explorationInitial, .fraction, aliases: ["exploration_initial_eps"], help: "ε at the start."),
            .float("exploration_final", \.explorationFinal, .fraction, aliases: ["exploration_final_eps"], help: "ε after the exploration fraction."),
            .float("max_grad_norm", \.maxGradNorm, .positive, help: "Clip gradients to this global L2 norm."),
            .choice("loss", \.loss, help: "TD loss."),
            .bool("double_dqn", \.doubleDQN, help: "Double DQN targets."),
            .bool("dueling", \.dueling, help: "Dueling head (saved folded into a plain Q head)."),
            .int("n_step", \.nStep, min: 1, max: 1_000, help: "n-step returns."),
            .bool("time_limit_terminal", \.timeLimitTerminal,
                  help: "Treat an episode cut by a time limit as terminal, without bootstrapping (SB3's handle_timeout_termination=False)."),
            .bool("prioritized_replay", \.prioritizedReplay, flag: "prioritized", help: "Proportional prioritized replay."),
            .float("priority_alpha", \.priorityAlpha, .fraction, help: "Prioritized replay: priority exponent α."),
            .float("priority_beta_initial", \.priorityBetaInitial, .fraction, flag: "priority-beta",
                   help: "Prioritized replay: initial importance exponent β (annealed to 1)."),
            .float("priority_epsilon", \.priorityEpsilon, .positive, help: "Prioritized replay: added to every priority."),
            .int("eval_interval", \.evalInterval, min: 0, max: maxCount, help: "Environment steps between evaluations (0 = off)."),
            .int("eval_episodes", \.evalEpisodes, min: 1, max: 1_000_000, help: "Episodes per evaluation."),
            .int("eval_seed", \.evalSeed, min: 0, help: "Seed of the first evaluation episode (episode i uses seed + i)."),
            .int("checkpoint_interval", \.checkpointInterval, min: 0, max: maxCount, help: "Environment steps between checkpoints (0 = only at the end)."),
            .bool("checkpoint_replay_buffer", \.checkpointReplayBuffer, flag: "checkpoint-replay",
                  help: "Keep the replay buffer in checkpoints, so a resumed run samples the memory it had instead of refilling it (large for images: about 0.7 GB per 100,000 Atari transitions)."),
            sb3Policy,
            sb3PolicyKeywords,
        ], crossChecks: [
            { c in c.gradientSteps == 0
                ? SettingError(key: "gradient_steps", reason: "must be positive or -1", got: c.gradientSteps) : nil },
            { c in c.trainFrequencyUnit == .episode && c.environmentCount > 1
                ? SettingError(key: "train_frequency_unit", template: "{train_frequency_unit} episode trains after whole episodes of one environment, as SB3 does; with {environment_count} \(c.environmentCount), count {train_frequency} in steps.") : nil },
            { c in c.batchSize > c.bufferSize
                ? SettingError(key: "batch_size", template: "{batch_size} (\(c.batchSize)) must be at most {buffer_size} (\(c.bufferSize)): a batch is drawn from the replay buffer.") : nil },
        ], warnings: [
            { c in c.learningStarts >= c.totalSteps
                ? SettingError(key: "learning_starts", template: "{learning_starts} (\(c.learningStarts)) is not below {total_steps} (\(c.totalSteps)): no gradient step will be taken and the model stays as initialised.") : nil },
        ])
    }
}

extension ConvSpec {
    /// Named convolution stacks: MinAtar's (Young & Tian 2019) and Nature DQN's (Mnih et al. 2015).
    public static let presets: [String: [ConvSpec]] = [
        "minatar": [ConvSpec(outputChannels: 16, kernel: 3, stride: 1)],
        "nature": [ConvSpec(outputChannels: 32, kernel: 8, stride: 4), ConvSpec(outputChannels: 64, kernel: 4, stride: 2),
                   ConvSpec(outputChannels: 64, kernel: 3, stride: 1)],
        "none": [],
    ]

    /// The `convolutions` setting of a settings table (flag `--conv`): `OUT:KERNEL[:STRIDE[:PADDING]]`
    /// specs, comma-separated, or a preset name.
    public static func setting<Config>(_ path: WritableKeyPath<Config, [ConvSpec]>, help: String) -> Setting<Config> {
        Setting(key: "convolutions", kind: .string, help: help, flag: "conv", aliases: ["conv"],
                read: { .string($0[keyPath: path].isEmpty ? "none" : $0[keyPath: path].map(\.description).joined(separator: ",")) },
                write: { c, v in
                    let text: String
                    switch v {
                    case .string(let s): text = s
                    case .list(let items): text = items.map(\.description).joined(separator: ",")
                    default: text = v.description
                    }
                    if let preset = presets[text.lowercased()] { c[keyPath: path] = preset; return }
                    let specs = text.split(separator: ",").map { ConvSpec(parsing: String($0)) }
                    guard !specs.isEmpty, specs.allSatisfy({ $0 != nil }) else {
                        throw SettingError(key: "convolutions", template: "{convolutions} takes OUT:KERNEL[:STRIDE[:PADDING]] specs such as 16:3:1 (comma-separated), or minatar, nature or none (got '\(text)').")
                    }
                    // The bounds a saved model may have (the model reader's), so what trains also loads.
                    if let big = specs.first(where: { $0!.outputChannels > ConvSpec.maxChannels || $0!.kernel > ConvSpec.maxKernel
                                                      || $0!.stride > ConvSpec.maxKernel || $0!.padding > ConvSpec.maxKernel }) {
                        throw SettingError(key: "convolutions", template: "{convolutions} \(big!) is too large: at most \(ConvSpec.maxChannels) output channels and kernels, strides and padding of at most \(ConvSpec.maxKernel).")
                    }
                    c[keyPath: path] = specs.map { $0! }
                })
    }
}
