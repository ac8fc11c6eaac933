@testable import DQN
import Checkpoint
import Environments
import Foundation
import NN
import Tensor
import Testing

/// DQN on several environments stepped together (`environment_count`, SB3's n_envs), with
/// SB3's semantics: a step acts in every environment and counts that many timesteps; a training
/// round comes every `train_frequency` steps with (for −1) as many gradient steps as the round's
/// timesteps; the target network follows every `target_update_interval / n` steps.
@Suite struct VectorEnvironmentTests {
    func config(_ count: Int) -> DQNConfig {
        var cfg = DQNConfig()
        cfg.environmentCount = count
        cfg.totalSteps = 240
        cfg.hiddenSizes = [8]
        cfg.learningStarts = 0
        cfg.batchSize = 4
        cfg.bufferSize = 500
        cfg.trainFrequency = 2
        cfg.gradientSteps = -1
        cfg.targetUpdateInterval = 12
        cfg.evalInterval = 0
        return cfg
    }

    func corridors(_ count: Int) -> [any Environment] { (0..<count).map { _ in Corridor(length: 5, maxSteps: 20) } }

    @Test func aStepActsInEveryEnvironmentAndCountsAsThatManyTimesteps() throws {
        var algorithm = try DQNAlgorithm(config: config(3), envs: corridors(3))
        var episodes: [Int] = []
        for _ in 0..<10 { try algorithm.advance(compute: { $0() }, report: { if case .episode(let e) = $0 { episodes.append(e.step) } }) }
        #expect(algorithm.state.step == 30)
        #expect(algorithm.replay.count == 30, "one transition per environment per step")
        #expect(episodes.allSatisfy { $0 % 3 == 0 }, "episodes end on steps of all three")
        // Rounds every 2 steps (6 timesteps), each of 6 gradient steps once a batch is there:
        // steps 2, 4, …, 10 → 5 rounds.
        #expect(algorithm.state.gradientSteps == 5 * 6)
        // The target follows every 12 / 3 = 4 steps: at steps 4 and 8.
        #expect(algorithm.targetEpoch == 2)
    }

    @Test func aVectorRunIsReproducibleAndOneEnvironmentIsThePlainRun() throws {
        let a = try DQNTrainer(config: config(2)).train(envs: corridors(2), evalEnv: nil)
        let b = try DQNTrainer(config: config(2)).train(envs: corridors(2), evalEnv: nil)
        #expect(a.learner.online == b.learner.online && a.state.step == 240)
        // SB3's −1: a gradient step per timestep (rounds of 2 steps × 2 environments).
        #expect(a.state.gradientSteps == 240)
        let single = try DQNTrainer(config: config(1)).train(envs: corridors(1), evalEnv: nil)
        let plain = try DQNTrainer(config: config(1)).train(env: Corridor(length: 5, maxSteps: 20), evalEnv: nil)
        #expect(single.learner.online == plain.learner.online)
        #expect(single.learner.online != a.learner.online)
    }

    @Test func theCountMustMatchTheEnvironments() throws {
        #expect { try DQNAlgorithm(config: config(3), envs: corridors(2)) } throws: {
            "\($0)".contains("environment_count") && "\($0)".contains("3 but 2 environments were given")
        }
    }
}

/// `initial_model`: a new run starts both networks from a model directory's weights.
@Suite struct InitialModelTests {
    @Test func aRunStartsFromTheModelsWeightsOrSaysWhyNot() throws {
        var cfg = DQNConfig()
        cfg.hiddenSizes = [8]
        cfg.totalSteps = 200
        cfg.evalInterval = 0
        let trained = try DQNTrainer(config: cfg).train(env: Corridor(length: 5, maxSteps: 20), evalEnv: nil)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("initial-\(UUID().uuidString)")
        try ModelDirectory.save(trained.learner.online, to: directory)
        var warm = cfg
        warm.initialModel = directory.path
        warm.seed = 9
        let algorithm = try DQNAlgorithm(config: warm, env: Corridor(length: 5, maxSteps: 20))
        #expect(algorithm.learner.online == trained.learner.online && algorithm.learner.target == trained.learner.online)
        var wider = warm
        wider.hiddenSizes = [16]
        #expect { try DQNAlgorithm(config: wider, env: Corridor(length: 5, maxSteps: 20)) } throws: {
            "\($0)".contains("give a model of the same network")
        }
    }
}
