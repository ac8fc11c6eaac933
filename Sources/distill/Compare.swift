import ArgumentParser
import Checkpoint
import DQN
import Distill
import Environments
import Foundation
import GymEnvironments

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
        let (tNet, tManifest) = try ModelDirectory.load(from: tURL)
        let (sNet, _) = try ModelDirectory.load(from: sURL)
        guard tNet.inputSize == sNet.inputSize, tNet.outputSize == sNet.outputSize else {
            throw ValidationError("the teacher maps \(tNet.inputSize) inputs to \(tNet.outputSize) actions but the student \(sNet.inputSize) to \(sNet.outputSize); compare models of one environment.")
        }
        let (recipe, recorded) = try evaluation.recipe(recordedIn: tManifest, model: teacher)
        let envName = recipe.description
        let environment = try makeEnvironment(recipe, recorded: recorded)
        let r = try Distill.compare(teacher: tNet, teacherBytes: try ModelDirectory.modelBytes(tURL), student: sNet, studentBytes: try ModelDirectory.modelBytes(sURL),
                                    env: environment, episodes: episodes, seed: seed, heldOut: heldOut)
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
        row("parameters", "\(r.teacher.parameters)", "\(r.student.parameters)", String(format: "%.2f%%", r.parameterRatio * 100))
        row("bytes on disk", "\(r.teacher.bytesOnDisk)", "\(r.student.bytesOnDisk)", String(format: "%.2f%%", r.bytesRatio * 100))
        row("FLOPs per action", "\(r.teacher.flopsPerAction)", "\(r.student.flopsPerAction)", String(format: "%.2f%%", r.flopsRatio * 100))
        row("inference µs per action", String(format: "%.2f", r.teacher.inferenceMicroseconds), String(format: "%.2f", r.student.inferenceMicroseconds),
            String(format: "%.1f× faster", r.inferenceSpeedup))
        row("greedy return", String(format: "%.1f ± %.1f", r.teacher.meanReturn, r.teacher.stdReturn),
            String(format: "%.1f ± %.1f", r.student.meanReturn, r.student.stdReturn), "")
        print(String(format: "random policy return: %.1f ± %.1f (same seeds)", r.randomMeanReturn, r.randomStdReturn))
        print(String(format: "student normalised return (student − random)/(teacher − random): %.3f", r.normalizedReturn))
        print(String(format: "action agreement with the teacher on %ld held-out states: %.1f%%", r.heldOutStates, r.actionAgreement * 100))
    }
}
