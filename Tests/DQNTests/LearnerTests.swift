import Checkpoint
import DQN
import Environments
import Foundation
import NN
import Runs
import Tensor
import Testing

/// A learner whose networks are single linear layers with chosen weights, so Q-values are known.
func linearLearner(double: Bool, online: [[Float]], target: [[Float]]) -> DQNLearner {
    var cfg = DQNConfig()
    cfg.doubleDQN = double
    cfg.gamma = 0.9
    func net(_ w: [[Float]]) -> MLP {
        MLP(layers: [Linear(weight: Tensor(rows: w), bias: Tensor(shape: [w[0].count]))], activation: .relu)
    }
    return DQNLearner(online: net(online), target: net(target), optimizer: Adam(), actionCount: 3, config: cfg)
}

@Suite struct LearnerTests {
    // With observation s' = [1, 0]: online Q = [1, 5, 2], target Q = [4, 0, 3].
    let online: [[Float]] = [[1, 5, 2], [0, 0, 0]]
    let target: [[Float]] = [[4, 0, 3], [0, 0, 0]]

    func batch(discount: Float) -> TransitionBatch {
        var buffer = ReplayBuffer(capacity: 2, observationSize: 2)
        buffer.add(Transition(observation: [0, 1], action: 0, reward: 1, nextObservation: [1, 0], terminated: false, discount: discount))
        buffer.add(Transition(observation: [0, 1], action: 0, reward: 1, nextObservation: [1, 0], terminated: true, discount: discount))
        return buffer.batch([0, 1])
    }

    @Test func dqnTargetUsesTheTargetNetworksMax() {
        let y = linearLearner(double: false, online: online, target: target).targets(batch(discount: 0.9))
        #expect(y.scalars == [1 + 0.9 * 4, 1])
    }

    @Test func doubleDQNTargetEvaluatesTheOnlineArgmax() {
        // online argmax is action 1; the target network values it at 0.
        let y = linearLearner(double: true, online: online, target: target).targets(batch(discount: 0.9))
        #expect(y.scalars == [1 + 0.9 * 0, 1])
        // n-step: the stored discount γ^k replaces γ.
        let y3 = linearLearner(double: false, online: online, target: target).targets(batch(discount: 0.729))
        #expect(abs(y3.scalars[0] - (1 + 0.729 * 4)) < 1e-6)
    }

