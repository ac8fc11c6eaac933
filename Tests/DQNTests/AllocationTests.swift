import CAllocationCounter
@testable import DQN
import Environments
import NN
import Tensor
import Testing

/// The training step allocates nothing once warm: every intermediate of an update and of a
/// round (uniform or prioritized) goes into tensors the learner and the run keep
/// (`UpdateWorkspace`, `RoundWorkspace`). Counted with the test binary's malloc (`CAllocationCounter`).
/// Debug builds allocate inside unspecialized generic code (iterators, witnesses) that an
/// optimized build inlines, so the counts are asserted in release builds (`make test` runs this
/// suite in both).
#if DEBUG
private let optimizedBuild = false
#else
private let optimizedBuild = true
#endif

@Suite(.serialized, .enabled(if: optimizedBuild, "counted in optimized builds only")) struct AllocationTests {
    /// A run past learning starts, with rounds called by hand.
    static func warmAlgorithm(doubleDQN: Bool, dueling: Bool, loss: TDLoss, prioritized: Bool = false) throws -> DQNAlgorithm {
        var cfg = DQNConfig.handDrivenRounds(batchSize: 16, gradientSteps: 4, bufferSize: 100)
        cfg.doubleDQN = doubleDQN
        cfg.dueling = dueling
        cfg.loss = loss
        cfg.prioritizedReplay = prioritized
        var algorithm = try DQNAlgorithm(config: cfg, env: Corridor(length: 6, maxSteps: 24))
        for _ in 0..<120 { try algorithm.advance(compute: { $0() }, report: { _ in }) }
        for _ in 0..<3 { algorithm.trainRound() }  // the workspaces reach their sizes
        return algorithm
    }

    static func allocations(_ body: () -> Void) -> Int {
        allocation_counter_begin()
        body()
        return allocation_counter_end()
    }

    @Test(arguments: [(false, false, TDLoss.huber, false), (true, false, .huber, false), (false, true, .mse, false),
                      (true, true, .huber, false), (false, false, .huber, true), (true, true, .mse, true)])
    func aWarmRoundAllocatesNothing(doubleDQN: Bool, dueling: Bool, loss: TDLoss, prioritized: Bool) throws {
        var algorithm = try Self.warmAlgorithm(doubleDQN: doubleDQN, dueling: dueling, loss: loss, prioritized: prioritized)
        // Copies of the values (a copy of the network would share its storage, and the round's
        // first Adam step would then copy the weights).
        let before = algorithm.learner.online.parameters.map { $0.scalars.map { $0 } }
        let steps = algorithm.learner.optimizer.stepCount
        let counted = Self.allocations { algorithm.trainRound() }
        #expect(counted == 0, "a warm round allocated \(counted) times")
        #expect(algorithm.learner.optimizer.stepCount == steps + 4)
        #expect(algorithm.learner.online.parameters.map(\.scalars) != before, "the round trained")
    }

    @Test func theCounterSeesAllocations() {
        var kept: [[Float]] = []
        let counted = Self.allocations {
            for i in 0..<5 { kept.append([Float](repeating: Float(i), count: 100 + i)) }
        }
        #expect(counted >= 5)
        #expect(kept.count == 5)
    }

    @Test func aWarmUpdateOnTheSameBatchAllocatesNothing() throws {
        let algorithm = try Self.warmAlgorithm(doubleDQN: false, dueling: false, loss: .huber)
        var learner = algorithm.learner
        let batch = algorithm.replay.batch(Array(0..<16))
        // The learner copy's workspace becomes its own; the target values' two buffers take turns.
        for _ in 0..<2 { _ = learner.update(batch) }
        let counted = Self.allocations { _ = learner.update(batch) }
        #expect(counted == 0, "a warm update allocated \(counted) times")
    }
}
