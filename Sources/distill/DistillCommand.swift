import ArgumentParser
import Checkpoint
import DQN
import Distill
import Environments
import GymEnvironments
import Foundation
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
            counts collected, teacher-labelled states.
            """)

    @Option(name: .customLong("teacher"), help: "Teacher model directory (repeat for an ensemble).")
    var teachers: [String] = []
    @Option(help: "Student hidden sizes, e.g. 16,16.") var hidden = "16,16"
    @Option(help: "Distillation losses: q-mse, kl, ce, comma-separated, each optionally name:weight.") var loss = "kl"
    @Option(help: "Softmax temperature of the kl loss.") var temperature: Float = 0.01
    @Option(help: "Teacher-labelled states to collect (environment steps).") var steps = 20_000
    @Option(help: "Seed for the student, sampling and the environment.") var seed = 0
    @Option(help: "Student directory to write.") var out: String
    @Option(help: "student, teacher, mixed or offline.") var regime = "student"
    @Option(help: "Mixed regime: fraction of steps over which the teacher's share falls from 1 to 0.") var mixFraction: Float = 0.5
    @Option(help: "ε of the acting policy while collecting.") var epsilon: Float = 0.05
    @Option(help: "Observations (N × obs) for the offline regime.") var offlineObservations: String?
    @Option(name: .customLong("lambda"), help: "Weight λ of the student's own TD (task) loss.") var taskWeight: Float = 0
    @Option(help: "Feature distillation layers STUDENT:TEACHER (hidden-layer indices from 0).") var featureLayer: String?
    @Option(help: "Weight of the feature loss (default 1 when --feature-layer is given).") var featureWeight: Float?
    @Option(help: "Weight of the relational (RKD distance + angle) loss on the last hidden layers.") var relationalWeight: Float = 0
    @Option(help: "Adam learning rate of the student.") var learningRate: Float = 1e-3
    @Option(help: "States per gradient step.") var batchSize = 64
    @Option(help: "Capacity of the labelled-state buffer.") var bufferSize = 100_000
    @Option(help: "Gradient steps per collected state.") var updatesPerStep = 1
    @Option(help: "Extra gradient steps after collection (no new labels).") var finalUpdates = 0
    @Option(help: "Steps between evaluations that keep the best student (0 = keep the final one).") var evalInterval = 2_000
    @Option(help: "Episodes per evaluation.") var evalEpisodes = 10
    @Option(help: "Environment to use instead of the teacher's.") var env: String?
    @Flag(help: "Overwrite an existing student in --out.") var force = false

    func run() throws {
        Allocator.retainFreedMemory()
        let config = try makeConfig()
        if let problem = config.validationError() { throw ValidationError(problem) }
        var run = DistillationRun(directory: URL(fileURLWithPath: out))
        let progress = ProgressLine()
        Interrupt.install()
        run.shouldStop = { Interrupt.isRequested }
        run.onEvent = { event in
            switch event {
            case .progress(let p):
                let lossText = p.losses.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: " ")
                progress.update(ProgressLine.Snapshot(step: p.step, totalSteps: p.totalSteps, stepsPerSecond: p.stepsPerSecond,
                                                      details: "labels \(p.labels)  teacher acts \(String(format: "%.0f%%", p.teacherShare * 100))  \(lossText)"))
            case .evaluation(let step, _, let r, let isBest):
                progress.message(String(format: "eval at step %d: student mean return %.1f ± %.1f%@", step, r.mean, r.std, isBest ? " (best so far, saved)" : ""))
            }
        }
        print("Distilling \(config.teachers.joined(separator: " + ")) into a student \(config.hiddenSizes): losses \(config.activeLosses.joined(separator: ", ")), regime \(config.regime), \(config.steps) labelled states → \(out)")
        let outcome = try run.start(config: config, environment: env, force: force) { try openEnvironment($0) }
        progress.finish()
        if outcome.interrupted {
            print("Interrupted after \(outcome.labels) labelled states: the student at that moment is saved in \(out)/last; \(out) holds the best evaluated student (or that one, if none was evaluated yet).")
            throw ExitCode(130)
        }
        print(String(format: "Done: %d teacher-labelled states, %d gradient steps in %.1f s.", outcome.labels, outcome.gradientSteps, outcome.elapsed))
        if let best = outcome.bestEvaluation {
            print(String(format: "Best evaluation: student mean return %.1f; the model in %@ is that student.", best.mean, out))
        }
    }

    private func makeConfig() throws -> DistillConfig {
        var c = DistillConfig()
        c.teachers = teachers
        let sizes = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--hidden takes positive sizes separated by commas, e.g. 16,16 (got '\(hidden)').")
        }
        c.hiddenSizes = sizes.map { $0! }
        c.klWeight = 0
        for part in loss.split(separator: ",") {
            let pieces = part.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            let weight: Float
            if pieces.count == 2 {
                guard let w = Float(pieces[1]), w >= 0 else { throw ValidationError("loss weight '\(pieces[1])' is not a number ≥ 0.") }
                weight = w
            } else { weight = 1 }
            switch pieces[0] {
            case "q-mse", "mse", "q_mse": c.qMSEWeight = weight
            case "kl": c.klWeight = weight
            case "ce", "nll", "cross-entropy": c.crossEntropyWeight = weight
            case "none": break
            default: throw ValidationError("--loss takes q-mse, kl or ce (comma-separated, optionally name:weight); '\(pieces[0])' is not one of them.")
            }
        }
        c.temperature = temperature
        c.steps = steps
        c.seed = seed
        c.regime = regime
        c.mixFraction = mixFraction
        c.actingEpsilon = epsilon
        c.offlineObservations = offlineObservations
        if offlineObservations != nil && regime == "student" { c.regime = "offline" }
        c.taskWeight = taskWeight
        if let featureLayer {
            let parts = featureLayer.split(separator: ":").map { Int($0) }
            guard parts.count == 2, let s = parts[0], let t = parts[1] else {
                throw ValidationError("--feature-layer takes STUDENT:TEACHER hidden-layer indices, e.g. 0:1 (got '\(featureLayer)').")
            }
            c.featureStudentLayer = s
            c.featureTeacherLayer = t
            c.featureWeight = featureWeight ?? 1
        } else if let featureWeight, featureWeight > 0 {
            throw ValidationError("--feature-weight needs --feature-layer STUDENT:TEACHER.")
        }
        c.relationalWeight = relationalWeight
        c.learningRate = learningRate
        c.batchSize = batchSize
        c.bufferSize = bufferSize
        c.updatesPerStep = updatesPerStep
        c.finalUpdates = finalUpdates
        c.evalInterval = evalInterval
        c.evalEpisodes = evalEpisodes
        return c
    }
}

