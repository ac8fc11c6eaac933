import ArgumentParser
import Checkpoint
import DQN
import Environments
import GymEnvironments
import Foundation
import NN
import PythonBridge
import Runs
import Settings
import Tensor

/// `distill train`: train a DQN teacher against a Python (or built-in) environment.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a DQN teacher and save it as .npy files with a model.json manifest.",
        discussion: """
            Defaults are rl-baselines3-zoo's tuned DQN settings for the environment (CartPole-v1, \
            Acrobot-v1, LunarLander-v3, MountainCar-v0; Stable-Baselines3's DQN defaults elsewhere). Precedence: those \
            defaults < --config FILE < flags. The output directory is itself a model directory \
            holding the best policy found by the periodic evaluation; last/ holds the latest \
            checkpoint; metrics.csv the episode and evaluation rows. Ctrl-C saves a checkpoint \
            and exits; --resume continues from it (networks, target, Adam moments, step, ε and \
            random state are restored; the replay buffer is refilled from new experience).

            \(Train.settingsHelp)
            """)

    @Option(name: .customLong("env"), help: "Gymnasium id or module:attribute of your own environment; Corridor-N is a built-in toy (default: CartPole-v1; with --resume, the run's own).")
    var givenEnv: String?
    /// The environment of a new run.
    var env: String { givenEnv ?? "CartPole-v1" }
    @Option(name: .customLong("env-arg"), help: "Keyword argument for the environment, key=value (repeatable).")
    var envArgs: [String] = []
    @Option(name: .customLong("wrapper"), help: "One of Gymnasium's wrappers over the environment, e.g. 'AtariPreprocessing(frame_skip=4)' (repeatable, applied in order; recorded in the model).")
    var wrappers: [String] = []
    @OptionGroup var output: OutputOptions
    @Option(help: "Settings file: JSON (snake_case keys) or rl-zoo YAML (hyperparams/dqn.yml), optionally in per-environment sections.") var config: String?
    @Flag(help: "Continue the run in --out from its last checkpoint (steps, learning rate, evaluation and checkpoint settings may change).") var resume = false
    /// Every DQN setting, parsed against `DQNConfig.settings` (see the SETTINGS section of --help).
    @Argument(parsing: .allUnrecognized, help: .hidden) var settingWords: [String] = []

    static let settingsHelp = CommandLineSettings(table: DQNConfig.settings)
        .help(defaults: DQNConfig(), note: "defaults shown are CartPole-v1's; also --set key=value, and keys in --config files")

    func run() throws {
        let cli = CommandLineSettings(table: DQNConfig.settings)
        do { try train(cli) } catch let e as SettingError { throw cli.wording(e) }
    }

    private func train(_ cli: CommandLineSettings<DQNConfig>) throws {
        Allocator.retainFreedMemory()
        output.applyThreads()
        let (out, force) = (output.out, output.force)
        let settings = try cli.parse(settingWords, otherOptions: ["env", "env-arg", "wrapper", "out", "config", "force", "threads", "resume"])
        var run = TrainingRun(directory: URL(fileURLWithPath: out))
        let checkpoint = resume ? try run.loadCheckpoint() : nil
        let kwargs = try parseEnvArgs(envArgs)
        if checkpoint != nil && !wrappers.isEmpty {
            throw ValidationError("--resume reopens the environment with the wrappers recorded in the checkpoint; drop --wrapper.")
        }
        let parsedWrappers = try parseWrappers(wrappers)
        let recipe = checkpoint.map { $0.environment.with(kwargs) } ?? EnvironmentRecipe(name: env, arguments: kwargs, wrappers: parsedWrappers)
        let envName = recipe.description
        var config: DQNConfig?
        if !resume {
            var c = DQNConfig.defaults(for: env)
            if let file = self.config {
                c = try c.applying(try ConfigFiles.read(file, environment: env), source: file)
            }
            try cli.apply(settings, to: &c)
            config = c
        }
        // A resumed run reopens its recorded environment; naming it again (--env) vouches for a
        // module:attribute the checkpoint records, and naming another one is refused.
        if let checkpoint, let givenEnv, givenEnv != checkpoint.environment.name {
            throw ValidationError("--resume continues the run in \(out) on its own environment, \(checkpoint.environment.name); drop --env \(givenEnv) or start a new run.")
        }
        let makeEnv = environmentFactory(recipe, recorded: resume && givenEnv == nil)

        let progress = ProgressLine()
        let start = Date()
        Interrupt.install()
        run.hooks.shouldStop = { Interrupt.isRequested }
        run.hooks.onEvent = { event in
            switch event {
            case .progress(let p):
                var details = String(format: "ε %.3f", p.values["epsilon"] ?? 0)
                if let r = p.values["recent_mean_return"] { details += String(format: "  return(100) %.1f", r) }
                if let l = p.values["loss"] { details += String(format: "  loss %.4f", l) }
                progress.update(p, details: details)
            case .episode: break
            case .evaluation(let step, let r, let isBest):
                progress.message(String(format: "eval at step %ld: mean return %.1f ± %.1f over %ld episodes%@",
                                        step, r.mean, r.std, r.episodes, isBest ? " (best so far, saved)" : ""))
            }
        }
        let outcome: TrainingOutcome
        if let config {
            print("Training DQN on \(envName) for \(config.totalSteps) steps (seed \(config.seed), hidden \(config.hiddenSizes)) → \(out)")
            if !DQNConfig.hasTunedDefaults(recipe.name) && self.config == nil {
                print(DQNConfig.genericDefaultsNotice(recipe.name))
            }
            print(Self.settingsLine(config))
            outcome = try run.start(config: config, environment: recipe, makeEnv: makeEnv, force: force)
        } else {
            print("Resuming the run in \(out) on \(envName), resumed at step \(checkpoint?.state.step ?? 0)")
            outcome = try run.resume(from: checkpoint, makeEnv: makeEnv, changes: settings)
        }
        progress.finish()
        let wall = Date().timeIntervalSince(start)
        if outcome.interrupted {
            print("Interrupted at step \(outcome.state.step): checkpoint saved in \(run.directory.lastURL.path); continue with `distill train --out \(out) --resume`.")
            throw ExitCode(Interrupt.exitCode)
        }
        print(String(format: "Done: %ld steps in %.1f s (%.0f env steps/s, %ld gradient steps, %.0f/s).",
                     outcome.state.step, wall, Double(outcome.state.step) / max(wall, 1e-9), outcome.state.gradientSteps,
                     Double(outcome.state.gradientSteps) / max(wall, 1e-9)))
        if let best = outcome.state.bestMeanReturn {
            print(String(format: "Best evaluation: mean return %.1f; the model in %@ is that policy.", best, out))
        }
    }
}

