import Checkpoint
import Distill
import Environments
import Foundation
import NN
import Quantization
import Runs
import Tensor
import Testing

/// A quantisation-aware distillation scores its student as it will be deployed: the int8
/// network of its trained ranges, so the run keeps the best int8 student.
@Suite struct QuantisationAwareEvaluationTests {
    /// Random observations in [-1, 1]⁶; the reward of action a is observation[a], so a return
    /// depends on every action taken. 40 steps an episode.
    final class Scatter: Environment {
        let spec = EnvironmentSpec(name: "Scatter", observationShape: [6], actionCount: 2)
        private var rng = SeededGenerator(seed: 0), current: [Float] = [], steps = 0
        func reset(seed: Int?) throws -> [Float] {
            rng = SeededGenerator(seed: UInt64(seed ?? 0))
            steps = 0
            current = (0..<6).map { _ in rng.uniform(-1, 1) }
            return current
        }
        func step(_ action: Int) throws -> Step {
            let reward = Double(current[action])
            steps += 1
            current = (0..<6).map { _ in rng.uniform(-1, 1) }
            return Step(observation: current, reward: reward, terminated: false, truncated: steps >= 40)
        }
    }

    @Test func theRunEvaluatesTheInt8NetworkOfItsTrainedRanges() throws {
        let teacher = DistillationResumeTests.temporary("qat-eval-teacher")
        // A teacher whose two Q-values are close everywhere: float and int8 students disagree on some states.
        try ModelDirectory.save(MLP(inputSize: 6, hiddenSizes: [16], outputSize: 2, seed: 5), to: teacher, environment: "Scatter")
        let states = DistillationResumeTests.temporary("qat-eval-states.npy")
        var rng = SeededGenerator(seed: 3)
        try NumPyFile.write(Tensor(shape: [300, 6], scalars: (0..<1_800).map { _ in rng.uniform(-1, 1) }), to: states)
        var config = DistillConfig()
        config.teachers = [teacher.path]
        config.hiddenSizes = [8]
        config.regime = .offline
        config.offlineObservations = states.path
        config.steps = 300
        config.batchSize = 16
        config.quantize = .int8
        config.evalInterval = 0
        config.evalEpisodes = 5
        config.checkpointInterval = 0
        let out = DistillationResumeTests.temporary("qat-eval")
        let outcome = try DistillationRun(directory: out).start(config: config, environment: nil, force: false) { _, _ in Scatter() }
        let ranges = try #require(ModelDirectory.load(from: out).manifest.quantizerRanges)
        let int8 = try Int8Quantizer.quantize(outcome.student, calibration: .empty, ranges: ranges)
        let asInt8 = try evaluate(Scatter(), episodes: 5, seed: config.evalSeed) { int8.action($0) }
        let asFloat = try evaluateGreedy(outcome.student, env: Scatter(), episodes: 5, seed: config.evalSeed)
        #expect(asInt8.returns != asFloat.returns, "the test needs a student whose int8 and float actions differ")
        #expect(outcome.bestEvaluation?.returns == asInt8.returns)
    }
}
