import Foundation
import Tensor
import Testing

/// Products skip the inner indices, rows and columns that only add exact zeros (a ReLU network's
/// inactive units). They must give the bits of the full product: each element the same fma chain
/// (tiles) or the same eight-lane dot product (A·Bᵀ), on every instruction set.
@Suite struct CompactionTests {
    /// Values with ReLU-like zeros: whole columns zero (units off for the batch), zero runs within
    /// strips of six rows, scattered zeros, and a few negative zeros.
    static func sparse(rows: Int, cols: Int, seed: Int) -> [Float] {
        var x = values(rows * cols, seed: seed)
        for i in 0..<rows {
            for p in 0..<cols {
                let deadColumn = (p * 7 + seed) % 10 < 6
                let deadInStrip = ((i / 6) * 3 + p + seed) % 4 == 0
                if deadColumn || deadInStrip || x[i * cols + p] < -1 { x[i * cols + p] = (i + p) % 5 == 0 ? -0.0 : 0 }
            }
        }
        return x
    }

    /// C = A·B with each element one fma chain over p = 0, 1, …, k-1 (the tiles' order); `fused`
    /// false: each multiply-add rounded twice, as a set without FMA computes it.
    static func chain(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int, fused: Bool = true) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { multiplyAdd(&s, a[i * k + p], b[p * n + j], fused: fused) }
                c[i * n + j] = s
            }
        }
        return c
    }

    /// C = A·Bᵀ as the dot products sum: eight lanes (p to lane p mod 8), reduced in the fixed tree,
    /// then the k mod 8 last terms in order, then added to a zero C.
    static func dots(_ a: [Float], _ bt: [Float], m: Int, k: Int, n: Int, fused: Bool = true) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        let k8 = k / 8 * 8
        for i in 0..<m {
            for j in 0..<n {
                var lane = [Float](repeating: 0, count: 8)
                for p in 0..<k8 { multiplyAdd(&lane[p % 8], a[i * k + p], bt[j * k + p], fused: fused) }
                var total = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]))
                for p in k8..<k { multiplyAdd(&total, a[i * k + p], bt[j * k + p], fused: fused) }
                c[i * n + j] = 0 + total
            }
        }
        return c
    }

    static let shapes: [(m: Int, k: Int, n: Int)] = [(64, 256, 256), (64, 256, 3), (100, 64, 300), (13, 130, 33), (20, 12, 70),
                                                      (256, 64, 64), (64, 2, 256), (130, 256, 256), (1, 256, 256), (5, 256, 100),
                                                      (32, 300, 300), (48, 260, 300)]

    @Test func sparseProductsGiveTheFullProductsBits() throws {
        for s in Self.shapes {
            let a = Self.sparse(rows: s.m, cols: s.k, seed: s.m)
            let b = values(s.k * s.n, seed: s.n)
            let bt = values(s.n * s.k, seed: s.n + 1)
            // Narrow outputs (n < 16, Q-value heads) go through the dot products, the rest through the tiles.
            var bT = [Float](repeating: 0, count: s.k * s.n)
            for p in 0..<s.k { for j in 0..<s.n { bT[j * s.k + p] = b[p * s.n + j] } }
            func expected(_ f: Bool) -> [Float] { s.n < 16 ? Self.dots(a, bT, m: s.m, k: s.k, n: s.n, fused: f) : Self.chain(a, b, m: s.m, k: s.k, n: s.n, fused: f) }
            // Aᵀ·B with both operands sparse by column (a weight gradient Xᵀ·dY).
            let x = Self.sparse(rows: s.k, cols: s.m, seed: 3), dy = Self.sparse(rows: s.k, cols: s.n, seed: 5)
            var xt = [Float](repeating: 0, count: s.m * s.k)
            for p in 0..<s.k { for i in 0..<s.m { xt[i * s.k + p] = x[p * s.m + i] } }
            var dyT = [Float](repeating: 0, count: s.k * s.n)
            for p in 0..<s.k { for j in 0..<s.n { dyT[j * s.k + p] = dy[p * s.n + j] } }
            func expectedGradient(_ f: Bool) -> [Float] {
                s.n < 16 ? Self.dots(xt, dyT, m: s.m, k: s.k, n: s.n, fused: f) : Self.chain(xt, dy, m: s.m, k: s.k, n: s.n, fused: f)
            }
            // A·Bᵀ: the tiles' chain when B is transposed first (short k, small B) or, for a wide B and
            // a batch of whole vectors, read in place (as Cᵀ = B·Aᵀ); else the dot products.
            let wide = s.k * s.n > 65536 && s.m % 16 == 0 && s.m >= 16
            let viaTiles = s.n >= 16 && (s.k < 16 || s.k * s.n <= 8192 || (s.k * s.n <= 65536 && s.m >= 128) || wide)
            var bOfBt = [Float](repeating: 0, count: s.k * s.n)
            for j in 0..<s.n { for p in 0..<s.k { bOfBt[p * s.n + j] = bt[j * s.k + p] } }
            func expectedBt(_ f: Bool) -> [Float] {
                viaTiles ? Self.chain(a, bOfBt, m: s.m, k: s.k, n: s.n, fused: f) : Self.dots(a, bt, m: s.m, k: s.k, n: s.n, fused: f)
            }
            for name in Kernels.availableInstructionSets {
                guard let (ab, gradient, abt) = Kernels.with(instructionSet: name, {
                    (Tensor.matmul(Tensor(shape: [s.m, s.k], scalars: a), Tensor(shape: [s.k, s.n], scalars: b)).scalars,
                     Tensor.matmul(Tensor(shape: [s.k, s.m], scalars: x), Tensor(shape: [s.k, s.n], scalars: dy), transposeA: true).scalars,
                     Tensor.matmul(Tensor(shape: [s.m, s.k], scalars: a), Tensor(shape: [s.n, s.k], scalars: bt), transposeB: true).scalars)
                }) else { continue }
                let fused = Kernels.fusesMultiplyAdd(name)
                #expect(ab.elementsEqual(expected(fused), by: Self.sameBits), "\(name): sparse A·B of \(s) differs from the full product")
                #expect(gradient.elementsEqual(expectedGradient(fused), by: Self.sameBits), "\(name): sparse Xᵀ·dY of \(s) differs")
                #expect(abt.elementsEqual(expectedBt(fused), by: Self.sameBits), "\(name): sparse A·Bᵀ of \(s) differs")
            }
        }
    }

    /// sameBits, or both NaN.
    static func sameOrBothNaN(_ x: Float, _ y: Float) -> Bool { sameBits(x, y) || (x.isNaN && y.isNaN) }

    /// Bits equal, except that +0 and -0 count as one (a skipped zero term can leave either).
    static func sameBits(_ x: Float, _ y: Float) -> Bool { x.bitPattern == y.bitPattern || (x == 0 && y == 0) }

    @Test(arguments: [(64, 256, 256), (3, 256, 256), (20, 12, 40), (130, 256, 256), (32, 300, 300)])
    func liveColumnsLeaveOnlyDeadColumnsZero(m: Int, k: Int, n: Int) throws {
        let dy = Tensor(shape: [m, k], scalars: Self.sparse(rows: m, cols: k, seed: 2))
        let w = Tensor(shape: [n, k], scalars: values(n * k, seed: 9))
        let h = Tensor(shape: [m, n], scalars: Self.sparse(rows: m, cols: n, seed: 4))
        let full = Tensor.matmul(dy, w, transposeB: true)
        let masked = Tensor.matmul(dy, w, transposeB: true, liveColumnsOf: h)
        var deadColumns = 0
        for j in 0..<n {
            let live = (0..<m).contains { h.scalars[$0 * n + j] != 0 }
            if !live { deadColumns += 1 }
            for i in 0..<m {
                let got = masked.scalars[i * n + j]
                #expect(live ? got.bitPattern == full.scalars[i * n + j].bitPattern : got == 0)
            }
        }
        #expect(deadColumns > n / 4)
        // Accumulating: dead columns keep what C held.
        var c = [Float](repeating: 7, count: m * n)
        Kernels.matmulTransposedB(dy.scalars, w.scalars, &c, m: m, k: k, n: n, accumulate: true, liveColumnsOf: h.scalars)
        for j in 0..<n where !(0..<m).contains(where: { h.scalars[$0 * n + j] != 0 }) {
            #expect((0..<m).allSatisfy { c[$0 * n + j] == 7 })
        }
    }

    /// A dense layer's fused backward pass (shared scans, the bias gradient summed during the scan,
    /// the ReLU's mask applied in place) gives the bits of the separate operations, on every set.
    @Test(arguments: [(64, 256, 256), (64, 256, 2), (64, 4, 256), (130, 256, 256), (20, 12, 40), (3, 256, 100), (256, 64, 64), (30, 256, 100),
                      (32, 300, 300)])
    func fusedDenseBackwardGivesTheSeparateOperationsBits(m: Int, k: Int, n: Int) throws {
        // x: a ReLU's output (nonnegative, with dead units); dY: sparse like a ReLU's masked gradient.
        let x = Tensor(shape: [m, k], scalars: Self.sparse(rows: m, cols: k, seed: 3).map { abs($0) })
        let dy = Tensor(shape: [m, n], scalars: Self.sparse(rows: m, cols: n, seed: 5))
        let w = Tensor(shape: [k, n], scalars: values(k * n, seed: 8))
        for name in Kernels.availableInstructionSets {
            guard let got = Kernels.with(instructionSet: name, {
                [false, true].map { relu in Tensor.denseBackward(input: x, outputGradient: dy, weight: w, needInputGradient: true, inputFromReLU: relu) }
            }) else { continue }  // this CPU cannot run it
            let expected = try #require(Kernels.with(instructionSet: name) {
                (Tensor.matmul(x, dy, transposeA: true), dy.sumRows(), Tensor.matmul(dy, w, transposeB: true))
            })
            for (relu, g) in zip([false, true], got) {
                #expect(g.weight.shape == [k, n] && g.weight.scalars.elementsEqual(expected.0.scalars, by: Self.sameBits),
                        "\(name) \(m)×\(k)×\(n): dW differs")
                #expect(g.bias.scalars.map(\.bitPattern) == expected.1.scalars.map(\.bitPattern), "\(name): db differs")
                let dx = try #require(g.input)
                for i in 0..<(m * k) {
                    let want = relu ? (x.scalars[i] > 0 ? expected.2.scalars[i] : 0) : expected.2.scalars[i]
                    #expect(Self.sameBits(dx.scalars[i], want), "\(name) \(m)×\(k)×\(n) relu \(relu): dx[\(i)] \(dx.scalars[i]) ≠ \(want)")
                    if !Self.sameBits(dx.scalars[i], want) { break }
                }
            }
            let noInput = try #require(Kernels.with(instructionSet: name) {
                Tensor.denseBackward(input: x, outputGradient: dy, weight: w, needInputGradient: false)
            })
            #expect(noInput.input == nil && noInput.weight == got[0].weight)
        }
    }

    /// A layer's forward pass with the bias as the chains' start and the ReLU applied as the tiles
    /// store gives the bits of bias rows + accumulated product + a separate ReLU pass: dense and
    /// listed tiles, several panels of k, column remainders, narrow heads, a NaN input.
    @Test(arguments: [(64, 256, 256), (64, 4, 256), (256, 256, 256), (20, 300, 70), (13, 520, 272), (64, 256, 2), (7, 33, 100), (1, 256, 256)])
    func linearWithReLUGivesTheSeparatePassesBits(m: Int, k: Int, n: Int) throws {
        var xs = Self.sparse(rows: m, cols: k, seed: 6).map { abs($0) }
        if m > 3 { xs[3 * k + k / 2] = .nan }
        if m >= 12 { for i in 6 * k..<(12 * k) { xs[i] = 0 } }  // a strip with nothing to add: its outputs are relu(b)
        let x = Tensor(shape: [m, k], scalars: xs)
        let w = Tensor(shape: [k, n], scalars: values(k * n, seed: 12))
        let b = Tensor(shape: [n], scalars: values(n, seed: 13))
        for name in Kernels.availableInstructionSets {
            guard let (plain, fused) = Kernels.with(instructionSet: name, { (Tensor.linear(x, w, b), Tensor.linear(x, w, b, relu: true)) })
            else { continue }
            // The reference: bias rows, then each element's fma chain over p (the tiles' order), or the
            // narrow heads' dot products, as `plain` computes them; then max(·, 0) keeping -0 and NaN.
            let relu = plain.scalars.map { $0 < 0 ? 0 : $0 }
            let differing = zip(fused.scalars, relu).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(name) \(m)×\(k)×\(n): the fused ReLU differs in \(differing) elements")
            if n >= 16 {
                var chain = [Float](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        var c = b.scalars[j]
                        for p in 0..<k where xs[i * k + p] != 0 { multiplyAdd(&c, xs[i * k + p], w.scalars[p * n + j], fused: Kernels.fusesMultiplyAdd(name)) }
                        chain[i * n + j] = c
                    }
                }
                let same = plain.scalars.elementsEqual(chain, by: Self.sameOrBothNaN)
                #expect(same, "\(name) \(m)×\(k)×\(n): x·W + b is not the bias then one fma chain per element")
            }
        }
    }

    /// Without the search for zero columns (convolutions' products) the bits are the same.
    @Test func denseProductsGiveTheCompactedBits() {
        for s in Self.shapes {
            let x = Tensor(shape: [s.m, s.k], scalars: Self.sparse(rows: s.m, cols: s.k, seed: s.m))
            let w = Tensor(shape: [s.k, s.n], scalars: values(s.k * s.n, seed: s.n))
            let b = Tensor(shape: [s.n], scalars: values(s.n, seed: 2))
            let xt = Tensor(shape: [s.k, s.m], scalars: Self.sparse(rows: s.k, cols: s.m, seed: 3))
            let dy = Tensor(shape: [s.k, s.n], scalars: Self.sparse(rows: s.k, cols: s.n, seed: 5))
            for relu in [false, true] {
                let dense = Tensor.linear(x, w, b, relu: relu, compact: false), compacted = Tensor.linear(x, w, b, relu: relu)
                #expect(dense.scalars.elementsEqual(compacted.scalars, by: Self.sameBits), "\(s) relu \(relu): x·W + b")
            }
            let dense = Tensor.matmul(xt, dy, transposeA: true, compact: false), compacted = Tensor.matmul(xt, dy, transposeA: true)
            #expect(dense.scalars.elementsEqual(compacted.scalars, by: Self.sameBits), "\(s): Xᵀ·dY")
        }
    }

    @Test func aNaNKeepsItsColumnLive() {
        // A NaN is not a zero: the product must still see it.
        var a = [Float](repeating: 0, count: 64 * 256)
        for i in 0..<64 { a[i * 256 + (i % 3)] = 1 }
        a[5 * 256 + 100] = .nan
        let b = Tensor(shape: [256, 256], scalars: values(256 * 256, seed: 1))
        let c = Tensor.matmul(Tensor(shape: [64, 256], scalars: a), b)
        #expect((0..<256).allSatisfy { c.scalars[5 * 256 + $0].isNaN })
        #expect(!c.scalars[4 * 256].isNaN)
    }
}
