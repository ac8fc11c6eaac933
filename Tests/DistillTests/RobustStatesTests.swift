import Checkpoint
import Environments
import NN
import Robustness
import Runs
import Tensor
import Testing

@testable import Distill

@Suite struct RobustStatesTests {
    let batch = Tensor(shape: [4, 2], scalars: [0, 10, 1, 30, 2, 10, 3, 30])

    @Test func spreadIsEachValuesStandardDeviationOverTheBatch() {
        let s = RobustStates.spread(batch)
        #expect(abs(s[0] - Float(1.25).squareRoot()) < 1e-6 && s[1] == 10)
    }

    @Test func noiseIsScaledByEachValuesSpreadAndReproducible() {
        var many: [Float] = []
        for i in 0..<2_000 { many += [Float(i % 2), 100 * Float(i % 3)] }
        let x = Tensor(shape: [2_000, 2], scalars: many)
        let spread = RobustStates.spread(x)
        var a = RobustStates.generator(seed: 3, step: 7), b = RobustStates.generator(seed: 3, step: 7)
        let noisedA = RobustStates.noised(x, spread: spread, level: 0.5, rng: &a)
        #expect(noisedA == RobustStates.noised(x, spread: spread, level: 0.5, rng: &b), "the same seed and step, the same noise")
        let deviation = RobustStates.spread(Tensor(shape: [2_000, 2], scalars: zip(noisedA.scalars, x.scalars).map { $0 - $1 }))
        for c in 0..<2 { #expect(abs(deviation[c] / (0.5 * spread[c]) - 1) < 0.06, "σ = level · spread: \(deviation)") }
    }

    @Test func adversarialStatesStayInTheBallAndFollowTheGradientsSign() {
        let spread = RobustStates.spread(batch)
        // A loss whose input gradient is +1 on value 0 and −1 on value 1, everywhere.
        let gradient: (Tensor) -> Tensor = { z in Tensor(shape: z.shape, scalars: (0..<z.count).map { $0 % 2 == 0 ? 1 : -1 }) }
        for steps in [1, 5] {
            let moved = RobustStates.adversarial(batch, spread: spread, epsilon: 0.2, steps: steps, gradient: gradient)
            for i in 0..<batch.count {
                let radius = 0.2 * spread[i % 2], delta = moved.scalars[i] - batch.scalars[i]
                #expect(abs(abs(delta) - radius) < 1e-5, "the sign's corner of the ball (\(steps) steps)")
                #expect(i % 2 == 0 ? delta > 0 : delta < 0)
            }
        }
    }
}

/// `collect_perturbation` read: kinds joined by +, at most one of each group.
@Suite struct CollectPerturbationTests {
    @Test func kindsJoinedByPlusAreRead() {
        #expect(CollectPerturbation.parse("sticky_actions:0.25") == [.stickyActions(0.25)])
        #expect(CollectPerturbation.parse("dynamics:length=0.5,1.0, 2 + observation_noise:0.3")
                == [.dynamics(name: "length", values: ["0.5", "1.0", "2"]), .observationNoise(0.3)])
        for bad in ["sticky:0.2", "random_actions:2", "observation_noise:-1", "dynamics:length", "dynamics:=1", "dynamics:length=1,,2",
                    "sticky_actions:0.1+random_actions:0.1", "dynamics:a=1+dynamics:b=2", "sticky_actions:0.1+"] {
            #expect(CollectPerturbation.parse(bad) == nil, "\(bad)")
        }
    }

    /// The collecting environment is one per value, opened through `makeEnv` with the value as a
    /// keyword (a built-in environment has no attribute to set); the student then trains as usual.
    @Test func aDynamicsCollectionOpensOneEnvironmentPerValue() throws {
        let teacher = try DistillationResumeTests.savedTeacher()
        var config = DistillationResumeTests.config([teacher.path], steps: 200)
        config.collectPerturbation = "dynamics:max_steps=3,24"
        var opened: [String] = []
        let out = DistillationResumeTests.temporary("dynamics-collect")
        let outcome = try DistillationRun(directory: out).start(config: config, environment: nil, force: false) { recipe, _ in
            opened.append(recipe.arguments["max_steps"].map { "\($0)" } ?? "nominal")
            let steps = recipe.arguments["max_steps"].flatMap { if case .int(let v) = $0 { v } else { nil } } ?? 24
            return Corridor(length: 6, maxSteps: steps)
        }
        // Each value: the nominal environment looked at, then the one made with the keyword; plus the evaluation's.
        #expect(opened.filter { $0 != "nominal" } == ["3", "24"])
        #expect(outcome.labels == 200)
    }
}

/// A robust distillation keeps its model by evaluations under the perturbations it collects through.
@Suite struct PerturbedEvaluationTests {
    @Test func theRunsEvaluationsMeetItsCollectPerturbation() throws {
        let teacher = try DistillationResumeTests.savedTeacher()
        var config = DistillationResumeTests.config([teacher.path], steps: 300)
        config.collectPerturbation = "random_actions:1"
        config.evalInterval = 100
        config.evalEpisodes = 6
        let out = DistillationResumeTests.temporary("perturbed-eval")
        let outcome = try DistillationRun(directory: out).start(config: config, environment: nil, force: false,
                                                                makeEnv: DistillationResumeTests.corridor)
        let student = try ModelDirectory.load(from: out).network
        let perturbed = try evaluateGreedy(student, env: PerturbedEnvironment(Corridor(length: 6, maxSteps: 24), actionNoise: 1),
                                           episodes: 6, seed: config.evalSeed)
        let clean = try evaluateGreedy(student, env: Corridor(length: 6, maxSteps: 24), episodes: 6, seed: config.evalSeed)
        #expect(perturbed.returns != clean.returns, "the test needs a perturbation that changes the returns")
        // Every action random: the run measured the random walks' returns, not the student's own.
        #expect(outcome.bestEvaluation?.returns == perturbed.returns)
    }
}
