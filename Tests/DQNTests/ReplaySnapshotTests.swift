@testable import DQN
import Environments
import Foundation
import NN
import Runs
import Testing

/// A replay buffer kept in a checkpoint (`checkpoint_replay_buffer`) comes back slot for slot:
/// the same transitions, counts and ring position, and it goes on sharing frames and overwriting
/// the oldest slot exactly as the buffer it was taken from.
@Suite struct ReplaySnapshotTests {
    /// A buffer of frame stacks (or single observations) filled past its capacity, with episodes ending.
    func filled(capacity: Int, frames: Int, bytes: Bool, steps: Int, seed: UInt64) -> (ReplayBuffer, () -> Transition) {
        let frame = 5
        var buffer = ReplayBuffer(capacity: capacity, observationSize: frame * frames, byteScale: bytes ? 1 / 255 : nil, frames: frames)
        var rng = SeededGenerator(seed: seed)
        var stack = (0..<frames).map { _ in (0..<frame).map { _ in Float(rng.int(below: 256)) / 255 } }
        var step = 0
        func next() -> Transition {
            let obs = stack.flatMap { $0 }
            stack = Array(stack.dropFirst()) + [(0..<frame).map { _ in Float(rng.int(below: 256)) / 255 }]
            step += 1
            return Transition(observation: obs, action: step % 3, reward: Float(step), nextObservation: stack.flatMap { $0 },
                              terminated: step % 7 == 0, discount: 0.99)
        }
        for _ in 0..<steps { buffer.add(next()) }
        return (buffer, next)
    }

