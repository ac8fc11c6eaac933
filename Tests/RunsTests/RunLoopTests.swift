import Checkpoint
import Environments
import Foundation
import NN
import Runs
import Settings
import Tensor
import Testing

/// A toy algorithm for the run loop: its policy walks right in a Corridor (return 1) while
/// `(step / 10)` is even and left (return 0) otherwise.
struct ToyConfig: Configurable {
    var steps = 45
    var evalInterval = 10
    init() {}
    init(from decoder: Decoder) throws { self = try Self.decoded(from: decoder) }
    func encode(to encoder: Encoder) throws { try encodeSettings(to: encoder) }
    static var settings: SettingsTable<ToyConfig> {
        SettingsTable([.int("steps", \.steps, min: 1, help: "Steps."), .int("eval_interval", \.evalInterval, min: 0, help: "Eval.")])
    }
}

struct ToyState: RunState, Equatable {
    var step = 0
    var bestMeanReturn: Double?
    var elapsedSeconds = 0.0
    static let resumeCommand = "toy"
}

struct ToyAlgorithm: RunAlgorithm {
    var config = ToyConfig()
    var state = ToyState()
    var finished = false
    var totalSteps: Int { config.steps }
    var schedule: RunSchedule { RunSchedule(evalInterval: config.evalInterval, evalEpisodes: 1, evalSeed: 0, checkpointInterval: 20) }
    var gradientSteps: Int { state.step }
    var progressValues: [String: Double] { ["phase": Double(state.step / 10 % 2)] }
    static let metricColumns = ["phase"]
    static let progressRowKind: String? = "train"

    var policy: MLP {
        let right: Float = state.step / 10 % 2 == 0 ? 1 : -1
        var w = Tensor(shape: [6, 2])
        for i in 0..<6 { w[i, 1] = right }
        return MLP(layers: [Linear(weight: w, bias: Tensor(shape: [2]))], activation: .relu)
    }

    mutating func advance(compute: (() -> Void) -> Void, report: (RunEvent) -> Void) throws {
        compute { state.step += 1 }
        if state.step % 7 == 0 {
            report(.episode(EpisodeRecord(step: state.step, episode: state.step / 7, episodeReturn: 1, length: 7, values: [:])))
        }
    }
    mutating func finish(compute: (() -> Void) -> Void) throws { finished = true }
    func checkpointTensors() -> [String: Tensor] { ["marker": Tensor(shape: [1], scalars: [Float(state.step)])] }
}

func temporaryRunDirectory() -> RunDirectory {
    RunDirectory(FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)"))
}

@Suite struct RunLoopTests {
    @Test func keepsTheBestEvaluatedPolicyAndLogsEveryEvent() throws {
        let dir = temporaryRunDirectory()
        try dir.prepareNew(force: false)
        var algorithm = ToyAlgorithm()
        var events: [RunEvent] = []
        var hooks = RunHooks()
        hooks.progressInterval = 5
        hooks.onEvent = { events.append($0) }
        let result = try RunLoop(directory: dir, environment: "Corridor-6", hooks: hooks).run(&algorithm, evalEnv: Corridor())
        #expect(!result.interrupted && algorithm.finished && algorithm.state.step == 45)
        // Evaluations at 10, 20, 30, 40 and the end (45): returns 0, 1, 0, 1, 1; the first 1 is kept.
        let evals = events.compactMap { e -> (Int, Double, Bool)? in
            if case .evaluation(let s, let r, let best) = e { return (s, r.mean, best) }
            return nil
        }
        #expect(evals.map(\.0) == [10, 20, 30, 40, 45])
        #expect(evals.map(\.1) == [0, 1, 0, 1, 1])
        #expect(evals.map(\.2) == [true, true, false, false, false])
        let (_, manifest) = try ModelDirectory.load(from: dir.url)
        #expect(manifest.metrics["step"] == .number(20) && manifest.metrics["mean_return"] == .number(1))
        #expect(algorithm.state.bestMeanReturn == 1)
        let rows = try String(contentsOf: dir.metricsURL, encoding: .utf8).split(separator: "\n")
        #expect(rows[0] == "step,kind,phase,eval_mean,eval_std,eval_min,eval_max,wall_time")
        #expect(rows.filter { $0.contains(",eval,") }.count == 5)
        #expect(rows.filter { $0.contains(",episode,") }.count == 6)
        #expect(rows.filter { $0.contains(",train,") }.count == 9)
        // The final checkpoint: policy, the algorithm's tensors, and state.json.
        let saved = try dir.loadCheckpoint(ToyConfig.self, ToyState.self)
        #expect(saved.state.step == 45 && saved.environment == "Corridor-6")
        #expect(try saved.tensor("marker").scalars == [45])
    }

    @Test func aStopRequestCheckpointsAndSavesAModel() throws {
        let dir = temporaryRunDirectory()
        try dir.prepareNew(force: false)
        var algorithm = ToyAlgorithm()
        var hooks = RunHooks()
        var polls = 0
        hooks.shouldStop = { polls += 1; return polls > 7 }
        let result = try RunLoop(directory: dir, environment: "Corridor-6", hooks: hooks).run(&algorithm, evalEnv: nil)
        #expect(result.interrupted && algorithm.state.step == 7 && !algorithm.finished)
        #expect(try dir.loadCheckpoint(ToyConfig.self, ToyState.self).state.step == 7)
        #expect(dir.holdsModel, "with no evaluation yet, the current policy is the run's model")
    }

    @Test func withoutADirectoryNothingIsWritten() throws {
        var algorithm = ToyAlgorithm()
        let result = try RunLoop(directory: nil, environment: "Corridor-6").run(&algorithm, evalEnv: Corridor())
        #expect(result.bestEvaluation?.mean == 1 && algorithm.state.step == 45)
    }

    @Test func forceReplacesOnlyARunAndRefusesToDeleteOtherFiles() throws {
        let dir = temporaryRunDirectory()
        try dir.prepareNew(force: false)
        var algorithm = ToyAlgorithm()
        _ = try RunLoop(directory: dir, environment: "Corridor-6").run(&algorithm, evalEnv: Corridor())
        // Several best models were saved in place: only the current generation's files remain.
        let (_, manifest) = try ModelDirectory.load(from: dir.url)
        let tensors = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasSuffix(".npy") }
        #expect(Set(tensors) == Set(manifest.tensors.map(\.file)))
        let notes = dir.url.appendingPathComponent("notes.txt")
        try Data("mine".utf8).write(to: notes)
        #expect(throws: RunError.self) { try dir.prepareNew(force: false) }
        #expect { try dir.prepareNew(force: true) } throws: {
            ($0 as? RunError)?.description.contains("holds files swift-distill did not write (notes.txt)") ?? false
        }
        #expect(dir.holdsModel && FileManager.default.fileExists(atPath: notes.path), "nothing was deleted")
        try FileManager.default.removeItem(at: notes)
        try dir.prepareNew(force: true)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { !$0.hasPrefix(".") }
        #expect(left.isEmpty)
    }

    @Test func twoRunsCannotShareADirectory() throws {
        let dir = temporaryRunDirectory()
        let first = try dir.lock()
        #expect { _ = try dir.lock() } throws: {
            ($0 as? RunError)?.description.contains("Another run (pid \(ProcessInfo.processInfo.processIdentifier)) is writing") ?? false
        }
        var algorithm = ToyAlgorithm()
        #expect(throws: RunError.self) { _ = try RunLoop(directory: dir, environment: "x").run(&algorithm, evalEnv: nil) }
        first.release()
        _ = try dir.lock()
    }
}
