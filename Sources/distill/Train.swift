import ArgumentParser
import Checkpoint
import DQN
import Environments
import GymEnvironments
import Foundation
import NN
import PythonBridge
import Tensor

/// `distill train`: train a DQN teacher against a Python (or built-in) environment.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a DQN teacher and save it as .npy files with a model.json manifest.",
        discussion: """
            Defaults are rl-baselines3-zoo's tuned DQN settings for the environment (CartPole-v1, \
            Acrobot-v1, LunarLander-v3, MountainCar-v0; CartPole's elsewhere). Precedence: those \
            defaults < --config FILE < flags. The output directory is itself a model directory \
            holding the best policy found by the periodic evaluation; last/ holds the latest \
            checkpoint; metrics.csv the episode and evaluation rows. Ctrl-C saves a checkpoint \
            and exits; --resume continues from it (networks, target, Adam moments, step, ε and \
            random state are restored; the replay buffer is refilled from new experience).
            """)

    @Option(help: "Gymnasium id (CartPole-v1) or module:attribute of your own environment; Corridor-N is a built-in toy.")
    var env = "CartPole-v1"
    @Option(name: .customLong("env-arg"), help: "Keyword argument for the environment, key=value (repeatable).")
    var envArgs: [String] = []
    @Option(help: "Environment steps to train for.") var steps: Int?
    @Option(help: "Seed for networks, exploration, replay sampling and the environment.") var seed: Int?
    @Option(help: "Run directory to write.") var out: String
    @Option(help: "Hidden layer sizes, e.g. 256,256.") var hidden: String?
    @Option(help: "JSON file of settings (snake_case keys), optionally in per-environment sections.") var config: String?
    @Flag(help: "Overwrite an existing run in --out.") var force = false
    @Flag(help: "Continue the run in --out from its last checkpoint.") var resume = false

    @Option(help: "Adam learning rate.") var learningRate: Float?
    @Option(help: "Transitions per gradient step.") var batchSize: Int?
    @Option(help: "Replay buffer capacity (transitions).") var bufferSize: Int?
    @Option(help: "Steps of uniformly random actions before learning.") var learningStarts: Int?
    @Option(help: "Discount factor γ.") var gamma: Float?
    @Option(help: "Environment steps between target-network updates.") var targetUpdateInterval: Int?
    @Option(help: "Polyak coefficient (1 = hard copy).") var tau: Float?
    @Option(help: "Environment steps between training rounds.") var trainFrequency: Int?
    @Option(help: "Gradient steps per round (-1 = train-frequency).") var gradientSteps: Int?
    @Option(help: "Fraction of training over which ε falls.") var explorationFraction: Float?
    @Option(help: "ε at the start.") var explorationInitial: Float?
    @Option(help: "ε after the exploration fraction.") var explorationFinal: Float?
    @Option(help: "Clip gradients to this global L2 norm.") var maxGradNorm: Float?
    @Option(help: "huber or mse.") var loss: String?
    @Option(help: "relu or tanh.") var activation: String?
    @Flag(inversion: .prefixedNo, help: "Double DQN targets.") var doubleDqn: Bool?
    @Flag(inversion: .prefixedNo, help: "Dueling head (saved folded into a plain Q head).") var dueling: Bool?
    @Option(help: "n-step returns.") var nStep: Int?
    @Flag(inversion: .prefixedNo, help: "Proportional prioritized replay.") var prioritized: Bool?
    @Option(help: "Prioritized replay: priority exponent α.") var priorityAlpha: Float?
    @Option(help: "Prioritized replay: initial importance exponent β (annealed to 1).") var priorityBeta: Float?
    @Option(help: "Environment steps between evaluations (0 = off).") var evalInterval: Int?
    @Option(help: "Episodes per evaluation.") var evalEpisodes: Int?
    @Option(help: "Seed of the first evaluation episode (episode i uses seed + i).") var evalSeed: Int?
    @Option(help: "Environment steps between checkpoints (0 = only at the end).") var checkpointInterval: Int?

    func run() throws {
        Allocator.retainFreedMemory()
        var run = TrainingRun(directory: URL(fileURLWithPath: out))
        let checkpoint = resume ? try run.directory.loadCheckpoint() : nil
        let envName = checkpoint?.environment ?? env
        let config = resume ? nil : try resolvedConfig()
        if let problem = config?.validationError() { throw ValidationError(problem) }
        let kwargs = try parseEnvArgs(envArgs)
        let trainEnv = try openEnvironment(envName, kwargs: kwargs)
        let evaluate = (config?.evalInterval ?? 1) > 0
        let evalEnv = evaluate ? try openEnvironment(envName, kwargs: kwargs) : nil

        let progress = ProgressLine()
        let start = Date()
        Interrupt.install()
        run.shouldStop = { Interrupt.isRequested }
        run.onEvent = { event in
            switch event {
            case .progress(let p): progress.update(p)
            case .episode: break
            case .evaluation(let step, let r, let isBest):
                progress.message(String(format: "eval at step %d: mean return %.1f ± %.1f over %d episodes%@",
                                        step, r.mean, r.std, r.episodes, isBest ? " (best so far, saved)" : ""))
            }
        }
        let outcome: TrainingOutcome
        if let config {
            print("Training DQN on \(envName) for \(config.totalSteps) steps (seed \(config.seed), hidden \(config.hiddenSizes)) → \(out)")
            outcome = try run.start(config: config, environment: envName, env: trainEnv, evalEnv: evalEnv, force: force)
        } else {
            print("Resuming the run in \(out) on \(envName), resumed at step \(checkpoint?.state.step ?? 0)")
            outcome = try run.resume(from: checkpoint!, env: trainEnv, evalEnv: evalEnv, totalSteps: steps)
        }
        progress.finish()
        let wall = Date().timeIntervalSince(start)
        if outcome.interrupted {
            print("Interrupted at step \(outcome.state.step): checkpoint saved in \(run.directory.lastURL.path); continue with `distill train --out \(out) --resume`.")
            throw ExitCode(130)
        }
        print(String(format: "Done: %d steps in %.1f s (%.0f env steps/s, %d gradient steps, %.0f/s).",
                     outcome.state.step, wall, Double(outcome.state.step) / max(wall, 1e-9), outcome.state.gradientSteps,
                     Double(outcome.state.gradientSteps) / max(wall, 1e-9)))
        if let best = outcome.state.bestMeanReturn {
            print(String(format: "Best evaluation: mean return %.1f; the model in %@ is that policy.", best, out))
        }
    }

    private func resolvedConfig() throws -> DQNConfig {
        var c = DQNConfig.defaults(for: env)
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else {
                throw RunError.badConfigFile(config, detail: "it does not exist or cannot be read")
            }
            c = try c.applying(json: data, environment: env, source: config)
        }
        if let steps { c.totalSteps = steps }
        if let seed { c.seed = seed }
        if let hidden {
            let sizes = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--hidden takes positive sizes separated by commas, e.g. 256,256 (got '\(hidden)').")
            }
            c.hiddenSizes = sizes.map { $0! }
        }
        if let v = learningRate { c.learningRate = v }
        if let v = batchSize { c.batchSize = v }
        if let v = bufferSize { c.bufferSize = v }
        if let v = learningStarts { c.learningStarts = v }
        if let v = gamma { c.gamma = v }
        if let v = targetUpdateInterval { c.targetUpdateInterval = v }
        if let v = tau { c.tau = v }
        if let v = trainFrequency { c.trainFrequency = v }
        if let v = gradientSteps { c.gradientSteps = v }
        if let v = explorationFraction { c.explorationFraction = v }
        if let v = explorationInitial { c.explorationInitial = v }
        if let v = explorationFinal { c.explorationFinal = v }
        if let v = maxGradNorm { c.maxGradNorm = v }
        if let v = loss { c.loss = v }
        if let v = activation { c.activation = v }
        if let v = doubleDqn { c.doubleDQN = v }
        if let v = dueling { c.dueling = v }
        if let v = nStep { c.nStep = v }
        if let v = prioritized { c.prioritizedReplay = v }
        if let v = priorityAlpha { c.priorityAlpha = v }
        if let v = priorityBeta { c.priorityBetaInitial = v }
        if let v = evalInterval { c.evalInterval = v }
        if let v = evalEpisodes { c.evalEpisodes = v }
        if let v = evalSeed { c.evalSeed = v }
        if let v = checkpointInterval { c.checkpointInterval = v }
        return c
    }
}

/// Opens a Gymnasium environment or a built-in one (see `makeEnvironment`).
func openEnvironment(_ name: String, kwargs: [String: EnvironmentArgument] = [:]) throws -> any Environment {
    try makeEnvironment(name, kwargs: kwargs)
}

/// `key=value` pairs; values are read as Int, Double, Bool or else String.
func parseEnvArgs(_ args: [String]) throws -> [String: EnvironmentArgument] {
    switch parseEnvironmentArguments(args) {
    case .success(let kwargs): return kwargs
    case .failure(let e): throw ValidationError("--env-arg takes key=value, e.g. --env-arg max_episode_steps=200 (got '\(e.text)').")
    }
}