    func files(_ snapshot: ReplaySnapshot) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, data) in snapshot.files() { try data.write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    @Test(arguments: [(7, 1, false, 3), (7, 1, true, 20), (9, 4, true, 30), (50, 4, false, 12), (1, 1, false, 5)])
    func aRestoredBufferIsTheSameBufferAndStaysSo(capacity: Int, frames: Int, bytes: Bool, steps: Int) throws {
        var (buffer, next) = filled(capacity: capacity, frames: frames, bytes: bytes, steps: steps, seed: UInt64(capacity * steps))
        let snapshot = buffer.snapshot(observationShape: [frames * 5], observationScale: 1, oneHotStart: nil)
        let dir = try files(snapshot)
        defer { try? FileManager.default.removeItem(at: dir) }
        let read = try #require(try ReplaySnapshot.read(from: dir, expected: snapshot.layout, actionCount: 3, prioritized: false))
        #expect(read == snapshot)
        var restored = ReplayBuffer(restoring: read, lookahead: 1)
        #expect(restored.count == buffer.count && restored.position == buffer.position && restored.storedFrames == buffer.storedFrames)
        for round in 0..<3 {
            for slot in 0..<buffer.count {
                #expect(restored.transition(at: slot) == buffer.transition(at: slot), "slot \(slot), round \(round)")
            }
            // The same transitions added to both: the same slots overwritten, frames shared alike.
            for _ in 0..<(capacity + 2) {
                let t = next()
                #expect(buffer.add(t) == restored.add(t))
            }
            #expect(restored.storedFrames == buffer.storedFrames)
        }
    }

    @Test func damagedOrForeignFilesAreRefusedInASentence() throws {
        let (buffer, _) = filled(capacity: 10, frames: 1, bytes: false, steps: 12, seed: 3)
        let snapshot = buffer.snapshot(observationShape: [5], observationScale: 1, oneHotStart: nil)
        var expected = snapshot.layout
        let dir = try files(snapshot)
        defer { try? FileManager.default.removeItem(at: dir) }
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        // Another capacity than the settings keep.
        expected.capacity = 11
        #expect(message { _ = try ReplaySnapshot.read(from: dir, expected: expected, actionCount: 3, prioritized: false) }
            .contains("holds 10 transitions of 5 values (float32) where these settings keep 11 of 5"))
        // Actions the environment does not have.
        #expect(message { _ = try ReplaySnapshot.read(from: dir, expected: snapshot.layout, actionCount: 2, prioritized: false) }
            .contains("holds actions outside the environment's 2"))
        // A frame id past the frames.
        var bad = snapshot
        bad.frameIDs[3] = 1_000
        try bad.files()["replay.frame_ids.npy"]!.write(to: dir.appendingPathComponent("replay.frame_ids.npy"))
        let said = message { _ = try ReplaySnapshot.read(from: dir, expected: snapshot.layout, actionCount: 3, prioritized: false) }
        #expect(said.contains("The replay buffer in") && said.contains("names frames past its"), "\(said)")
        // None at all: nothing to restore.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("replay-none-\(UUID().uuidString)")
        #expect(try ReplaySnapshot.read(from: empty, expected: snapshot.layout, actionCount: 3, prioritized: false) == nil)
    }

    /// Prioritized replay's priorities come back to the bit, with the largest one so far.
    @Test func prioritiesComeBack() throws {
        let (buffer, _) = filled(capacity: 8, frames: 1, bytes: false, steps: 11, seed: 5)
        var sampler = PrioritizedSampler(capacity: 8, alpha: 0.6, epsilon: 1e-6)
        for slot in 0..<8 { sampler.added(slot: slot) }
        sampler.update(indices: [1, 4, 6], tdErrors: [0.3, 2.5, 0.01])
        sampler.update(indices: [4], tdErrors: [0.2])  // the largest priority stays 2.5's
        let snapshot = buffer.snapshot(observationShape: [5], observationScale: 1, oneHotStart: nil, priorities: sampler)
        let dir = try files(snapshot)
        defer { try? FileManager.default.removeItem(at: dir) }
        let read = try #require(try ReplaySnapshot.read(from: dir, expected: snapshot.layout, actionCount: 3, prioritized: true))
        var restored = PrioritizedSampler(capacity: 8, alpha: 0.6, epsilon: 1e-6)
        restored.restore(priorities: try #require(read.priorities), largest: read.layout.maxPriority)
        #expect((0..<8).map { restored.tree[$0] } == (0..<8).map { sampler.tree[$0] })
        #expect(restored.largestPriority == sampler.largestPriority && restored.tree.total == sampler.tree.total)
    }

    /// A run that keeps its replay buffer resumes with it (and learns at once); one that does not
    /// resumes with an empty buffer.
    @Test(arguments: [true, false])
    func aResumedRunKeepsItsBufferWhenTheSettingsSaySo(keep: Bool) throws {
        var run = TrainingRun(directory: FileManager.default.temporaryDirectory.appendingPathComponent("dqn-replay-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: run.directory.url) }
        var config = DQNConfig()
        config.totalSteps = 300
        config.learningStarts = 50
        config.trainFrequency = 4
        config.bufferSize = 1_000
        config.batchSize = 8
        config.gradientSteps = 1
        config.hiddenSizes = [8]
        config.evalInterval = 0
        config.checkpointReplayBuffer = keep
        var calls = 0
        run.hooks.shouldStop = { calls += 1; return calls > 200 }
        let stopped = try run.start(config: config, environment: "Corridor-6", makeEnv: { Corridor() }, force: false)
        #expect(stopped.interrupted && stopped.state.step == 200)
        let saved = try ReplaySnapshot.read(from: run.directory.lastURL, expected: DQNAlgorithm.replayLayout(config, spec: Corridor().spec),
                                            actionCount: Corridor().spec.actionCount, prioritized: false)
        #expect((saved?.layout.count) == (keep ? 200 : nil))
        run.hooks = RunHooks()
        let resumed = try run.resume(makeEnv: { Corridor() }, totalSteps: 220)
        #expect(resumed.state.step == 220)
        // Kept: a gradient step every 4 steps from the first (204, …, 220); else none until the
        // buffer refills a batch (past step 208: 212, 216, 220).
        #expect(resumed.state.gradientSteps - stopped.state.gradientSteps == (keep ? 5 : 3))
    }
}

/// A run stopped and continued on the same environment objects, with its replay buffer and its
/// episodes in progress (a `learn(reset_num_timesteps=False)` after another), ends with the
/// weights of the run that was never stopped, bit for bit.
@Suite struct ContinuedRunTests {
    func config(nStep: Int = 1) -> DQNConfig {
        var config = DQNConfig()
        config.nStep = nStep
        config.totalSteps = 600
        config.learningStarts = 60
        config.trainFrequency = 4
        config.gradientSteps = 1
        config.targetUpdateInterval = 50
        config.bufferSize = 400  // wraps around before the end
        config.batchSize = 16
        config.hiddenSizes = [8]
        config.evalInterval = 0
        config.seed = 5
        config.checkpointReplayBuffer = true
        return config
    }

    func directory() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("dqn-continue-\(UUID().uuidString)") }

    /// With n-step returns too: the steps of the episode in progress that wait for their n-step
    /// transitions go on with it into the next run, so no transition is lost at the boundary.
    @Test(arguments: [1, 3])
    func stoppedAndContinuedEqualsUninterrupted(nStep: Int) throws {
        func config() -> DQNConfig { self.config(nStep: nStep) }
        let whole = TrainingRun(directory: directory())
        defer { try? FileManager.default.removeItem(at: whole.directory.url) }
        let uninterrupted = try whole.start(config: config(), environment: "Corridor-6", makeEnv: { Corridor(length: 6, maxSteps: 20) }, force: false)

        var parts = TrainingRun(directory: directory())
        defer { try? FileManager.default.removeItem(at: parts.directory.url) }
        let env = Corridor(length: 6, maxSteps: 20)
        var calls = 0
        parts.hooks.shouldStop = { calls += 1; return calls > 333 }
        let first = try parts.start(config: config(), environment: "Corridor-6", makeEnv: { env }, force: false)
        #expect(first.interrupted && first.state.step == 333)
        #expect(first.episodesInProgress.pendingSteps.map(\.count) == [nStep == 1 ? 0 : min(nStep - 1, first.episodesInProgress.lengths[0])],
                "the episode's last steps wait for their n-step transitions")
        parts.hooks = RunHooks()
        let rest = try parts.resume(makeEnv: { env }, continuing: first.episodesInProgress)
        #expect(rest.state.step == 600 && rest.state.gradientSteps == uninterrupted.state.gradientSteps)
        #expect(rest.learner.online == uninterrupted.learner.online && rest.learner.target == uninterrupted.learner.target)
        // Without the episodes in progress the environment starts a new episode: another run.
        var again = TrainingRun(directory: directory())
        defer { try? FileManager.default.removeItem(at: again.directory.url) }
        let other = Corridor(length: 6, maxSteps: 20)
        calls = 0
        again.hooks.shouldStop = { calls += 1; return calls > 333 }
        _ = try again.start(config: config(), environment: "Corridor-6", makeEnv: { other }, force: false)
        again.hooks = RunHooks()
        let reset = try again.resume(makeEnv: { other })
        #expect(reset.learner.online != uninterrupted.learner.online)
    }

    @Test func episodesThatDoNotFitAreRefusedInASentence() throws {
        var run = TrainingRun(directory: directory())
        defer { try? FileManager.default.removeItem(at: run.directory.url) }
        var calls = 0
        run.hooks.shouldStop = { calls += 1; return calls > 10 }
        _ = try run.start(config: config(), environment: "Corridor-6", makeEnv: { Corridor() }, force: false)
        run.hooks = RunHooks()
        let wrong = DQNAlgorithm.EpisodesInProgress(observations: [[1, 0]], returns: [0], lengths: [0])
        #expect(throws: RunError.self) { try run.resume(makeEnv: { Corridor() }, continuing: wrong) }
        do { _ = try run.resume(makeEnv: { Corridor() }, continuing: wrong) } catch {
            #expect("\(error)".contains("The episodes to go on with hold 1 observation of 2 values, where this run steps 1 environment of 6; start new episodes instead."))
        }
    }
}
