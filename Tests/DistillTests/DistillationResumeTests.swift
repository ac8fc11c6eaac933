import Checkpoint
import DQN
import Distill
import Environments
import Foundation
import NN
import Runs
import Settings
import Tensor
import Testing

/// `distill distill --resume`: a stopped distillation continues from last/ with its student,
/// optimisers, losses' state, step and random state.
@Suite struct DistillationResumeTests {
    static func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    }

    /// A Corridor teacher saved as a model directory (distillation runs read teachers from disk).
    static func savedTeacher() throws -> URL {
        let url = temporary("teacher")
        try ModelDirectory.save(corridorTeacher(), to: url, environment: "Corridor-6")
        return url
    }

    static func corridor(_: EnvironmentRecipe, _: Bool) -> any Environment { Corridor(length: 6, maxSteps: 24) }

    /// An 8-unit student of `teachers` for `steps` states, batches of 16, evaluated only at the end;
    /// `taskWeight` > 0 adds the task loss with a target refreshed every `targetUpdateInterval` updates.
    static func config(_ teachers: [String], steps: Int, taskWeight: Float = 0, targetUpdateInterval: Int = 250) -> DistillConfig {
        var config = DistillConfig()
        config.teachers = teachers
        config.hiddenSizes = [8]
        config.steps = steps
        config.batchSize = 16
        config.taskWeight = taskWeight
        config.targetUpdateInterval = targetUpdateInterval
        config.evalInterval = 0
        config.evalEpisodes = 1
        return config
    }

    /// A distillation into a new directory, stopped (as Ctrl-C stops it) after `step` labelled states.
    static func stopped(_ config: DistillConfig, at step: Int, directory name: String,
                        makeEnv: (EnvironmentRecipe, Bool) throws -> any Environment = corridor) throws -> (URL, DistillOutcome) {
        let out = temporary(name)
        var run = DistillationRun(directory: out)
        var polls = 0
        run.hooks.shouldStop = { polls += 1; return polls > step }
        let outcome = try run.start(config: config, environment: nil, force: false, makeEnv: makeEnv)
        #expect(outcome.interrupted && outcome.labels == step)
        return (out, outcome)
    }

    /// Every tensor of a run's last/ checkpoint, by name.
    static func checkpointTensors(_ run: URL) throws -> [String: Tensor] {
        let last = run.appendingPathComponent("last")
        let manifest = try ModelDirectory.readManifest(last)
        return try Dictionary(uniqueKeysWithValues: manifest.tensors.map { ($0.name, try ModelDirectory.loadTensor($0.name, from: last)) })
    }

    /// The offline regime with a one-state buffer has nothing that a resume loses (no
    /// environment, and the buffer holds only the current state), so stopping and resuming must
    /// give the uninterrupted run's student and optimiser state bit for bit — which needs the
    /// student, both Adams, the feature projection, the step and the random state restored.
    @Test func anOfflineDistillationResumesToTheUninterruptedBits() throws {
        let teacher = try Self.savedTeacher()
        let states = Self.temporary("states.npy")
        try NumPyFile.write(Tensor(shape: [300, 6], scalars: (0..<1_800).map { Float(($0 * 7919) % 13) / 13 }), to: states)
        var config = DistillConfig()
        config.teachers = [teacher.path]
        config.hiddenSizes = [8]
        config.regime = .offline
        config.offlineObservations = states.path
        config.steps = 300
        config.bufferSize = 1
        config.batchSize = 1
        config.qMSEWeight = 0.5
        config.crossEntropyWeight = 0.5
        config.featureWeight = 1
        config.featureStudentLayer = 0
        config.featureTeacherLayer = 0
        config.evalInterval = 0
        config.evalEpisodes = 1
        config.checkpointInterval = 0

        let whole = Self.temporary("whole")
        let uninterrupted = try DistillationRun(directory: whole).start(config: config, environment: nil, force: false, makeEnv: Self.corridor)

        let (split, _) = try Self.stopped(config, at: 120, directory: "split")
        let resumed = try DistillationRun(directory: split).resume(makeEnv: Self.corridor)
        #expect(!resumed.interrupted && resumed.labels == 300 && resumed.gradientSteps == uninterrupted.gradientSteps)
        #expect(resumed.student == uninterrupted.student, "the resumed student differs from the uninterrupted one")

        let a = try Self.checkpointTensors(whole), b = try Self.checkpointTensors(split)
        #expect(a.keys.sorted() == b.keys.sorted())
        // One named state dict: parameters and moments by what they are, not by position.
        #expect(a.keys.contains("student.layers.1.bias") && a.keys.contains("adam.m.layers.0.weight")
                && a.keys.contains("loss.feature.projection.0.weight") && a.keys.contains("loss.feature.adam.0.v.bias"))
        #expect(!a.keys.contains { $0.hasSuffix(".0") || $0.hasSuffix(".1") }, "no positional names left: \(a.keys.sorted())")
        for (name, t) in a { #expect(b[name] == t, "\(name) differs after resuming") }

        // A checkpoint written before the names (student.0, adam.m.0, loss.feature.projection.0.0,
        // …) resumes to the same bits: the reader falls back to the positions.
        let (old, _) = try Self.stopped(config, at: 120, directory: "positional")
        let manifestURL = old.appendingPathComponent("last").appendingPathComponent(ModelDirectory.manifestName)
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        let names = uninterrupted.student.parameterNames
        func positional(_ name: String) -> String {
            for (i, n) in names.enumerated() {
                for prefix in ["student.", "adam.m.", "adam.v."] where name == prefix + n { return prefix + String(i) }
            }
            for (i, n) in ["weight", "bias"].enumerated() {
                for prefix in ["loss.feature.projection.0.", "loss.feature.adam.0.m.", "loss.feature.adam.0.v."] where name == prefix + n {
                    return prefix + String(i)
                }
            }
            return name
        }
        manifest["tensors"] = try #require(manifest["tensors"] as? [[String: Any]]).map { entry in
            var entry = entry
            entry["name"] = positional(entry["name"] as? String ?? "")
            return entry
        }
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        #expect(try Self.checkpointTensors(old).keys.contains("adam.m.0"), "the checkpoint now has the old names")
        let resumedOld = try DistillationRun(directory: old).resume(makeEnv: Self.corridor)
        #expect(resumedOld.student == uninterrupted.student, "a positional checkpoint resumes to the uninterrupted student")
        let stateA = try DistillationRun(directory: whole).loadCheckpoint().state
        var stateB = try DistillationRun(directory: split).loadCheckpoint().state
        stateB.elapsedSeconds = stateA.elapsedSeconds
        #expect(stateA == stateB)
    }

    /// A pruned, quantisation-aware offline distillation resumes to the uninterrupted bits too:
    /// the masks come back from the zero weights and the running ranges from the checkpoint.
    @Test func aPrunedQuantisationAwareDistillationResumesToTheUninterruptedBits() throws {
        let teacher = try Self.savedTeacher()
        let states = Self.temporary("pq-states.npy")
        try NumPyFile.write(Tensor(shape: [400, 6], scalars: (0..<2_400).map { Float(($0 * 7919) % 13) / 13 }), to: states)
        var config = DistillConfig()
        config.teachers = [teacher.path]
        config.hiddenSizes = [32]
        config.regime = .offline
        config.offlineObservations = states.path
        config.steps = 400
        config.bufferSize = 1
        config.batchSize = 1
        config.prune = 0.75
        config.quantize = .int8
        config.evalInterval = 0
        config.evalEpisodes = 1
        config.checkpointInterval = 0

        let whole = Self.temporary("pq-whole")
        let uninterrupted = try DistillationRun(directory: whole).start(config: config, environment: nil, force: false, makeEnv: Self.corridor)
        let zeros = uninterrupted.student.layers.reduce(0) { $0 + $1.weight.scalars.filter { $0 == 0 }.count }
        #expect(zeros == (6 * 32 + 32 * 2) * 3 / 4, "the full share of all dense weights is pruned by the end")
        let (split, _) = try Self.stopped(config, at: 230, directory: "pq-split")
        let resumed = try DistillationRun(directory: split).resume(makeEnv: Self.corridor)
        #expect(resumed.student == uninterrupted.student, "the resumed pruned, quantisation-aware student differs")
        let a = try Self.checkpointTensors(whole), b = try Self.checkpointTensors(split)
        #expect(a["quantizer.ranges"] != nil && a["quantizer.ranges"] == b["quantizer.ranges"])
    }

    /// With an environment: the task loss's target network and the student's Adam come back as
    /// saved, the run continues to its end, and settings that cannot change are refused.
    @Test func aCollectingDistillationRestoresItsStateAndContinues() throws {
        let teacher = try Self.savedTeacher()
        let config = Self.config([teacher.path], steps: 600, taskWeight: 0.2, targetUpdateInterval: 50)
        let (out, stopped) = try Self.stopped(config, at: 250, directory: "student")

        let saved = try DistillationRun(directory: out).loadCheckpoint()
        #expect(saved.state.step == 250 && saved.state.gradientSteps == stopped.gradientSteps && saved.state.episodes > 0)
        let tensors = try Self.checkpointTensors(out)
        #expect(tensors.keys.contains("loss.task.target.layers.0.weight") && tensors.keys.contains("adam.v.layers.1.bias"))
        // The task loss's target is the student of its last refresh (every 50 updates), not the current one.
        #expect(tensors["loss.task.target.layers.0.weight"] != tensors["student.layers.0.weight"])
        let fresh = MLP(inputSize: 6, hiddenSizes: [8], outputSize: 2, activation: config.activation, seed: 99)
        let learner = try StudentLearner(restoring: saved.reader, gradientSteps: saved.state.gradientSteps, student: fresh,
                                         teacher: TeacherEnsemble(paths: config.teachers), config: config)
        #expect(learner.student == stopped.student && learner.gradientSteps == stopped.gradientSteps)
        for (name, t) in learner.checkpointTensors { #expect(tensors[name] == t, "\(name) is not restored as saved") }

        #expect { try DistillationRun(directory: out).resume(changes: [("hidden_sizes", .list([.int(4)]))], makeEnv: Self.corridor) } throws: {
            ($0 as? SettingError)?.description.contains("cannot change when a run is resumed") ?? false
        }
        let finished = try DistillationRun(directory: out).resume(changes: [("steps", .int(700)), ("learning_rate", .number(5e-4))],
                                                                  makeEnv: Self.corridor)
        #expect(!finished.interrupted && finished.labels == 700)
        // The buffer refills: training waits for one batch of new states after the resume.
        #expect(finished.gradientSteps == stopped.gradientSteps + (700 - 250) - (config.batchSize - 1))
        let last = try DistillationRun(directory: out).loadCheckpoint()
        #expect(last.config.learningRate == 5e-4 && last.state.step == 700)
    }

    /// A multi-task student (two Corridors, the task loss on): stopped, its checkpoint restores
    /// the shared network, its Adam, each task's task-loss target and each task's episode count,
    /// and the resumed run finishes.
    @Test func aMultiTaskDistillationResumes() throws {
        let six = Self.temporary("six"), four = Self.temporary("four")
        try ModelDirectory.save(corridorTeacher(length: 6), to: six, environment: "Corridor-6")
        try ModelDirectory.save(corridorTeacher(length: 4), to: four, environment: "Corridor-4")
        let corridors: (EnvironmentRecipe, Bool) throws -> any Environment = { recipe, _ in
            Corridor(length: recipe.name == "Corridor-6" ? 6 : 4, maxSteps: 24)
        }
        let config = Self.config(["six=\(six.path)", "four=\(four.path)"], steps: 800, taskWeight: 0.1, targetUpdateInterval: 40)
        let (out, stopped) = try Self.stopped(config, at: 300, directory: "multi", makeEnv: corridors)

        let saved = try DistillationRun(directory: out).loadCheckpoint()
        #expect(saved.state.taskEpisodes.count == 2 && saved.state.taskEpisodes.allSatisfy { $0 > 0 })
        #expect(saved.state.gradientSteps == stopped.gradientSteps && stopped.gradientSteps > 0)
        let tensors = try Self.checkpointTensors(out)
        #expect(tensors.keys.contains("inputs.1.weight") && tensors.keys.contains("adam.v.heads.1.bias")
                && tensors.keys.contains("task.0.loss.task.target.layers.0.weight") && tensors.keys.contains("task.1.loss.task.target.layers.0.weight"))
        let fresh = MultiTaskNetwork(inputSizes: [6, 4], hiddenSizes: [8], outputSizes: [2, 2], activation: config.activation, seed: 5)
        let learner = try MultiTaskLearner(restoring: saved.reader, gradientSteps: saved.state.gradientSteps, student: fresh,
                                           teachers: [TeacherEnsemble(paths: [six.path]), TeacherEnsemble(paths: [four.path])],
                                           config: config)
        for (name, t) in learner.checkpointTensors { #expect(tensors[name] == t, "\(name) is not restored as saved") }

        let finished = try DistillationRun(directory: out).resume(changes: [("steps", .int(900))], makeEnv: corridors)
        #expect(!finished.interrupted && finished.labels == 900 && finished.tasks.count == 2)
        #expect(finished.gradientSteps > stopped.gradientSteps)
        #expect(try DistillationRun(directory: out).loadCheckpoint().state.step == 900)
    }

    @Test func whatCannotBeResumedIsRefusedWithASentence() throws {
        let empty = Self.temporary("empty")
        #expect { try DistillationRun(directory: empty).resume(makeEnv: Self.corridor) } throws: {
            ($0 as? RunError)?.description.contains("has no checkpoint to resume") ?? false
        }
        // Another command's run is named as such.
        var dqn = DQNConfig.defaults(for: "Corridor-6")
        dqn.totalSteps = 300
        dqn.evalInterval = 0
        let trained = Self.temporary("dqn")
        _ = try TrainingRun(directory: trained).start(config: dqn, environment: "Corridor-6", makeEnv: { Corridor() }, force: false)
        #expect { try DistillationRun(directory: trained).resume(makeEnv: Self.corridor) } throws: {
            ($0 as? RunError)?.description == "\(trained.path) holds a DQN training run; continue it with `distill train --out \(trained.path) --resume` (in Python, sd.train(…, out=…, resume=True))."
        }
        // A damaged checkpoint: a tensor of another shape is named, not trapped on.
        let teacher = try Self.savedTeacher()
        let config = Self.config([teacher.path], steps: 100)
        let out = Self.temporary("damaged")
        _ = try DistillationRun(directory: out).start(config: config, environment: nil, force: false, makeEnv: Self.corridor)
        #expect { try TrainingRun(directory: out).resume(makeEnv: { Corridor() }) } throws: {
            ($0 as? RunError)?.description.contains("holds a distillation; continue it with `distill distill --out") ?? false
        }
        #expect { try DistillationRun(directory: out).resume(changes: [("steps", .int(60))], makeEnv: Self.corridor) } throws: {
            ($0 as? RunError)?.description.contains("is already at step 100, past the 60 steps asked for") ?? false
        }
        let last = out.appendingPathComponent("last")
        // adam.m.layers.0.weight's entry pointed at adam.m.layers.0.bias's file (a consistent file of the wrong shape).
        let manifestURL = last.appendingPathComponent(ModelDirectory.manifestName)
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        var entries = try #require(manifest["tensors"] as? [[String: Any]])
        let i = try #require(entries.firstIndex { $0["name"] as? String == "adam.m.layers.0.weight" })
        var replacement = try #require(entries.first { $0["name"] as? String == "adam.m.layers.0.bias" })
        replacement["name"] = "adam.m.layers.0.weight"
        entries[i] = replacement
        manifest["tensors"] = entries
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        #expect { try DistillationRun(directory: out).resume(changes: [("steps", .int(200))], makeEnv: Self.corridor) } throws: {
            ($0 as? RunError)?.description.contains("adam.m.layers.0.weight has shape [8] where the run's settings need [6, 8]") ?? false
        }
    }
}
