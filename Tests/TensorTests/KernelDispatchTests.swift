import Foundation
import Tensor
import Testing

/// The kernels exist once per instruction set and are chosen at run time: every set this CPU
/// runs that fuses its multiply-adds must give the same bits, on shapes that reach every tile,
/// tail and path; a set that rounds twice (portable on x86-64) the same order's bits.
@Suite struct KernelDispatchTests {
    static let shapes: [(m: Int, k: Int, n: Int)] = [
        (1, 4, 256), (1, 256, 256), (1, 64, 2), (2, 9, 17), (3, 16, 48), (5, 31, 129), (6, 7, 16), (7, 33, 100),
        (13, 64, 64), (32, 256, 2), (32, 5, 15), (64, 256, 256), (37, 130, 33), (64, 100, 300), (130, 64, 256),
    ]

    /// The products of one instruction set over every shape: A·B, Aᵀ read in place, A·Bᵀ.
    func products(_ instructionSet: String) -> [[Float]]? {
        Kernels.with(instructionSet: instructionSet) {
            #expect(Kernels.instructionSet == instructionSet)
            return Self.shapes.flatMap { s -> [[Float]] in
                let a = Tensor(shape: [s.m, s.k], scalars: values(s.m * s.k, seed: s.m + s.k))
                let b = Tensor(shape: [s.k, s.n], scalars: values(s.k * s.n, seed: s.n))
                let bt = Tensor(shape: [s.n, s.k], scalars: values(s.k * s.n, seed: s.n + 1))
                return [Tensor.matmul(a, b).scalars,
                        Tensor.matmul(a.transposed(), b, transposeA: true).scalars,
                        Tensor.matmul(a, bt, transposeB: true).scalars]
            }
        }
    }

    /// The sets that fuse their multiply-adds give one set of bits; a set that rounds twice (the
    /// portable set on x86-64) gives products as accurate as the fused ones, and other bits.
    @Test func fusedSetsGiveOneSetOfBitsAndPlainOnesAreAsAccurate() throws {
        let sets = Kernels.availableInstructionSets.filter { products($0) != nil }
        let fusedSets = sets.filter(Kernels.fusesMultiplyAdd)
        let reference = try #require(fusedSets.first.flatMap(products), "no runnable set fuses its multiply-adds")
        for (index, s) in Self.shapes.enumerated() {
            let a = Tensor(shape: [s.m, s.k], scalars: values(s.m * s.k, seed: s.m + s.k))
            let b = Tensor(shape: [s.k, s.n], scalars: values(s.k * s.n, seed: s.n))
            #expect(close(Tensor(shape: [s.m, s.n], scalars: reference[3 * index]), naiveMatmul(a, b)))
        }
        for name in fusedSets.dropFirst() {
            let other = try #require(products(name))
            for (index, pair) in zip(reference, other).enumerated() {
                #expect(pair.0 == pair.1, "\(name) differs from \(fusedSets[0]) on \(Self.shapes[index / 3]) product \(index % 3)")
            }
        }
        for name in sets where !Kernels.fusesMultiplyAdd(name) {
            let plain = try #require(products(name))
            // Against the exact (double) products: the plain set's error is of the fused set's order.
            var plainError = 0.0, fusedError = 0.0, differing = 0
            for (index, s) in Self.shapes.enumerated() {
                let a = Tensor(shape: [s.m, s.k], scalars: values(s.m * s.k, seed: s.m + s.k))
                let b = Tensor(shape: [s.k, s.n], scalars: values(s.k * s.n, seed: s.n))
                let exact = naiveMatmul(a, b).scalars
                for (e, (p, f)) in zip(exact, zip(plain[3 * index], reference[3 * index])) {
                    plainError = max(plainError, Double(abs(p - e)) / Double(max(1, abs(e))))
                    fusedError = max(fusedError, Double(abs(f - e)) / Double(max(1, abs(e))))
                    if p != f { differing += 1 }
                }
            }
            #expect(plainError <= 4 * max(fusedError, 1e-7), "\(name): relative error \(plainError) against the fused \(fusedError)")
            #expect(differing > 0, "\(name) rounds twice, yet gave the fused bits everywhere")
        }
        #expect(Kernels.availableInstructionSets.contains(Kernels.bestInstructionSet))
        #if arch(x86_64)
        #expect(!Kernels.fusesMultiplyAdd("portable"), "x86-64's baseline has no FMA: the portable set multiplies and adds")
        #else
        #expect(Kernels.fusesMultiplyAdd("portable"))
        #endif
    }

