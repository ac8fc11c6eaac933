import CKernels

/// The numeric kernels: the only code in this module that touches raw pointers.
///
/// Written for small-MLP training on one core: register-blocked SIMD matrix multiply,
/// single passes over contiguous memory, no allocation inside loops.
public enum Kernels {
    /// One observation through dense layers `(weight in×out, bias out)` with `activation`
    /// (1 ReLU, 2 tanh) between them; `body` reads the outputs. No heap allocation: the
    /// intermediate activations live on the stack.
    public static func denseChain<R>(_ x: [Float], layers: [(weight: Tensor, bias: Tensor)], activation: Int32,
                                     _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        var width = x.count
        for layer in layers { width = max(width, layer.bias.count) }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * width) { scratch in
            let a = scratch.baseAddress!, b = a + width
            x.withUnsafeBufferPointer { a.update(from: $0.baseAddress!, count: x.count) }
            var input = a, output = b, inputSize = x.count
            for index in layers.indices {
                let n = layers[index].bias.count
                let act: Int32 = index == layers.count - 1 ? 0 : activation
                layers[index].weight.scalars.withUnsafeBufferPointer { w in
                    layers[index].bias.scalars.withUnsafeBufferPointer { bias in
                        sd_dense_forward(input, inputSize, w.baseAddress!, bias.baseAddress!, n, act, output)
                    }
                }
                swap(&input, &output)
                inputSize = n
            }
            return body(UnsafeBufferPointer(start: input, count: inputSize))
        }
    }

    /// Index of the largest value (the first of equal maxima, as NumPy's argmax).
    public static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<values.count where values[i] > values[best] { best = i }
        return best
    }

    /// C = A·B (+ C when `accumulate`), A is m×k, B is k×n, all row-major.
    /// With `transposedA`, `a` holds Aᵀ (k×m) and is read in place: weight gradients Xᵀ·dY
    /// need no transposed copy.
    public static func matmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                              m: Int, k: Int, n: Int, accumulate: Bool = false, transposedA: Bool = false) {
        if !accumulate { c.update(repeating: 0, count: m * n) }
        let (rs, cs) = transposedA ? (1, m) : (k, 1)  // A[r, p] = a[r * rs + p * cs]
        if n < 16 {
            // Narrow outputs (Q-value heads): dot products of A's rows with Bᵀ's rows, both contiguous.
            let bt = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
            defer { bt.deallocate() }
            transpose(b, bt, rows: k, cols: n)
            var rows = a
            var scratch: UnsafeMutablePointer<Float>?
            if transposedA {
                let at = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
                transpose(a, at, rows: k, cols: m)
                scratch = at
                rows = UnsafePointer(at)
            }
            defer { scratch?.deallocate() }
            matmulTransposedB(rows, bt, c, m: m, k: k, n: n, accumulate: true)
            return
        }
        tiles(a, b, c, rows: 0..<m, k: k, n: n, rs: rs, cs: cs)
    }

    /// Rows `rows` of C = A·B with the register-blocked tiles (n ≥ 16).
    private static func tiles(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                              rows: Range<Int>, k: Int, n: Int, rs: Int, cs: Int) {
        let n16 = n - n % 16
        let m = rows.upperBound
        var i = rows.lowerBound
        while i + 6 <= m {
            var j = 0
            while j < n16 {
                tile6x16(a + i * rs, b + j, c + i * n + j, k: k, n: n, rs: rs, cs: cs)
                j += 16
            }
            for r in i..<(i + 6) { scalarColumns(a + r * rs, b, c + r * n, k: k, n: n, cs: cs, from: n16) }
            i += 6
        }
        while i + 4 <= m {
            var j = 0
            while j < n16 {
                tile4x16(a + i * rs, b + j, c + i * n + j, k: k, n: n, rs: rs, cs: cs)
                j += 16
            }
            for r in i..<(i + 4) { scalarColumns(a + r * rs, b, c + r * n, k: k, n: n, cs: cs, from: n16) }
            i += 4
        }
        while i < m {
            var j = 0
            while j + 64 <= n16 {
                tile1x64(a + i * rs, b + j, c + i * n + j, k: k, n: n, cs: cs)
                j += 64
            }
            while j < n16 {
                tile1x16(a + i * rs, b + j, c + i * n + j, k: k, n: n, cs: cs)
                j += 16
            }
            scalarColumns(a + i * rs, b, c + i * n, k: k, n: n, cs: cs, from: n16)
            i += 1
        }
    }

    /// C = A·Bᵀ (+ C when `accumulate`), A is m×k, B is n×k: dot products of contiguous rows,
    /// 4 rows of A × 2 rows of B at a time (input gradients dY·Wᵀ without transposing W).
    public static func matmulTransposedB(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                         m: Int, k: Int, n: Int, accumulate: Bool = false) {
        if !accumulate { c.update(repeating: 0, count: m * n) }
        if n >= 16 && (k < 16 || k * n <= 8_192) {
            // Short dot products (e.g. through a 2-action head) or a small B (up to 64×128):
            // transposing B and using the tiles beats horizontal sums per output (measured).
            let bt = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
            defer { bt.deallocate() }
            transpose(b, bt, rows: n, cols: k)
            matmul(a, bt, c, m: m, k: k, n: n, accumulate: true)
            return
        }
        dotBlocks(a, b, c, rows: 0..<m, k: k, n: n)
    }

    private static func dotBlocks(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                  rows: Range<Int>, k: Int, n: Int) {
        let m = rows.upperBound
        var i = rows.lowerBound
        while i + 4 <= m {
            var j = 0
            while j + 2 <= n {
                dot4x2(a + i * k, b + j * k, c + i * n + j, k: k, n: n)
                j += 2
            }
            while j < n {
                for r in i..<(i + 4) { c[r * n + j] += dot(a + r * k, b + j * k, count: k) }
                j += 1
            }
            i += 4
        }
        while i < m {
            for j in 0..<n { c[i * n + j] += dot(a + i * k, b + j * k, count: k) }
            i += 1
        }
    }

    /// Eight running dot products (rows i..i+3 of A with rows j, j+1 of B), eight SIMD accumulators.
    @inline(__always)
    private static func dot4x2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                               k: Int, n: Int) {
        let ar = UnsafeRawPointer(a), br = UnsafeRawPointer(b)
        var s00 = SIMD8<Float>(), s01 = SIMD8<Float>(), s10 = SIMD8<Float>(), s11 = SIMD8<Float>()
        var s20 = SIMD8<Float>(), s21 = SIMD8<Float>(), s30 = SIMD8<Float>(), s31 = SIMD8<Float>()
        let rowBytes = 4 * k
        var p = 0
        while p + 8 <= k {
            let o = 4 * p
            let b0 = br.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let b1 = br.loadUnaligned(fromByteOffset: o + rowBytes, as: SIMD8<Float>.self)
            let a0 = ar.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            s00 = s00.addingProduct(a0, b0); s01 = s01.addingProduct(a0, b1)
            let a1 = ar.loadUnaligned(fromByteOffset: o + rowBytes, as: SIMD8<Float>.self)
            s10 = s10.addingProduct(a1, b0); s11 = s11.addingProduct(a1, b1)
            let a2 = ar.loadUnaligned(fromByteOffset: o + 2 * rowBytes, as: SIMD8<Float>.self)
            s20 = s20.addingProduct(a2, b0); s21 = s21.addingProduct(a2, b1)
            let a3 = ar.loadUnaligned(fromByteOffset: o + 3 * rowBytes, as: SIMD8<Float>.self)
            s30 = s30.addingProduct(a3, b0); s31 = s31.addingProduct(a3, b1)
            p += 8
        }
        var t00 = s00.sum(), t01 = s01.sum(), t10 = s10.sum(), t11 = s11.sum()
        var t20 = s20.sum(), t21 = s21.sum(), t30 = s30.sum(), t31 = s31.sum()
        while p < k {
            let b0 = b[p], b1 = b[k + p]
            t00 += a[p] * b0; t01 += a[p] * b1
            t10 += a[k + p] * b0; t11 += a[k + p] * b1
            t20 += a[2 * k + p] * b0; t21 += a[2 * k + p] * b1
            t30 += a[3 * k + p] * b0; t31 += a[3 * k + p] * b1
            p += 1
        }
        c[0] += t00; c[1] += t01
        c[n] += t10; c[n + 1] += t11
        c[2 * n] += t20; c[2 * n + 1] += t21
        c[3 * n] += t30; c[3 * n + 1] += t31
    }

    /// 6 rows × 16 columns of C in twelve SIMD registers: per k, 2 loads of B and 6 broadcasts
    /// feed 12 FMAs (the 4-row tile needs 6 loads for 8).
    @inline(__always)
    private static func tile6x16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                 k: Int, n: Int, rs: Int, cs: Int) {
        let cv = UnsafeMutableRawPointer(c)
        let row = 4 * n
        var c00 = cv.loadUnaligned(as: SIMD8<Float>.self), c01 = cv.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        var c10 = cv.loadUnaligned(fromByteOffset: row, as: SIMD8<Float>.self)
        var c11 = cv.loadUnaligned(fromByteOffset: row + 32, as: SIMD8<Float>.self)
        var c20 = cv.loadUnaligned(fromByteOffset: 2 * row, as: SIMD8<Float>.self)
        var c21 = cv.loadUnaligned(fromByteOffset: 2 * row + 32, as: SIMD8<Float>.self)
        var c30 = cv.loadUnaligned(fromByteOffset: 3 * row, as: SIMD8<Float>.self)
        var c31 = cv.loadUnaligned(fromByteOffset: 3 * row + 32, as: SIMD8<Float>.self)
        var c40 = cv.loadUnaligned(fromByteOffset: 4 * row, as: SIMD8<Float>.self)
        var c41 = cv.loadUnaligned(fromByteOffset: 4 * row + 32, as: SIMD8<Float>.self)
        var c50 = cv.loadUnaligned(fromByteOffset: 5 * row, as: SIMD8<Float>.self)
        var c51 = cv.loadUnaligned(fromByteOffset: 5 * row + 32, as: SIMD8<Float>.self)
        for p in 0..<k {
            let brow = UnsafeRawPointer(b + p * n)
            let b0 = brow.loadUnaligned(as: SIMD8<Float>.self)
            let b1 = brow.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let ap = a + p * cs
            var av = SIMD8(repeating: ap[0])
            c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
            av = SIMD8(repeating: ap[rs])
            c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
            av = SIMD8(repeating: ap[2 * rs])
            c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
            av = SIMD8(repeating: ap[3 * rs])
            c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
            av = SIMD8(repeating: ap[4 * rs])
            c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
            av = SIMD8(repeating: ap[5 * rs])
            c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
        }
        cv.storeBytes(of: c00, as: SIMD8<Float>.self); cv.storeBytes(of: c01, toByteOffset: 32, as: SIMD8<Float>.self)
        cv.storeBytes(of: c10, toByteOffset: row, as: SIMD8<Float>.self)
        cv.storeBytes(of: c11, toByteOffset: row + 32, as: SIMD8<Float>.self)
        cv.storeBytes(of: c20, toByteOffset: 2 * row, as: SIMD8<Float>.self)
        cv.storeBytes(of: c21, toByteOffset: 2 * row + 32, as: SIMD8<Float>.self)
        cv.storeBytes(of: c30, toByteOffset: 3 * row, as: SIMD8<Float>.self)
        cv.storeBytes(of: c31, toByteOffset: 3 * row + 32, as: SIMD8<Float>.self)
        cv.storeBytes(of: c40, toByteOffset: 4 * row, as: SIMD8<Float>.self)
        cv.storeBytes(of: c41, toByteOffset: 4 * row + 32, as: SIMD8<Float>.self)
        cv.storeBytes(of: c50, toByteOffset: 5 * row, as: SIMD8<Float>.self)
        cv.storeBytes(of: c51, toByteOffset: 5 * row + 32, as: SIMD8<Float>.self)
    }

    /// 4 rows × 16 columns of C kept in eight SIMD registers across the whole k loop.
    @inline(__always)
    private static func tile4x16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                 k: Int, n: Int, rs: Int, cs: Int) {
        let cv = UnsafeMutableRawPointer(c)
        var c00 = cv.loadUnaligned(as: SIMD8<Float>.self), c01 = cv.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        var c10 = cv.loadUnaligned(fromByteOffset: 4 * n, as: SIMD8<Float>.self)
        var c11 = cv.loadUnaligned(fromByteOffset: 4 * n + 32, as: SIMD8<Float>.self)
        var c20 = cv.loadUnaligned(fromByteOffset: 8 * n, as: SIMD8<Float>.self)
        var c21 = cv.loadUnaligned(fromByteOffset: 8 * n + 32, as: SIMD8<Float>.self)
        var c30 = cv.loadUnaligned(fromByteOffset: 12 * n, as: SIMD8<Float>.self)
        var c31 = cv.loadUnaligned(fromByteOffset: 12 * n + 32, as: SIMD8<Float>.self)
        for p in 0..<k {
            let brow = UnsafeRawPointer(b + p * n)
            let b0 = brow.loadUnaligned(as: SIMD8<Float>.self)
            let b1 = brow.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let ap = a + p * cs
            let a0 = SIMD8(repeating: ap[0]), a1 = SIMD8(repeating: ap[rs])
            let a2 = SIMD8(repeating: ap[2 * rs]), a3 = SIMD8(repeating: ap[3 * rs])
            c00 = c00.addingProduct(a0, b0); c01 = c01.addingProduct(a0, b1)
            c10 = c10.addingProduct(a1, b0); c11 = c11.addingProduct(a1, b1)
            c20 = c20.addingProduct(a2, b0); c21 = c21.addingProduct(a2, b1)
            c30 = c30.addingProduct(a3, b0); c31 = c31.addingProduct(a3, b1)
        }
        cv.storeBytes(of: c00, as: SIMD8<Float>.self); cv.storeBytes(of: c01, toByteOffset: 32, as: SIMD8<Float>.self)
        cv.storeBytes(of: c10, toByteOffset: 4 * n, as: SIMD8<Float>.self)
        cv.storeBytes(of: c11, toByteOffset: 4 * n + 32, as: SIMD8<Float>.self)
        cv.storeBytes(of: c20, toByteOffset: 8 * n, as: SIMD8<Float>.self)
        cv.storeBytes(of: c21, toByteOffset: 8 * n + 32, as: SIMD8<Float>.self)
        cv.storeBytes(of: c30, toByteOffset: 12 * n, as: SIMD8<Float>.self)
        cv.storeBytes(of: c31, toByteOffset: 12 * n + 32, as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func tile1x16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                 k: Int, n: Int, cs: Int) {
        let cv = UnsafeMutableRawPointer(c)
        var c0 = cv.loadUnaligned(as: SIMD8<Float>.self), c1 = cv.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        for p in 0..<k {
            let brow = UnsafeRawPointer(b + p * n)
            let av = SIMD8(repeating: a[p * cs])
            c0 = c0.addingProduct(av, brow.loadUnaligned(as: SIMD8<Float>.self))
            c1 = c1.addingProduct(av, brow.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
        }
        cv.storeBytes(of: c0, as: SIMD8<Float>.self)
        cv.storeBytes(of: c1, toByteOffset: 32, as: SIMD8<Float>.self)
    }

    /// One row × 64 columns: eight independent accumulators hide the FMA latency that a
    /// single-observation forward pass (m = 1) would otherwise wait on.
    @inline(__always)
    private static func tile1x64(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                 k: Int, n: Int, cs: Int) {
        let cv = UnsafeMutableRawPointer(c)
        var acc = (0..<8).map { cv.loadUnaligned(fromByteOffset: 32 * $0, as: SIMD8<Float>.self) }
        var c0 = acc[0], c1 = acc[1], c2 = acc[2], c3 = acc[3], c4 = acc[4], c5 = acc[5], c6 = acc[6], c7 = acc[7]
        for p in 0..<k {
            let br = UnsafeRawPointer(b + p * n)
            let av = SIMD8(repeating: a[p * cs])
            c0 = c0.addingProduct(av, br.loadUnaligned(as: SIMD8<Float>.self))
            c1 = c1.addingProduct(av, br.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            c2 = c2.addingProduct(av, br.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
            c3 = c3.addingProduct(av, br.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
            c4 = c4.addingProduct(av, br.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self))
            c5 = c5.addingProduct(av, br.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self))
            c6 = c6.addingProduct(av, br.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self))
            c7 = c7.addingProduct(av, br.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self))
        }
        acc = [c0, c1, c2, c3, c4, c5, c6, c7]
        for t in 0..<8 { cv.storeBytes(of: acc[t], toByteOffset: 32 * t, as: SIMD8<Float>.self) }
    }

    /// Columns `from..<n` of one output row, for widths that are not a multiple of 16.
    @inline(__always)
    private static func scalarColumns(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                      k: Int, n: Int, cs: Int, from: Int) {
        guard from < n else { return }
        for p in 0..<k {
            let av = a[p * cs]
            let brow = b + p * n
            for j in from..<n { c[j] += av * brow[j] }
        }
    }

    /// Σ x[i]·y[i] with two 8-wide accumulators.
    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        let xr = UnsafeRawPointer(x), yr = UnsafeRawPointer(y)
        var i = 0
        while i + 16 <= count {
            acc0 = acc0.addingProduct(xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                                      yr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            acc1 = acc1.addingProduct(xr.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self),
                                      yr.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
            i += 16
        }
        var total = (acc0 + acc1).sum()
        while i < count { total += x[i] * y[i]; i += 1 }
        return total
    }

    /// dst (cols×rows) = srcᵀ (src is rows×cols).
    public static func transpose(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let block = 32
        var i0 = 0
        while i0 < rows {
            var j0 = 0
            while j0 < cols {
                for i in i0..<min(i0 + block, rows) {
                    for j in j0..<min(j0 + block, cols) { dst[j * rows + i] = src[i * cols + j] }
                }
                j0 += block
            }
            i0 += block
        }
    }

    /// Adds `bias` (length n) to every row of x (m×n).
    public static func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, m: Int, n: Int) {
        for i in 0..<m {
            let row = x + i * n
            for j in 0..<n { row[j] += bias[j] }
        }
    }

    /// out[j] = Σ_i x[i, j]: the bias gradient.
    public static func sumRows(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, m: Int, n: Int) {
        out.update(repeating: 0, count: n)
        for i in 0..<m {
            let row = x + i * n
            for j in 0..<n { out[j] += row[j] }
        }
    }
}

extension Kernels {
    /// One Adam step over `count` parameters:
    /// m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − stepSize·m / (√v / √c2 + ε).
    /// Runs in C (CKernels) so the loop vectorises with `restrict` pointers.
    public static func adam(parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                            beta1: Float, beta2: Float, stepSize: Float, sqrtC2: Float, epsilon: Float) {
        sd_adam(p, g, m, v, count, beta1, beta2, stepSize, 1 / sqrtC2, epsilon)
    }

    /// dst = max(src, 0), 8 at a time.
    public static func relu(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        let zero = SIMD8<Float>()
        let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
        var i = 0
        while i + 8 <= count {
            let x = s.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            d.storeBytes(of: x.replacing(with: zero, where: x .< zero), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { dst[i] = src[i] > 0 ? src[i] : 0; i += 1 }
    }
}

