import NN
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
