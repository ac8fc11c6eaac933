/// The numeric kernels: the only code in this module that touches raw pointers.
///
/// Written for small-MLP training on one core: register-blocked SIMD matrix multiply,
/// single passes over contiguous memory, no allocation inside loops.
public enum Kernels {
    /// C = A·B (+ C when `accumulate`), A is m×k, B is k×n, all row-major.
    public static func matmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                              m: Int, k: Int, n: Int, accumulate: Bool = false) {
        if !accumulate { c.update(repeating: 0, count: m * n) }
        let n16 = n - n % 16
        var i = 0
        while i + 4 <= m {
            var j = 0
            while j < n16 {
                tile4x16(a + i * k, b + j, c + i * n + j, k: k, n: n)
                j += 16
            }
            for r in i..<(i + 4) { scalarColumns(a + r * k, b, c + r * n, k: k, n: n, from: n16) }
            i += 4
        }
        while i < m {
            var j = 0
            while j < n16 {
                tile1x16(a + i * k, b + j, c + i * n + j, k: k, n: n)
                j += 16
            }
            scalarColumns(a + i * k, b, c + i * n, k: k, n: n, from: n16)
            i += 1
        }
    }

    /// 4 rows × 16 columns of C kept in eight SIMD registers across the whole k loop.
    @inline(__always)
    private static func tile4x16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                 k: Int, n: Int) {
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
            let a0 = SIMD8(repeating: a[p]), a1 = SIMD8(repeating: a[k + p])
            let a2 = SIMD8(repeating: a[2 * k + p]), a3 = SIMD8(repeating: a[3 * k + p])
            c00 += a0 * b0; c01 += a0 * b1
            c10 += a1 * b0; c11 += a1 * b1
            c20 += a2 * b0; c21 += a2 * b1
            c30 += a3 * b0; c31 += a3 * b1
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
                                 k: Int, n: Int) {
        let cv = UnsafeMutableRawPointer(c)
        var c0 = cv.loadUnaligned(as: SIMD8<Float>.self), c1 = cv.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        for p in 0..<k {
            let brow = UnsafeRawPointer(b + p * n)
            let av = SIMD8(repeating: a[p])
            c0 += av * brow.loadUnaligned(as: SIMD8<Float>.self)
            c1 += av * brow.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        }
        cv.storeBytes(of: c0, as: SIMD8<Float>.self)
        cv.storeBytes(of: c1, toByteOffset: 32, as: SIMD8<Float>.self)
    }

    /// Columns `from..<n` of one output row, for widths that are not a multiple of 16.
    @inline(__always)
    private static func scalarColumns(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                      k: Int, n: Int, from: Int) {
        guard from < n else { return }
        for p in 0..<k {
            let av = a[p]
            let brow = b + p * n
            for j in from..<n { c[j] += av * brow[j] }
        }
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
