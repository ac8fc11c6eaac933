import Distill
import Foundation
import NN
import Tensor
import Testing

func features(_ n: Int, _ d: Int, seed: Int) -> Tensor {
    Tensor(shape: [n, d], scalars: (0..<(n * d)).map { Float(sin(Double($0 * 5 + seed * 11) * 0.71)) })
}

/// Central differences of a loss in Double precision would need a Double re-implementation;
/// the relational losses are smooth enough that Float differences with h = 1e-2 agree to 1e-3.
func finiteDifferenceCheck(_ s: Tensor, _ loss: (Tensor) -> LossResult) {
    let analytic = loss(s).gradient
    let h: Float = 1e-2
    for i in 0..<s.rowCount { for c in 0..<s.columnCount {
        var p = s, m = s
        p[i, c] += h; m[i, c] -= h
        let numeric = (loss(p).value - loss(m).value) / (2 * h)
        #expect(abs(analytic[i, c] - numeric) < 2e-3, "[\(i), \(c)]: \(analytic[i, c]) vs \(numeric)")
    } }
}

@Suite struct RelationalLossTests {
    @Test func distanceLossHandWorked() {
        // Teacher: three points on a line at 0, 1, 2 → distances 1, 2, 1, mean 4/3 → ψ = 0.75, 1.5, 0.75.
        let t = Tensor(rows: [[0], [1], [2]])
        #expect(RelationalLoss.distance(student: t, teacher: t).value == 0)
        // A scaled copy has the same normalised structure: zero loss, whatever the width.
        let scaled = Tensor(rows: [[0, 0], [3, 0], [6, 0]])
        #expect(abs(RelationalLoss.distance(student: scaled, teacher: t).value) < 1e-7)
        // Student: an equilateral triangle, all distances equal → ψ_S = 1, 1, 1.
        let tri = Tensor(rows: [[0, 0], [1, 0], [0.5, Float(3).squareRoot() / 2]])
        // Huber of differences (0.25, −0.5, 0.25): (0.03125 + 0.125 + 0.03125) / 3.
        #expect(abs(RelationalLoss.distance(student: tri, teacher: t).value - 0.1875 / 3) < 1e-6)
    }

    @Test func angleLossHandWorked() {
        let t = Tensor(rows: [[0, 0], [1, 0], [0, 1]])  // right angle at row 0, 45° at rows 1 and 2
        #expect(RelationalLoss.angle(student: t, teacher: t).value == 0)
        let rotated = Tensor(rows: [[1, 1], [1, 3], [-1, 1]])  // the same triangle, rotated and scaled by 2
        #expect(abs(RelationalLoss.angle(student: rotated, teacher: t).value) < 1e-6)
        // A degenerate (collinear) student: cosines are ±1 instead of 0 and √2/2.
        let line = Tensor(rows: [[0, 0], [1, 0], [2, 0]])
        let c = Float(2).squareRoot() / 2
        // Ordered triplets (i, j, k): angle at j. Student cosines: at row 0: +1 (twice), at row 1: −1 (twice), at row 2: +1 (twice).
        // Teacher cosines: at row 0: 0, at rows 1 and 2: c.
        func huber(_ d: Float) -> Float { abs(d) < 1 ? 0.5 * d * d : abs(d) - 0.5 }
        let expected = (2 * huber(1 - 0) + 2 * huber(-1 - c) + 2 * huber(1 - c)) / 6
        #expect(abs(RelationalLoss.angle(student: line, teacher: t).value - expected) < 1e-6)
    }

    @Test func gradientsMatchFiniteDifferences() {
        let s = features(6, 4, seed: 1), t = features(6, 7, seed: 2)
        finiteDifferenceCheck(s) { RelationalLoss.distance(student: $0, teacher: t) }
        finiteDifferenceCheck(s) { RelationalLoss.angle(student: $0, teacher: t) }
    }

    @Test func theAngleTermOnTheFirstRowsReadsTheirBlockOfTheBatchGram() {
        // The loss reads the first m rows' block of the whole batch's Gram matrix: the same
        // value and gradient as on those rows alone, and no gradient for the other rows.
        let s = features(9, 4, seed: 3), t = features(9, 7, seed: 4)
        func head(_ x: Tensor) -> Tensor { Tensor(shape: [5, x.columnCount], scalars: Array(x.scalars.prefix(5 * x.columnCount))) }
        let block = RelationalLoss.angle(student: s, teacher: t, rows: 5), alone = RelationalLoss.angle(student: head(s), teacher: head(t))
        #expect(abs(block.value - alone.value) < 1e-6 && alone.value > 0)
        #expect(zip(head(block.gradient).scalars, alone.gradient.scalars).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(block.gradient.scalars.dropFirst(5 * 4).allSatisfy { $0 == 0 })
    }
}

@Suite struct FeatureLossTests {
    @Test func handWorkedProjection() {
        // Student features h = [[1, 2]], projection W = [[1, 0, 1], [0, 1, 1]], b = [0, 0, 1]:
        // h·W + b = [1, 2, 4]; teacher t = [1, 1, 1] → residual [0, 1, 3], MSE = (0 + 1 + 9)/3.
        let proj = Linear(weight: Tensor(rows: [[1, 0, 1], [0, 1, 1]]), bias: Tensor(shape: [3], scalars: [0, 0, 1]))
        let f = FeatureLoss.compute(studentHidden: Tensor(rows: [[1, 2]]), projection: proj, teacherHidden: Tensor(rows: [[1, 1, 1]]))
        #expect(abs(f.value - 10.0 / 3) < 1e-6)
        // dL/d(out) = 2/3 · [0, 1, 3]; dL/dh = dOut · Wᵀ = 2/3 · [0 + 3, 1 + 3]
        #expect(f.hiddenGradient == Tensor(rows: [[2, 8.0 / 3]]))
        // dL/dW = hᵀ · dOut; dL/db = dOut
        #expect(f.weightGradient == Tensor(rows: [[0, 2.0 / 3, 2], [0, 4.0 / 3, 4]]))
        #expect(f.biasGradient.scalars == [0, 2.0 / 3, 2])
    }

    @Test func gradientMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 4)
        let proj = Linear(inputs: 4, outputs: 3, rng: &rng)
        let t = features(5, 3, seed: 8)
        finiteDifferenceCheck(features(5, 4, seed: 9)) { h in
            let f = FeatureLoss.compute(studentHidden: h, projection: proj, teacherHidden: t)
            return LossResult(value: f.value, gradient: f.hiddenGradient)
        }
    }
}
