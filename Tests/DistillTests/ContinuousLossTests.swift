import Distill
import Foundation
import NN
import Tensor
import Testing

/// The losses for continuous teachers (issue 31): values worked by hand and gradients against
/// finite differences.
@Suite struct ContinuousLossTests {
    @Test func gaussianKLIsTheKLBetweenGaussiansOfOneSigma() {
        // KL(N(μt, σ²) ‖ N(μs, σ²)) = (μs − μt)² / (2σ²) per dimension, summed, averaged over rows.
        let loss = GaussianKLLoss(logStd: [0, Float(log(2.0))])  // σ = 1 and 2
        let s = Tensor(rows: [[1, 3], [0, 0]]), t = Tensor(rows: [[0, 1], [0, 2]])
        let expected: Float = ((1.0 / 2 + 4.0 / 8) + (0 + 4.0 / 8)) / 2
        #expect(abs(loss.compute(student: s, teacher: t).value - expected) < 1e-6)
        #expect(loss.compute(student: t, teacher: t).value == 0)
        finiteDifferenceCheck(features(5, 2, seed: 3)) { loss.compute(student: $0, teacher: features(5, 2, seed: 4)) }
    }

    @Test func actionMSEComparesSquashedAndClippedActions() {
        let low: [Float] = [-2, 0], high: [Float] = [2, 1]
        let squashed = ActionMSELoss(head: .squashed, low: low, high: high)
        // Outputs 0 are the middle of each box: (0, 0.5); tanh(∞) is the top.
        let s = Tensor(rows: [[0, 0]]), t = Tensor(rows: [[30, 0]])
        #expect(abs(squashed.compute(student: s, teacher: t).value - (4.0 + 0) / 2) < 1e-5)
        finiteDifferenceCheck(features(4, 2, seed: 5)) { squashed.compute(student: $0, teacher: features(4, 2, seed: 6)) }
        // The clip: outputs beyond the bounds give the bound's action and no gradient.
        let clipped = ActionMSELoss(head: .gaussian, low: low, high: high)
        let r = clipped.compute(student: Tensor(rows: [[5, 0.5]]), teacher: Tensor(rows: [[1, 0.25]]))
        #expect(abs(r.value - (1.0 + 0.0625) / 2) < 1e-6)
        #expect(r.gradient.scalars[0] == 0 && abs(r.gradient.scalars[1] - 0.25) < 1e-6)
    }
}
