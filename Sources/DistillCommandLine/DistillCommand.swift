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
    @OptionGroup var trust: TrustOptions
    @Option(help: "Environment to use instead of the teacher's.") var env: String?
    @Option(help: "Settings file: JSON (snake_case keys, e.g. a tune study's best.json) or YAML; flags override it.") var config: String?
    @Option(name: .customLong("env-arg"), help: "Keyword argument for the environment, key=value (repeatable; adds to the teacher's).")
    var envArgs: [String] = []
    @Option(name: .customLong("wrapper"), help: "With --env: one of Gymnasium's wrappers over it, e.g. 'FrameStackObservation(stack_size=4)' (repeatable, in order).")
    var wrappers: [String] = []
    @Flag(help: "Continue the distillation in --out from its last checkpoint (steps, learning rate and evaluation settings may change).")
    var resume = false
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
        var run = DistillationRun(directory: URL(fileURLWithPath: out))
        let checkpoint = resume ? try run.loadCheckpoint() : nil
        let config = try checkpoint?.config ?? makeConfig()
        let multiTask = (try? DistillationRun.taskTeachers(config.teachers)) != nil
        let progress = ProgressLine()
        Interrupt.install()
        run.hooks.shouldStop = { Interrupt.isRequested }
        run.hooks.onEvent = { event in
            switch event {
            case .progress(let p):
                let losses = LossKind.allCases.map(\.metricName).compactMap { name in p.values[name].map { String(format: "%@ %.4f", name, $0) } }
                let details = String(format: "labels %ld  teacher acts %.0f%%  ", Int(p.values["labels"] ?? 0), (p.values["teacher_share"] ?? 0) * 100)
                    + losses.joined(separator: " ")
                progress.update(p, details: details)
            case .episode: break
            case .evaluation(let step, let r, let isBest) where multiTask:
                progress.message(String(format: "eval at step %ld: mean normalised return over tasks %.3f (worst task %.3f)%@", step, r.mean, r.min, isBest ? " (best so far, saved)" : ""))
            case .evaluation(let step, let r, let isBest):
                progress.message(String(format: "eval at step %ld: student mean return %.1f ± %.1f%@", step, r.mean, r.std, isBest ? " (best so far, saved)" : ""))
            }
        }
        let overrides = try parseEnvArgs(envArgs)
        if env == nil && !wrappers.isEmpty {
            throw ValidationError("--wrapper goes with --env (the teacher's environment keeps its recorded wrappers); add --env ID or drop --wrapper.")
        }
        let outcome: DistillOutcome
        if let checkpoint {
            // Naming the checkpoint's own environment again vouches for a recorded module:attribute.
            let sameEnvironment = env == checkpoint.environment.name
            guard env == nil || sameEnvironment, self.config == nil, !force else {
                throw ValidationError("--resume continues with the checkpoint's environment (\(checkpoint.environment.name)) and settings; drop \(env != nil ? "--env" : self.config != nil ? "--config" : "--force") (only --steps, --learning-rate and the evaluation settings may change).")
            }
            let changes = try CommandLineSettings(table: DistillConfig.settings)
                .parse(settingWords, otherOptions: ["out", "env", "env-arg", "wrapper", "force", "threads", "config", "resume", "trust-env"])
            print("Resuming the distillation in \(out) at labelled state \(checkpoint.state.step): teachers \(config.teachers.joined(separator: " + ")), student \(config.hiddenSizes), losses \(config.activeLosses.joined(separator: ", "))")
            outcome = try run.resume(from: checkpoint, changes: changes, argumentOverrides: overrides) { try trust.open($0, recorded: $1 && !sameEnvironment) }
        } else {
            print("Distilling \(config.teachers.joined(separator: " + ")) into a student \(config.hiddenSizes): losses \(config.activeLosses.joined(separator: ", ")), regime \(config.regime), \(config.steps) labelled states → \(out)")
            let parsedWrappers = try parseWrappers(wrappers)
            outcome = try run.start(config: config, environment: env.map { EnvironmentRecipe(name: $0, arguments: overrides, wrappers: parsedWrappers) },
                                    argumentOverrides: overrides, force: force) { try trust.open($0, recorded: $1) }
        }
        progress.finish()
        if outcome.interrupted {
            let resumable = outcome.tasks.isEmpty && outcome.generations.isEmpty
            print("Interrupted after \(outcome.labels) labelled states: the student at that moment is saved in \(out)/last; \(out) holds the best evaluated student (or that one, if none was evaluated yet)."
                  + (resumable ? " Continue with `distill distill --out \(out) --resume`." : ""))
            throw ExitCode(Interrupt.exitCode)
        }
        print(String(format: "Done: %ld teacher-labelled states, %ld gradient steps in %.1f s.", outcome.labels, outcome.gradientSteps, outcome.elapsed))
        for (index, best) in outcome.generations.enumerated() {
            print("generation \(index + 1): best mean return \(best.map { String(format: "%.1f", $0) } ?? "not evaluated") (\(out)/generation-\(index + 1))")
        }
        if !outcome.tasks.isEmpty {
            printTasks(outcome.tasks, out: out)
            return
        }
        let finalDirectory = outcome.generations.isEmpty ? out : "\(out)/generation-\(outcome.generations.count)"
        if let best = outcome.bestEvaluation {
            print(String(format: "Best evaluation: student mean return %.1f; the model in %@ is that student.", best.mean, finalDirectory))
        }
    }

    /// A multi-task student's table: each task's teacher, random and student returns at the kept evaluation.
    private func printTasks(_ tasks: [TaskOutcome], out: String) {
        let shared = MultiTaskDirectory.index(URL(fileURLWithPath: out))?.sharedParameters
        let teachers = tasks.reduce(0) { $0 + $1.teacherParameters }
        print(String(format: "Multi-task student: %@ parameters shared by %ld tasks (%@ of the teachers' %ld); kept at its best mean normalised return.",
                     shared.map(String.init) ?? "?", tasks.count,
                     shared.map { String(format: "%.1f%%", 100 * Double($0) / Double(teachers)) } ?? "?", teachers))
        let name = max(4, tasks.map(\.name.count).max() ?? 4)
        print("task".padding(toLength: name, withPad: " ", startingAt: 0) + "   teacher    random   student ± std   normalised   model")
        for t in tasks {
            let student = t.studentReturn.map { String(format: "%8.1f ± %5.1f", $0.mean, $0.std) } ?? "  not evaluated "
            print(t.name.padding(toLength: name, withPad: " ", startingAt: 0)
                  + String(format: "  %8.1f  %8.1f  %@  %10@   %@/tasks/%@", t.teacherReturn, t.randomReturn, student,
                           t.normalizedReturn.map { String(format: "%.3f", $0) } ?? "-", out, t.name))
        }
    }

    private func makeConfig() throws -> DistillConfig {
        let cli = CommandLineSettings(table: DistillConfig.settings)
        var config = DistillConfig()
        let words = try cli.parse(settingWords, otherOptions: ["out", "env", "env-arg", "wrapper", "force", "threads", "config", "resume", "trust-env"])
        if let file = self.config {
            do {
                try DistillConfig.settings.applyFile(try ConfigFiles.read(file, environment: env ?? ""), to: &config)
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
