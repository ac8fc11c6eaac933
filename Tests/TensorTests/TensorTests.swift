import Foundation
import Tensor
import Testing

/// Deterministic pseudo-random values for test inputs.
func values(_ n: Int, seed: Int) -> [Float] {
    (0..<n).map { i in Float(sin(Double(i * 7 + seed * 13) * 0.37)) * 2 }
}

func naiveMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    var c = Tensor(shape: [m, n])
    for i in 0..<m { for j in 0..<n {
        var s: Double = 0
        for p in 0..<k { s += Double(a[i, p]) * Double(b[p, j]) }
        c[i, j] = Float(s)
    } }
    return c
}

/// c + a·b as a kernel set computes it: fused (one rounding) or, where the set multiplies and
/// adds (the portable set on x86-64), with two roundings.
func multiplyAdd(_ c: inout Float, _ a: Float, _ b: Float, fused: Bool) {
    if fused { c.addProduct(a, b) } else { c = c + a * b }
}

func close(_ a: Tensor, _ b: Tensor, tolerance: Float = 1e-4) -> Bool {
    a.shape == b.shape && zip(a.scalars, b.scalars).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
}

@Suite struct MatmulTests {
    @Test(arguments: [(1, 1, 1), (7, 5, 37), (4, 3, 16), (9, 33, 48), (10, 20, 32), (13, 7, 80), (64, 256, 2), (5, 4, 256), (0, 3, 2)])
    func matchesNaiveProduct(m: Int, k: Int, n: Int) {
        let a = Tensor(shape: [m, k], scalars: values(m * k, seed: 1))
        let b = Tensor(shape: [k, n], scalars: values(k * n, seed: 2))
        #expect(close(Tensor.matmul(a, b), naiveMatmul(a, b)))
    }

    @Test func transposedVariants() {
        let a = Tensor(shape: [6, 19], scalars: values(114, seed: 3))
        let b = Tensor(shape: [6, 21], scalars: values(126, seed: 4))
        #expect(close(Tensor.matmul(a, b, transposeA: true), naiveMatmul(a.transposed(), b)))
        let c = Tensor(shape: [21, 19], scalars: values(399, seed: 5))
        #expect(close(Tensor.matmul(a, c, transposeB: true), naiveMatmul(a, c.transposed())))
        #expect(a.transposed().transposed() == a)
        // Narrow outputs (n < 16) take the dot-product path, also with Aᵀ read in place.
        let narrow = Tensor(shape: [6, 3], scalars: values(18, seed: 6))
        #expect(close(Tensor.matmul(a, narrow, transposeA: true), naiveMatmul(a.transposed(), narrow)))
        // Short dot products (k < 16) through a wide output take the transposed-tile path.
        let shortA = Tensor(shape: [5, 3], scalars: values(15, seed: 8)), shortB = Tensor(shape: [20, 3], scalars: values(60, seed: 9))
        #expect(close(Tensor.matmul(shortA, shortB, transposeB: true), naiveMatmul(shortA, shortB.transposed())))
        let tall = Tensor(shape: [3, 19], scalars: values(57, seed: 7))
        #expect(close(Tensor.matmul(a, tall, transposeB: true), naiveMatmul(a, tall.transposed())))
        #expect(close(Tensor.matmul(a.transposed(), c, transposeA: true, transposeB: true), naiveMatmul(a, c.transposed())))
        #expect(a.transposed()[3, 2] == a[2, 3])
    }

    @Test func biasAndReductions() {
        let x = Tensor(rows: [[1, 2, 3], [4, 5, 6]])
        #expect(x.addingBias(Tensor(shape: [3], scalars: [10, 20, 30])) == Tensor(rows: [[11, 22, 33], [14, 25, 36]]))
        #expect(x.sumRows() == Tensor(shape: [3], scalars: [5, 7, 9]))
        #expect(x.sumColumns() == Tensor(shape: [2], scalars: [6, 15]))
        #expect(x.meanRows() == Tensor(shape: [3], scalars: [2.5, 3.5, 4.5]))
        #expect(x.sum() == 21 && x.mean() == 3.5 && x.squaredNorm() == 91)
    }
}

@Suite struct RowOpTests {
    @Test func softmaxIsStableAndNormalised() {
        let x = Tensor(rows: [[1000, 1001, 999], [-1000, -1000, -1000]])
        let p = x.softmaxRows()
        #expect(p.scalars.allSatisfy { $0.isFinite })
        #expect(abs(p.row(0).reduce(0, +) - 1) < 1e-6)
        #expect(abs(p[1, 0] - 1.0 / 3) < 1e-6)
        // exp(1)/(1+exp(1)+exp(-1)) for the middle element
        let e = Foundation.exp(1.0), expected = e / (1 + e + Foundation.exp(-1.0))
        #expect(abs(Double(p[0, 1]) - expected) < 1e-6)
    }

    @Test func temperatureScalesLogits() {
        let x = Tensor(rows: [[0.5, 0.52, 0.4]])
        let direct = (x * (1 / 0.01)).logSoftmaxRows()
        #expect(close(x.logSoftmaxRows(temperature: 0.01), direct, tolerance: 1e-5))
        #expect(x.softmaxRows(temperature: 0.01)[0, 1] > 0.85)
    }

    @Test func argmaxGatherScatter() {
        let q = Tensor(rows: [[1, 3, 3], [5, 2, 0], [-1, -2, -0.5]])
        #expect(q.argmaxRows() == [1, 0, 2])  // ties go to the first
        #expect(q.maxRows().scalars == [3, 5, -0.5])
        let g = q.gather(columns: [2, 1, 0])
        #expect(g.scalars == [3, 2, -1])
        #expect(Tensor.scatter(g, columns: [2, 1, 0], shape: [3, 3]) == Tensor(rows: [[0, 0, 3], [0, 2, 0], [-1, 0, 0]]))
    }

    @Test func activations() {
        let x = Tensor(shape: [4], scalars: [-1, 0, 0.5, 2])
        #expect(x.relu().scalars == [0, 0, 0.5, 2])
        #expect(Tensor.reluBackward(Tensor(shape: [4], repeating: 1), input: x).scalars == [0, 0, 1, 1])
        #expect(abs(x.tanh().scalars[3] - Float(Foundation.tanh(2.0))) < 1e-7)
    }
}
