@testable import DQN
import Environments
import NN
import Tensor
import Testing

/// A round batches the target network's values of its next states (`trainUniformRound`) and keeps
/// them per replay slot until the target network changes or the slot is overwritten; it must give
/// the same bits as the plain loop — draw a minibatch, compute its targets, update — step by step.
@Suite struct TrainRoundTests {
    @Test(arguments: [false, true])
    func batchedTargetValuesEqualStepByStep(doubleDQN: Bool) throws {
        var cfg = DQNConfig.handDrivenRounds(batchSize: 13, gradientSteps: 9, bufferSize: 40)  // 40 wraps: slots are reused
        cfg.targetUpdateInterval = 80  // the target network changes after the fourth round below
        cfg.doubleDQN = doubleDQN
        var algorithm = try DQNAlgorithm(config: cfg, env: Corridor(length: 6, maxSteps: 24))
        for _ in 0..<70 { try algorithm.advance(compute: { $0() }, report: { _ in }) }
        var reference = algorithm.learner
        var rng = algorithm.state.rng
        for round in 0..<6 {  // after the first round the online and target networks differ
            let epoch = algorithm.targetEpoch
            algorithm.trainUniformRound()
            for _ in 0..<cfg.gradientSteps {
                _ = reference.update(algorithm.replay.batch(algorithm.replay.sampleIndices(cfg.batchSize, rng: &rng)))
            }
            #expect(algorithm.learner.online == reference.online, "round \(round)")
            #expect(algorithm.state.rng == rng)
            #expect(algorithm.cachedEpoch.filter { $0 == epoch }.count > 0)
            if round % 2 == 1 {
                // New transitions overwrite slots (cached values must go), and at step 80 the
                // target network is replaced (every cached value must go).
                for _ in 0..<6 { try algorithm.advance(compute: { $0() }, report: { _ in }) }
                #expect(algorithm.learner.online == reference.online)
                reference = algorithm.learner
                rng = algorithm.state.rng
            }
        }
        #expect(algorithm.targetEpoch == 1)
        #expect(algorithm.learner.online != algorithm.learner.target)
    }

    /// Each gradient step of a prioritized round samples with the priorities the previous step
    /// set, as in Schaul et al. and SB3 (an earlier build sampled a whole round from the
    /// priorities it started with).
    @Test func prioritizedStepsSampleFromTheUpdatedPriorities() throws {
        var cfg = DQNConfig.handDrivenRounds(batchSize: 13, gradientSteps: 9, bufferSize: 40)
        cfg.prioritizedReplay = true
        var algorithm = try DQNAlgorithm(config: cfg, env: Corridor(length: 6, maxSteps: 24))
        for _ in 0..<70 { try algorithm.advance(compute: { $0() }, report: { _ in }) }
        var reference = algorithm.learner
        var sampler = try #require(algorithm.prioritized)
        var rng = algorithm.state.rng
        let beta = cfg.priorityBetaInitial + (1 - cfg.priorityBetaInitial) * Float(algorithm.state.step) / Float(cfg.totalSteps)
        algorithm.trainRound()
        var drawnSets: Set<[Int]> = []
        for _ in 0..<cfg.gradientSteps {
            let drawn = sampler.sample(cfg.batchSize, count: algorithm.replay.count, beta: beta, rng: &rng)
            let (_, td) = reference.update(algorithm.replay.batch(drawn.indices, weights: drawn.weights))
            sampler.update(indices: drawn.indices, tdErrors: td)
            drawnSets.insert(drawn.indices)
        }
        #expect(algorithm.learner.online == reference.online)
        #expect(algorithm.state.rng == rng)
        #expect(algorithm.prioritized?.tree.total == sampler.tree.total)
        #expect(drawnSets.count > 1, "the steps drew different minibatches")
    }
}
