import ArgumentParser
import Checkpoint
import DQN
import Distill
import Environments
import GymEnvironments
import Foundation
import Runs
import Settings
import NN
import Tensor

/// `distill distill`: transfer a teacher's knowledge into a smaller student.
struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Distil a trained DQN teacher (or an ensemble) into a smaller student network.",
        discussion: """
            Losses (any combination): q-mse (student vs teacher Q-values), kl (softmax at \
            --temperature, 0.01 by default as Rusu et al. use for Q-values), ce (teacher's greedy \
            action), the student's own TD loss weighted by --lambda, feature distillation \
            (--feature-layer S:T, --feature-weight) and relational distillation \
            (--relational-weight). Data: --regime student (the student acts, the teacher labels: \
            DAgger), teacher (the teacher acts), mixed (from teacher to student over \
            --mix-fraction of the steps) or offline (--offline-observations FILE.npy). --steps \
            counts collected, teacher-labelled states. Precedence: defaults < --config FILE < flags.

            \(DistillCommand.settingsHelp)
            """)

    @OptionGroup var output: OutputOptions
    @Option(help: "Environment to use instead of the teacher's.") var env: String?
    @Option(help: "Settings file: JSON (snake_case keys, e.g. a tune study's best.json) or YAML; flags override it.") var config: String?
    @Option(name: .customLong("env-arg"), help: "Keyword argument for the environment, key=value (repeatable; adds to the teacher's).")
    var envArgs: [String] = []
    /// Every distillation setting, parsed against `DistillConfig.settings` (see --help).
    @Argument(parsing: .allUnrecognized, help: .hidden) var settingWords: [String] = []

    static let settingsHelp = CommandLineSettings(table: DistillConfig.settings)
        .help(defaults: DistillConfig(), note: "also --set key=value")

    func run() throws {
        do { try distill() } catch let e as SettingError {
            throw CommandLineSettings(table: DistillConfig.settings).wording(e)
        }
    }

    private func distill() throws {
        Allocator.retainFreedMemory()
        output.applyThreads()
        let (out, force) = (output.out, output.force)
        let config = try makeConfig()
        var run = DistillationRun(directory: URL(fileURLWithPath: out))
        let progress = ProgressLine()
        Interrupt.install()
        run.hooks.shouldStop = { Interrupt.isRequested }
        run.hooks.onEvent = { event in
            switch event {
            case .progress(let p):
                let losses = LossKind.allCases.map(\.metricName).compactMap { name in p.values[name].map { String(format: "%@ %.4f", name, $0) } }
                let details = String(format: "labels %d  teacher acts %.0f%%  ", Int(p.values["labels"] ?? 0), (p.values["teacher_share"] ?? 0) * 100)
                    + losses.joined(separator: " ")
                progress.update(p, details: details)
            case .episode: break
            case .evaluation(let step, let r, let isBest):
                progress.message(String(format: "eval at step %d: student mean return %.1f ± %.1f%@", step, r.mean, r.std, isBest ? " (best so far, saved)" : ""))
            }
        }
        print("Distilling \(config.teachers.joined(separator: " + ")) into a student \(config.hiddenSizes): losses \(config.activeLosses.joined(separator: ", ")), regime \(config.regime), \(config.steps) labelled states → \(out)")
        let overrides = try parseEnvArgs(envArgs)
        let outcome = try run.start(config: config, environment: env.map { EnvironmentRecipe(name: $0, arguments: overrides) },
                                    argumentOverrides: overrides, force: force) { try makeEnvironment($0, recorded: $1) }
        progress.finish()
        if outcome.interrupted {
            print("Interrupted after \(outcome.labels) labelled states: the student at that moment is saved in \(out)/last; \(out) holds the best evaluated student (or that one, if none was evaluated yet).")
            throw ExitCode(Interrupt.exitCode)
        }
        print(String(format: "Done: %d teacher-labelled states, %d gradient steps in %.1f s.", outcome.labels, outcome.gradientSteps, outcome.elapsed))
        for (index, best) in outcome.generations.enumerated() {
            print("generation \(index + 1): best mean return \(best.map { String(format: "%.1f", $0) } ?? "not evaluated") (\(out)/generation-\(index + 1))")
        }
        let finalDirectory = outcome.generations.isEmpty ? out : "\(out)/generation-\(outcome.generations.count)"
        if let best = outcome.bestEvaluation {
            print(String(format: "Best evaluation: student mean return %.1f; the model in %@ is that student.", best.mean, finalDirectory))
        }
    }

    private func makeConfig() throws -> DistillConfig {
        let cli = CommandLineSettings(table: DistillConfig.settings)
        var config = DistillConfig()
        let words = try cli.parse(settingWords, otherOptions: ["out", "env", "force", "threads", "config"])
        if let file = self.config {
            do {
                try DistillConfig.settings.apply(try ConfigFiles.read(file, environment: env ?? ""), to: &config)
            } catch let e as ConfigFile.Problem {
                throw RunError.badConfigFile(file, detail: e.description)
            } catch let e as SettingError {
                throw RunError.badConfigFile(file, detail: String(e.description.dropLast()))
            }
        }
        try cli.apply(words, to: &config)
        return config
    }
}
