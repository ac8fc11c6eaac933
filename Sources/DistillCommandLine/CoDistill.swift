import ArgumentParser
import DQN
import Distill
import Environments
import Foundation
import GymEnvironments
import Runs
import Settings
import Tensor

/// `distill codistill`: train a DQN teacher and distil it into a student in one loop.
struct CoDistill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codistill",
        abstract: "Train a DQN teacher and, in the same loop, a student distilling its current Q-values (online co-distillation).",
        discussion: """
            The teacher trains exactly as `distill train` would (rl-zoo defaults for the \
            environment, any train setting as a flag, e.g. --total-steps 50000); the student \
            takes one gradient step per teacher gradient step on a batch from the teacher's \
            replay, labelled by the teacher's Q-values at that moment. Student settings are the \
            `distill distill` settings prefixed with --student- (--student-hidden 16,16, \
            --student-loss kl, --student-temperature 0.01, --student-lambda 0.5, …). The run \
            directory holds the best evaluated student; teacher/ the teacher's best evaluated network.
            """)

    @Option(help: "Gymnasium id (default CartPole-v1) or module:attribute; Corridor-N is a built-in toy.") var env: String?
    @Option(name: .customLong("env-arg"), help: "Keyword argument for the environment, key=value (repeatable).")
    var envArgs: [String] = []
    @Option(name: .customLong("wrapper"), help: "One of Gymnasium's wrappers over the environment, e.g. 'AtariPreprocessing(frame_skip=4)' (repeatable, applied in order; recorded in the model).")
    var wrappers: [String] = []
    @OptionGroup var output: OutputOptions
    @OptionGroup var trust: TrustOptions
    @Flag(help: "Continue the co-distillation in --out from its last checkpoint (--steps, learning rates and evaluation settings may change).")
    var resume = false
    /// Teacher (DQN) settings, and student settings prefixed with --student-.
    @Argument(parsing: .allUnrecognized, help: .hidden) var settingWords: [String] = []

    /// The words for the student (prefix removed) and for the teacher.
    static func split(_ words: [String]) -> (student: [String], teacher: [String]) {
        var student: [String] = [], teacher: [String] = []
        var i = 0
        while i < words.count {
            let word = words[i]
            if word.hasPrefix("--student-") {
                student.append("--" + word.dropFirst("--student-".count))
                if !word.contains("="), i + 1 < words.count, !words[i + 1].hasPrefix("--") {
                    student.append(words[i + 1])
                    i += 1
                }
            } else {
                teacher.append(word)
            }
            i += 1
        }
        return (student, teacher)
    }

    func run() throws {
        let (studentWords, teacherWords) = Self.split(settingWords)
        let teacherCLI = CommandLineSettings(table: DQNConfig.settings)
        var studentCLI = CommandLineSettings(table: DistillConfig.settings)
        studentCLI.flagPrefix = "student-"  // errors name the flags as given
        let teacherChanges: [(String, SettingValue)], studentChanges: [(String, SettingValue)]
        do {
            teacherChanges = try teacherCLI.parse(teacherWords, otherOptions: ["env", "env-arg", "wrapper", "out", "force", "threads", "resume"])
        } catch let e as SettingError { throw teacherCLI.wording(e) }
        do { studentChanges = try studentCLI.parse(studentWords) } catch let e as SettingError { throw studentCLI.wording(e) }
        var run = CoDistillationRun(directory: URL(fileURLWithPath: output.out))
        if resume {
            guard env == nil, envArgs.isEmpty, wrappers.isEmpty, !output.force else {
                throw ValidationError("--resume continues with the checkpoint's environment and settings; drop \(env != nil ? "--env" : !envArgs.isEmpty ? "--env-arg" : !wrappers.isEmpty ? "--wrapper" : "--force").")
            }
        }
        let checkpoint = resume ? try run.loadCheckpoint() : nil
        var teacherConfig = checkpoint?.state.teacherConfig ?? DQNConfig.defaults(for: env ?? "CartPole-v1")
        var studentConfig = checkpoint?.config ?? DistillConfig()
        if checkpoint == nil {
            studentConfig.teachers = [URL(fileURLWithPath: output.out).appendingPathComponent(CoDistillationAlgorithm.teacherFolder).path]
            do { try teacherCLI.apply(teacherChanges, to: &teacherConfig) } catch let e as SettingError { throw teacherCLI.wording(e) }
            do { try studentCLI.apply(studentChanges, to: &studentConfig) } catch let e as SettingError { throw studentCLI.wording(e) }
        }
        Allocator.retainFreedMemory()
        output.applyThreads()
        let recipe = try checkpoint?.environment
            ?? EnvironmentRecipe(name: env ?? "CartPole-v1", arguments: try parseEnvArgs(envArgs), wrappers: try parseWrappers(wrappers))
        let progress = ProgressLine()
        Interrupt.install()
        run.hooks.shouldStop = { Interrupt.isRequested }
        run.hooks.onEvent = { event in
            switch event {
            case .progress(let p):
                var details = String(format: "ε %.3f", p.values["epsilon"] ?? 0)
                if let r = p.values["recent_mean_return"] { details += String(format: "  teacher return(100) %.1f", r) }
                for name in LossKind.allCases.map(\.metricName) { if let v = p.values[name] { details += String(format: "  %@ %.4f", name, v) } }
                progress.update(p, details: details)
            case .episode: break
            case .evaluation(let step, let r, let isBest):
                progress.message(String(format: "eval at step %ld: student mean return %.1f ± %.1f%@", step, r.mean, r.std,
                                        isBest ? " (best so far, saved)" : ""))
            }
        }
        let (outcome, teacherBest): (DistillOutcome, EvaluationResult?)
        if let checkpoint {
            print("Resuming the co-distillation in \(output.out) on \(recipe) at step \(checkpoint.state.step)")
            do {
                (outcome, teacherBest) = try run.resume(from: checkpoint, teacherChanges: teacherChanges, studentChanges: studentChanges) {
                    try makeEnvironment($0, recorded: !trust.vouches(for: $0.name))
                }
            } catch let e as SettingError {
                // Worded as the flag was given: the teacher's unprefixed, the student's with --student-.
                let teacherKeys = Set(teacherChanges.compactMap { DQNConfig.settings.entry($0.0)?.key })
                throw teacherKeys.contains(e.key) ? teacherCLI.wording(e) : studentCLI.wording(e)
            }
        } else {
            print("Co-distilling on \(recipe): a DQN teacher \(teacherConfig.hiddenSizes) for \(teacherConfig.totalSteps) steps and a student \(studentConfig.hiddenSizes) (losses \(studentConfig.activeLosses.joined(separator: ", "))) in one loop → \(output.out)")
            if !DQNConfig.hasTunedDefaults(recipe.name) {
                print(DQNConfig.genericDefaultsNotice(recipe.name))
            }
            (outcome, teacherBest) = try run.start(teacherConfig: teacherConfig, studentConfig: studentConfig, environment: recipe,
                                                   force: output.force, makeEnv: environmentFactory(recipe))
        }
        progress.finish()
        if outcome.interrupted {
            print("Interrupted: the best student so far is in \(output.out), the teacher's in \(output.out)/teacher, a checkpoint of both in \(output.out)/last; continue with `distill codistill --out \(output.out) --resume`.")
            throw ExitCode(Interrupt.exitCode)
        }
        print(String(format: "Done: %ld student gradient steps in %.1f s.", outcome.gradientSteps, outcome.elapsed))
        if let t = teacherBest { print(String(format: "Teacher: best mean return %.1f (%@/teacher).", t.mean, output.out)) }
        if let s = outcome.bestEvaluation { print(String(format: "Student: best mean return %.1f (%@).", s.mean, output.out)) }
        print("Compare them with: distill compare \(output.out)/teacher \(output.out)")
    }
}
