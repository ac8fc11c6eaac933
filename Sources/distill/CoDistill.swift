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

    @Option(help: "Gymnasium id (CartPole-v1) or module:attribute; Corridor-N is a built-in toy.") var env = "CartPole-v1"
    @Option(name: .customLong("env-arg"), help: "Keyword argument for the environment, key=value (repeatable).")
    var envArgs: [String] = []
    @Option(name: .customLong("wrapper"), help: "One of Gymnasium's wrappers over the environment, e.g. 'AtariPreprocessing(frame_skip=4)' (repeatable, applied in order; recorded in the model).")
    var wrappers: [String] = []
    @OptionGroup var output: OutputOptions
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
        var teacherConfig = DQNConfig.defaults(for: env)
        do {
            try teacherCLI.apply(try teacherCLI.parse(teacherWords, otherOptions: ["env", "env-arg", "wrapper", "out", "force", "threads"]), to: &teacherConfig)
        } catch let e as SettingError { throw teacherCLI.wording(e) }
        var studentCLI = CommandLineSettings(table: DistillConfig.settings)
        studentCLI.flagPrefix = "student-"  // errors name the flags as given
        var studentConfig = DistillConfig()
        studentConfig.teachers = [URL(fileURLWithPath: output.out).appendingPathComponent(CoDistillationAlgorithm.teacherFolder).path]
        do {
            try studentCLI.apply(try studentCLI.parse(studentWords), to: &studentConfig)
        } catch let e as SettingError {
            throw studentCLI.wording(e)
        }
        Allocator.retainFreedMemory()
        output.applyThreads()
        let recipe = EnvironmentRecipe(name: env, arguments: try parseEnvArgs(envArgs), wrappers: try parseWrappers(wrappers))
        var run = CoDistillationRun(directory: URL(fileURLWithPath: output.out))
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
                progress.message(String(format: "eval at step %d: student mean return %.1f ± %.1f%@", step, r.mean, r.std,
                                        isBest ? " (best so far, saved)" : ""))
            }
        }
        print("Co-distilling on \(recipe): a DQN teacher \(teacherConfig.hiddenSizes) for \(teacherConfig.totalSteps) steps and a student \(studentConfig.hiddenSizes) (losses \(studentConfig.activeLosses.joined(separator: ", "))) in one loop → \(output.out)")
        if !DQNConfig.hasTunedDefaults(recipe.name) {
            print(DQNConfig.genericDefaultsNotice(recipe.name))
        }
        let (outcome, teacherBest) = try run.start(teacherConfig: teacherConfig, studentConfig: studentConfig, environment: recipe,
                                                   force: output.force, makeEnv: environmentFactory(recipe))
        progress.finish()
        if outcome.interrupted {
            print("Interrupted: the best student so far is in \(output.out), the teacher's in \(output.out)/teacher; a co-distillation cannot be resumed.")
            throw ExitCode(Interrupt.exitCode)
        }
        print(String(format: "Done: %d student gradient steps in %.1f s.", outcome.gradientSteps, outcome.elapsed))
        if let t = teacherBest { print(String(format: "Teacher: best mean return %.1f (%@/teacher).", t.mean, output.out)) }
        if let s = outcome.bestEvaluation { print(String(format: "Student: best mean return %.1f (%@).", s.mean, output.out)) }
        print("Compare them with: distill compare \(output.out)/teacher \(output.out)")
    }
}