    @Test func targetUpdateHardAndPolyak() {
        var cfg = DQNConfig()
        cfg.hiddenSizes = [4]
        var learner = DQNLearner(observationSize: 2, actionCount: 2, config: cfg)
        var buffer = ReplayBuffer(capacity: 8, observationSize: 2)
        for i in 0..<8 { buffer.add(Transition(observation: [Float(i), 1], action: i % 2, reward: 1, nextObservation: [0, 1], terminated: false, discount: 0.99)) }
        _ = learner.update(buffer.batch(Array(0..<8)))
        #expect(learner.online != learner.target)
        learner.updateTarget()
        #expect(learner.online == learner.target)

        cfg.tau = 0.25
        var soft = DQNLearner(observationSize: 2, actionCount: 2, config: cfg)
        let before = soft.target.parameters
        _ = soft.update(buffer.batch(Array(0..<8)))
        soft.updateTarget()
        for (i, t) in soft.target.parameters.enumerated() {
            let expected = soft.online.parameters[i] * 0.25 + before[i] * 0.75
            for (a, b) in zip(t.scalars, expected.scalars) { #expect(abs(a - b) < 1e-6) }
        }
    }

    @Test func duelingAggregationAndItsFold() {
        let raw = Tensor(rows: [[2, 1, 3, -1], [0, 0, 0, 3]])
        let q = DuelingHead.combine(raw)
        #expect(q == Tensor(rows: [[2 + 1 - 1, 2 + 3 - 1, 2 - 1 - 1], [-1, -1, 2]]))
        // backward against finite differences of Σ c ⊙ combine(raw)
        let c = Tensor(rows: [[1, -2, 0.5], [3, 1, -1]])
        let g = DuelingHead.backward(c)
        let h: Float = 1e-2
        for i in 0..<2 { for j in 0..<4 {
            var p = raw, m = raw
            p[i, j] += h; m[i, j] -= h
            let numeric = ((DuelingHead.combine(p) * c).sum() - (DuelingHead.combine(m) * c).sum()) / (2 * h)
            #expect(abs(g[i, j] - numeric) < 1e-3)
        } }
        let net = MLP(inputSize: 3, hiddenSizes: [5], outputSize: 4, seed: 2)
        let x = Tensor(shape: [2, 3], scalars: [0.1, -0.3, 0.7, 1, 0.2, -0.5])
        let folded = DuelingHead.folded(net)
        for (a, b) in zip(folded(x).scalars, DuelingHead.combine(net(x)).scalars) { #expect(abs(a - b) < 1e-5) }
    }
}

@Suite struct TrainingRunTests {
    func corridorConfig(seed: Int) -> DQNConfig {
        var c = DQNConfig()
        c.totalSteps = 3_000
        c.seed = seed
        c.hiddenSizes = [32]
        c.learningRate = 1e-3
        c.learningStarts = 200
        c.trainFrequency = 4
        c.gradientSteps = 1
        c.targetUpdateInterval = 100
        c.bufferSize = 5_000
        c.batchSize = 32
        c.explorationFraction = 0.3
        c.explorationFinal = 0.05
        c.gamma = 0.9
        c.evalInterval = 1_000
        c.evalEpisodes = 2
        return c
    }

    @Test(arguments: [(false, false, 1, false), (true, true, 3, true)])
    func learnsTheCorridorsOptimalPolicy(double: Bool, dueling: Bool, nStep: Int, prioritized: Bool) throws {
        var cfg = corridorConfig(seed: 4)
        cfg.doubleDQN = double
        cfg.dueling = dueling
        cfg.nStep = nStep
        cfg.prioritizedReplay = prioritized
        let outcome = try DQNTrainer(config: cfg).train(env: Corridor(length: 6, maxSteps: 24), evalEnv: Corridor(length: 6, maxSteps: 24))
        let policy = outcome.learner.policyNetwork
        for cell in 0..<5 {
            var obs = [Float](repeating: 0, count: 6)
            obs[cell] = 1
            #expect(policy(Tensor(shape: [1, 6], scalars: obs)).argmaxRows()[0] == 1, "cell \(cell) should go right")
        }
        let eval = try evaluateGreedy(policy, env: Corridor(length: 6, maxSteps: 24), episodes: 3, seed: 0)
        #expect(eval.returns == [1, 1, 1] && eval.lengths == [5, 5, 5])
        #expect(outcome.state.gradientSteps == (3_000 - 200) / 4)
    }

    @Test func sameSeedSameWeightsBitForBit() throws {
        let cfg = corridorConfig(seed: 9)
        let a = try DQNTrainer(config: cfg).train(env: Corridor(), evalEnv: nil)
        let b = try DQNTrainer(config: cfg).train(env: Corridor(), evalEnv: nil)
        #expect(a.learner.online == b.learner.online && a.learner.target == b.learner.target)
        var other = cfg
        other.seed = 10
        #expect(try DQNTrainer(config: other).train(env: Corridor(), evalEnv: nil).learner.online != a.learner.online)
    }

    @Test func checkpointAndResumeRestoreTheLearner() throws {
        var run = TrainingRun(directory: FileManager.default.temporaryDirectory.appendingPathComponent("dqn-run-\(UUID().uuidString)"))
        let dir = run.directory
        var cfg = corridorConfig(seed: 1)
        cfg.totalSteps = 600
        cfg.evalInterval = 0
        var calls = 0
        run.hooks.shouldStop = { calls += 1; return calls > 400 }
        let stopped = try run.start(config: cfg, environment: "Corridor-6", makeEnv: { Corridor() }, force: false)
        #expect(stopped.interrupted && stopped.state.step == 400)
        let restored = try run.loadCheckpoint()
        let learner = try DQNLearner(restoring: restored, config: restored.config)
        #expect(learner.online == stopped.learner.online)
        #expect(learner.target == stopped.learner.target)
        #expect(learner.optimizer.state == stopped.learner.optimizer.state)
        #expect(restored.state.step == 400 && restored.state.rng == stopped.state.rng && restored.environment == "Corridor-6")
        let finished = try DQNTrainer(config: cfg).train(env: Corridor(), evalEnv: nil, resume: (learner, restored.state))
        #expect(!finished.interrupted && finished.state.step == 600)
        #expect(throws: RunError.self) { try dir.prepareNew(force: false) }
    }

    @Test func configFilesAndValidation() throws {
        let base = DQNConfig.defaults(for: "Acrobot-v1")
        #expect(base.learningRate == 6.3e-4 && base.gradientSteps == -1 && base.resolvedGradientSteps == 4)
        let file = Data(#"{"Acrobot-v1": {"learning_rate": 0.001, "doubleDQN": true, "hidden_sizes": [64, 64]}, "CartPole-v1": {"gamma": 0.5}}"#.utf8)
        let c = try base.applying(json: file, environment: "Acrobot-v1", source: "f.json")
        #expect(c.learningRate == 0.001 && c.doubleDQN && c.hiddenSizes == [64, 64] && c.gamma == 0.99)
        #expect { try base.applying(json: Data(#"{"learning_rat": 1}"#.utf8), environment: "x", source: "f.json") } throws: {
            ($0 as? RunError)?.description.contains("unknown setting 'learning_rat'") ?? false
        }
        var bad = DQNConfig()
        bad.gamma = 1.5
        #expect(bad.validationError() == "--gamma must be in (0, 1] (got 1.5).")
        bad = DQNConfig()
        bad.batchSize = 0
        #expect(bad.validationError()?.hasPrefix("--batch-size must be at least 1") == true)
        #expect(DQNConfig().validationError() == nil)
    }
}