    @Test func adamDotAndSingleObservationAgreeAcrossInstructionSets() throws {
        func run(_ name: String) -> [Float]? {
            Kernels.with(instructionSet: name) {
                var p = Tensor(shape: [203], scalars: values(203, seed: 1))
                var m = values(203, seed: 2).map { $0 * 0.1 }
                var v = values(203, seed: 3).map { $0 * $0 }
                let g = Tensor(shape: [203], scalars: values(203, seed: 4))
                p.adamStep(gradient: g, firstMoment: &m, secondMoment: &v, beta1: 0.9, beta2: 0.999, stepSize: 1e-3,
                           sqrtC2: 0.05, epsilon: 1e-8)
                let x = Tensor(shape: [1, 203], scalars: values(203, seed: 5))
                let w = Tensor(shape: [203, 37], scalars: values(203 * 37, seed: 6))
                let b = Tensor(shape: [37], scalars: values(37, seed: 7))
                let single = Kernels.denseChain(x.scalars, layers: [(w, b)], activation: 1) { Array($0) }
                return p.scalars + m + v + [x.squaredNorm()] + single
            }
        }
        let sets = Kernels.availableInstructionSets.filter { run($0) != nil }
        let fusedSets = sets.filter(Kernels.fusesMultiplyAdd)
        let reference = try #require(fusedSets.first.flatMap(run))
        for name in fusedSets.dropFirst() {
            #expect(run(name) == reference, "\(name) differs from \(fusedSets[0])")
        }
        for name in sets where !Kernels.fusesMultiplyAdd(name) {
            let plain = try #require(run(name))
            #expect(zip(plain, reference).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }, "\(name) is far from \(fusedSets[0])")
            #expect(Array(plain[0..<(3 * 203)]) == Array(reference[0..<(3 * 203)]), "Adam has no multiply-add to fuse: the same bits")
        }
    }