extension Train {
    /// Every setting in use, as `key=value` (as rl-zoo prints its hyper-parameters at the start).
    static func settingsLine(_ config: DQNConfig) -> String {
        let values = DQNConfig.settings.values(of: config)
        let pairs = DQNConfig.settings.entries.filter(\.isStored).compactMap { e in
            values[e.key].map { v -> String in
                if case .list(let items) = v { return "\(e.key)=" + items.map(\.description).joined(separator: ",") }
                return "\(e.key)=\(v)"
            }
        }
        return CommandLineSettings<DQNConfig>.wrapped("Settings:", pairs.joined(separator: " "), column: 11, width: 100).joined(separator: "\n")
    }
}

/// Opens a Gymnasium environment or a built-in one (see `makeEnvironment`).
func openEnvironment(_ name: String, kwargs: [String: EnvironmentArgument] = [:], recorded: Bool = false) throws -> any Environment {
    try makeEnvironment(name, kwargs: kwargs, recorded: recorded)
}

/// `key=value` pairs; values are read as Int, Double, Bool or else String.
func parseEnvArgs(_ args: [String]) throws -> [String: EnvironmentArgument] {
    switch parseEnvironmentArguments(args) {
    case .success(let kwargs): return kwargs
    case .failure(let e): throw ValidationError("--env-arg takes key=value, e.g. --env-arg max_episode_steps=200 (got '\(e.text)').")
    }
}

/// `--wrapper` values: Gymnasium wrappers by name, applied in the order given.
func parseWrappers(_ texts: [String]) throws -> [EnvironmentWrapper] {
    try texts.map { text in
        guard let w = EnvironmentWrapper(parsing: text) else {
            throw ValidationError("--wrapper takes one of Gymnasium's wrappers by name, with keyword arguments in parentheses, e.g. --wrapper 'FrameStackObservation(stack_size=4)' (got '\(text)').")
        }
        return w
    }
}
