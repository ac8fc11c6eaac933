import ArgumentParser
import Checkpoint
import DQN
import Distill
import Environments
import Foundation
import GymEnvironments
import Quantization

/// `distill compare`: what the student kept and what it saves.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a teacher and a student: size, FLOPs, inference time, returns, agreement.")

    @Argument(help: "Teacher model directory.") var teacher: String
    @Argument(help: "Student model directory.") var student: String
    @OptionGroup var evaluation: EvaluationOptions
    @Option(help: "Held-out states for action agreement (from other seeds).") var heldOut = 2_000

    func validate() throws {
        guard heldOut >= 1 && heldOut <= 10_000_000 else { throw ValidationError("--held-out must be between 1 and 10,000,000 (got \(heldOut)).") }
    }

    func run() throws {
        evaluation.isolation.apply()
        let (episodes, seed, json) = (evaluation.episodes, evaluation.seed, evaluation.json)
        let tURL = URL(fileURLWithPath: teacher), sURL = URL(fileURLWithPath: student)
        let (t, tManifest) = try ComparedModel.load(tURL)
        let (s, _) = try ComparedModel.load(sURL)
        guard t.inputSize == s.inputSize, t.actionCount == s.actionCount else {
            throw ValidationError("the teacher maps \(t.inputSize) inputs to \(t.actionCount) actions but the student \(s.inputSize) to \(s.actionCount); compare models of one environment.")
        }
        let (recipe, recorded) = try evaluation.recipe(recordedIn: tManifest, model: teacher)
        let envName = recipe.description
        let environment = try makeEnvironment(recipe, recorded: recorded)
        var r = try Distill.compare(teacher: t, student: s, env: environment, episodes: episodes, seed: seed, heldOut: heldOut)
        // Where a C compiler is present: each model exported as C, compiled and timed on the held-out states.
        if let states = r.heldOut {
            r.teacher.cNanosecondsPerAction = CTiming.nanosecondsPerAction(model: tURL, states: states)
            r.student.cNanosecondsPerAction = CTiming.nanosecondsPerAction(model: sURL, states: states)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(r), as: UTF8.self))
            return
        }
        print("\(envName): teacher \(teacher) vs student \(student), \(episodes) episodes (seeds \(seed)–\(seed + episodes - 1))")
        func row(_ name: String, _ t: String, _ s: String, _ ratio: String) {
            print(name.padding(toLength: 26, withPad: " ", startingAt: 0) + t.padding(toLength: 18, withPad: " ", startingAt: 0)
                  + s.padding(toLength: 18, withPad: " ", startingAt: 0) + ratio)
        }
        row("", "teacher", "student", "student/teacher")
        row("hidden sizes", "\(r.teacher.hiddenSizes)", "\(r.student.hiddenSizes)", "")
        if r.teacher.precision != "float32" || r.student.precision != "float32" || r.teacher.sparsity > 0.01 || r.student.sparsity > 0.01 {
            row("precision", r.teacher.precision, r.student.precision, "")
            row("weights pruned", String(format: "%.1f%%", 100 * r.teacher.sparsity), String(format: "%.1f%%", 100 * r.student.sparsity), "")
        }
        row("parameters", "\(r.teacher.parameters)", "\(r.student.parameters)", String(format: "%.2f%%", r.parameterRatio * 100))
        row("bytes on disk", "\(r.teacher.bytesOnDisk)", "\(r.student.bytesOnDisk)", String(format: "%.2f%%", r.bytesRatio * 100))
        row("FLOPs per action", "\(r.teacher.flopsPerAction)", "\(r.student.flopsPerAction)", String(format: "%.2f%%", r.flopsRatio * 100))
        row("inference µs per action", String(format: "%.2f", r.teacher.inferenceMicroseconds), String(format: "%.2f", r.student.inferenceMicroseconds),
            String(format: "%.1f× faster", r.inferenceSpeedup))
        if let tc = r.teacher.cNanosecondsPerAction, let sc = r.student.cNanosecondsPerAction {
            row("exported C ns per action", String(format: "%.1f", tc), String(format: "%.1f", sc), String(format: "%.1f× faster", tc / sc))
        }
        row("greedy return", String(format: "%.1f ± %.1f", r.teacher.meanReturn, r.teacher.stdReturn),
            String(format: "%.1f ± %.1f", r.student.meanReturn, r.student.stdReturn), "")
        print(String(format: "random policy return: %.1f ± %.1f (same seeds)", r.randomMeanReturn, r.randomStdReturn))
        print(String(format: "student normalised return (student − random)/(teacher − random): %.3f", r.normalizedReturn))
        if let agreement = r.actionAgreement {
            print(String(format: "action agreement with the teacher on %ld held-out states: %.1f%%", r.heldOutStates, agreement * 100))
        } else if let distance = r.meanActionDistance, let relative = r.relativeActionDistance {
            print(String(format: "mean distance from the teacher's action on %ld held-out states: %.4f (%.2f%% of the action range's diagonal)",
                         r.heldOutStates, distance, relative * 100))
        }
    }
}