    /// Sums of squares (gradient norms) keep 32 running lanes — element p in lane p mod 32 while
    /// whole blocks of 32 remain, then blocks of 8 in the first eight — added pairwise, reduced in
    /// the dot product's tree, then the tail: written out here, the same bits on every set.
    @Test func sumsOfSquaresFollowOneOrderOnEveryInstructionSet() {
        func reduce8(_ s: [Float]) -> Float { ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])) }
        for count in [0, 1, 7, 8, 31, 32, 33, 100, 203, 1000, 4099] {
            let x = values(count, seed: count + 11)
            func written(fused: Bool) -> Float {
                var lanes = [[Float]](repeating: [Float](repeating: 0, count: 8), count: 4)
                var p = 0
                while p + 32 <= count {
                    for u in 0..<4 { for l in 0..<8 { multiplyAdd(&lanes[u][l], x[p + 8 * u + l], x[p + 8 * u + l], fused: fused) } }
                    p += 32
                }
                while p + 8 <= count {
                    for l in 0..<8 { multiplyAdd(&lanes[0][l], x[p + l], x[p + l], fused: fused) }
                    p += 8
                }
                var total = reduce8((0..<8).map { l in (lanes[0][l] + lanes[1][l]) + (lanes[2][l] + lanes[3][l]) })
                while p < count { multiplyAdd(&total, x[p], x[p], fused: fused); p += 1 }
                return total
            }
            let exact = x.reduce(0.0) { $0 + Double($1) * Double($1) }
            for name in Kernels.availableInstructionSets {
                guard let got = Kernels.with(instructionSet: name, { Tensor(shape: [count], scalars: x).squaredNorm() }) else { continue }
                let expected = written(fused: Kernels.fusesMultiplyAdd(name))
                #expect(abs(Double(expected) - exact) <= 1e-5 * max(1, exact), "the written-out order is not a sum of squares")
                #expect(got.bitPattern == expected.bitPattern, "\(name): Σx² of \(count) values is \(got), expected \(expected)")
            }
        }
    }

    @Test func transposesAreExactOnEveryInstructionSet() {
        // 8×8 register blocks plus the edges: shapes below, at and past whole blocks; 2–4 long
        // rows (the channel planes of frame stacks and RGB images) interleaved.
        for (rows, cols) in [(1, 1), (3, 5), (8, 8), (17, 9), (9, 17), (16, 40), (64, 256), (13, 250), (2, 37), (3, 301),
                             (4, 7056), (4, 1), (5, 100)] {
            let x = Tensor(shape: [rows, cols], scalars: values(rows * cols, seed: rows * 31 + cols))
            var naive = [Float](repeating: 0, count: rows * cols)
            for i in 0..<rows { for j in 0..<cols { naive[j * rows + i] = x.scalars[i * cols + j] } }
            for name in Kernels.availableInstructionSets {
                guard let t = Kernels.with(instructionSet: name, { x.transposed() }) else { continue }
                #expect(t.shape == [cols, rows] && t.scalars == naive, "\(name) transposes \(rows)×\(cols) wrongly")
            }
        }
        // A·Bᵀ through the transposed copy (256×256 B, 130 rows) and through dot products.
        for (m, k, n) in [(130, 256, 256), (5, 256, 256), (3, 512, 512)] {
            let a = Tensor(shape: [m, k], scalars: values(m * k, seed: 3))
            let bt = Tensor(shape: [n, k], scalars: values(n * k, seed: 4))
            var b = [Float](repeating: 0, count: k * n)
            for i in 0..<n { for j in 0..<k { b[j * n + i] = bt.scalars[i * k + j] } }
            #expect(close(Tensor.matmul(a, bt, transposeB: true), naiveMatmul(a, Tensor(shape: [k, n], scalars: b))))
        }
    }

    /// The tiles compute each element as one fma chain over k from zero, whether B is read in
    /// place or copied into L1-sized panels (large B, several strips of A, column remainders,
    /// k longer than one panel): the same bits as the plain loop, on every instruction set.
    @Test func tilesAreOneFmaChainPerElement() {
        for (m, k, n) in [(64, 256, 256), (20, 300, 40), (13, 520, 272), (12, 70, 72), (11, 256, 256)] {
            let a = Tensor(shape: [m, k], scalars: values(m * k, seed: m))
            let b = Tensor(shape: [k, n], scalars: values(k * n, seed: n))
            func chain(fused: Bool) -> [Float] {
                var chain = [Float](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        var c: Float = 0
                        for p in 0..<k { multiplyAdd(&c, a.scalars[i * k + p], b.scalars[p * n + j], fused: fused) }
                        chain[i * n + j] = c
                    }
                }
                return chain
            }
            for name in Kernels.availableInstructionSets {
                guard let (plain, readTransposed) = Kernels.with(instructionSet: name, {
                    (Tensor.matmul(a, b).scalars, Tensor.matmul(a.transposed(), b, transposeA: true).scalars)
                }) else { continue }
                let expected = chain(fused: Kernels.fusesMultiplyAdd(name))
                #expect(plain == expected, "\(name): A·B of \(m)×\(k)×\(n) is not one fma chain per element")
                #expect(readTransposed == expected, "\(name): Aᵀ·B of \(m)×\(k)×\(n) is not one fma chain per element")
            }
        }
    }

    @Test func unknownInstructionSetsAreRefused() {
        #expect(Kernels.with(instructionSet: "sse9") { 1 } == nil)
        #expect(!Kernels.use("sse9"))
    }
}
