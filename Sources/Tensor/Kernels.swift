import CKernels
import Foundation

/// The numeric kernels: the only code in this module that touches raw pointers.
///
/// Written for small-MLP training on one core: register-blocked SIMD matrix multiply,
/// single passes over contiguous memory, no allocation inside loops. The heavy loops are C
/// (CKernels) compiled for several instruction sets in one binary and chosen at run time.
public enum Kernels {
    /// The instruction set the kernels use: "avx512", "avx2" or "portable" (all give the same bits).
    public static var instructionSet: String { String(cString: sd_kernel_name()) }

    /// The widest instruction set this CPU runs.
    public static var bestInstructionSet: String { String(cString: sd_kernel_best_name()) }

    /// Whether `instructionSet` fuses each multiply-add (one rounding). The FMA sets do and agree
    /// bit for bit; the portable set does where the target has FMA (arm64), and on x86-64
    /// multiplies and adds instead (fmaf would be a libm call), so its bits differ there.
    public static func fusesMultiplyAdd(_ instructionSet: String) -> Bool { sd_kernel_fuses(instructionSet) != 0 }

    /// The instruction sets this build carries.
    public static var availableInstructionSets: [String] {
        String(cString: sd_kernel_names()).split(separator: ",").map { String($0.drop { $0 == " " }) }
    }

    /// Threads for large products and Adam: 1, or 2 (a persistent worker computes half the rows;
    /// the results are the same bits). Starts from SWIFT_DISTILL_THREADS (default 1).
    public static var threads: Int {
        get { Int(sd_threads()) }
        set { sd_set_threads(Int32(max(1, newValue))) }
    }

    /// A sentence when the environment variable SWIFT_DISTILL_KERNELS asks for kernels this
    /// build or CPU cannot run (they are then not used); nil otherwise.
    public static var requestProblem: String? {
        guard sd_kernel_requested_is_usable() == 0 else { return nil }
        let requested = ProcessInfo.processInfo.environment["SWIFT_DISTILL_KERNELS"] ?? ""
        return "SWIFT_DISTILL_KERNELS=\(requested) is not a kernel set this CPU runs; use one of "
            + availableInstructionSets.filter { name in with(instructionSet: name) { true } != nil }.joined(separator: ", ")
            + " (or unset it for the widest, \(bestInstructionSet))"
    }

    /// Switches every thread to the named kernels (for comparisons and tests); false when the
    /// name is unknown or this CPU cannot run it.
    @discardableResult
    public static func use(_ instructionSet: String) -> Bool { sd_kernel_select(instructionSet) != 0 }

    /// Runs `body` with the named kernels on this thread only; nil when this CPU cannot run them.
    /// `body` must not suspend (the choice belongs to the thread).
    public static func with<R>(instructionSet: String, _ body: () throws -> R) rethrows -> R? {
        guard sd_kernel_select_for_thread(instructionSet) != 0 else { return nil }
        defer { sd_kernel_select_for_thread(nil) }
        return try body()
    }

    /// One observation through dense layers `(weight in×out, bias out)` with `activation`
    /// (1 ReLU, 2 tanh) between them; `body` reads the outputs (and must not run another chain
    /// on the same thread: wide layers' activations live in the thread's scratch). No heap
    /// allocation once warm.
    public static func denseChain<R>(_ x: [Float], layers: [(weight: Tensor, bias: Tensor)], activation: Int32,
                                     _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        var width = x.count
        for layer in layers { width = max(width, layer.bias.count) }
        // Two activation vectors: on the stack when small (Swift keeps up to 1 KB there), else in
        // the thread's scratch — either way nothing is allocated per call once warm.
        guard 2 * width * MemoryLayout<Float>.stride > 1024, let scratch = sd_thread_scratch(2 * width) else {
            return withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * width) { scratch in
                chain(x, layers: layers, activation: activation, scratch: scratch.baseAddress!, width: width, body)
            }
        }
        return chain(x, layers: layers, activation: activation, scratch: scratch, width: width, body)
    }

    private static func chain<R>(_ x: [Float], layers: [(weight: Tensor, bias: Tensor)], activation: Int32,
                                 scratch a: UnsafeMutablePointer<Float>, width: Int, _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        let b = a + width
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

    /// Prefetches rows `rows` of `table` (`width` values each) into the cache; a hint, no reads.
    /// Replay draws are random slots, each a cache miss: asked for one minibatch ahead, they
    /// arrive while the current minibatch trains.
    public static func prefetch(_ table: [Float], width: Int, rows: [Int]) {
        table.withUnsafeBufferPointer { prefetch(UnsafeRawPointer($0.baseAddress), stride: width * 4, rows: rows) }
    }

    /// As above, for a table of 32-bit integers.
    public static func prefetch(_ table: [Int32], width: Int, rows: [Int]) {
        table.withUnsafeBufferPointer { prefetch(UnsafeRawPointer($0.baseAddress), stride: width * 4, rows: rows) }
    }

    private static func prefetch(_ base: UnsafeRawPointer?, stride: Int, rows: [Int]) {
        guard let base, !rows.isEmpty else { return }
        rows.withUnsafeBufferPointer { sd_prefetch_rows(base, stride, $0.baseAddress!, $0.count) }
    }

    /// Index of the largest value (the first of equal maxima, as NumPy's argmax).
    public static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<values.count where values[i] > values[best] { best = i }
        return best
    }

    /// C = A·B (+ C when `accumulate`), A is m×k, B is k×n, all row-major.
    /// With `transposedA`, `a` holds Aᵀ (k×m) and is read in place: weight gradients Xᵀ·dY
    /// need no transposed copy. Runs the C kernels for this CPU (`instructionSet`). `compact`
    /// false skips the search for zero columns (dense operands; the same bits).
    @inline(__always)
    public static func matmul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                              m: Int, k: Int, n: Int, accumulate: Bool = false, transposedA: Bool = false, compact: Bool = true) {
        if compact { sd_gemm(a, b, c, m, k, n, accumulate ? 1 : 0, transposedA ? 1 : 0) }
        else { sd_gemm_dense(a, b, c, m, k, n, accumulate ? 1 : 0, transposedA ? 1 : 0) }
    }

    /// C = A·Bᵀ (+ C when `accumulate`), A is m×k, B is n×k (input gradients dY·Wᵀ without
    /// transposing W by hand).
    /// With `liveColumnsOf` (an m×n matrix), only the columns of C where it holds a nonzero are
    /// computed; the rest stay 0 (or as they were when accumulating).
    @inline(__always)
    public static func matmulTransposedB(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                         m: Int, k: Int, n: Int, accumulate: Bool = false,
                                         liveColumnsOf live: UnsafePointer<Float>? = nil) {
        sd_gemm_bt_live(a, b, c, m, k, n, accumulate ? 1 : 0, live)
    }

    /// y = x·W + b (x m×k, W k×n), through a ReLU when `relu`; x and W may be nil when k is 0.
    @inline(__always)
    public static func linear(_ x: UnsafePointer<Float>?, _ w: UnsafePointer<Float>?, _ bias: UnsafePointer<Float>,
                              _ y: UnsafeMutablePointer<Float>, m: Int, k: Int, n: Int, relu: Bool, compact: Bool = true) {
        if compact { sd_linear(x, w, bias, y, m, k, n, relu ? 1 : 0) } else { sd_linear_dense(x, w, bias, y, m, k, n, relu ? 1 : 0) }
    }

    /// A dense layer's backward pass for y = x·W + b (x m×k, W k×n): dW = xᵀ·dY, db = Σ rows of dY,
    /// and dx = dY·Wᵀ unless `dx` is nil — with `inputFromReLU`, on through the ReLU that produced x
    /// (kept where x > 0, else 0). The products share one scan of dY's and x's zero columns.
    @inline(__always)
    public static func denseBackward(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                     weight w: UnsafePointer<Float>, weightGradient dw: UnsafeMutablePointer<Float>,
                                     biasGradient db: UnsafeMutablePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                                     m: Int, k: Int, n: Int, inputFromReLU: Bool) {
        sd_dense_backward(x, dy, w, dw, db, dx, m, k, n, inputFromReLU ? 1 : 0)
    }

    /// Σ x[i]·y[i] (eight running lanes, one fixed reduction order on every CPU).
    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        sd_dot(x, y, count)
    }

    /// Σ x[i]² (32 running lanes, one fixed reduction order on every CPU).
    @inline(__always)
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float {
        sd_sum_squares(x, count)
    }

    /// dst (cols×rows) = srcᵀ (src is rows×cols).
    public static func transpose(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        sd_transpose(src, dst, rows, cols)
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
        sd_sum_rows(x, out, m, n)
    }
}

extension Kernels {
    /// One Adam step over `count` parameters:
    /// m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − stepSize·m / (√v / √c2 + ε).
    /// Runs in C (CKernels) so the loop vectorises with `restrict` pointers, for this CPU's widest vectors.
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

    /// The ReLU backward pass: dst = g where the forward input x > 0, else 0 (so NaN inputs pass nothing).
    public static func reluBackward(_ g: UnsafePointer<Float>, input x: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                                    count: Int) {
        let zero = SIMD8<Float>()
        let gs = UnsafeRawPointer(g), xs = UnsafeRawPointer(x), d = UnsafeMutableRawPointer(dst)
        var i = 0
        while i + 8 <= count {
            let xv = xs.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let gv = gs.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            d.storeBytes(of: zero.replacing(with: gv, where: xv .> zero), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { dst[i] = x[i] > 0 ? g[i] : 0; i += 1 }
    }

    /// dst = src · s.
    public static func scale(_ src: UnsafePointer<Float>, by s: Float, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        let sv = SIMD8<Float>(repeating: s)
        let from = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
        var i = 0
        while i + 8 <= count {
            d.storeBytes(of: from.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * sv, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { dst[i] = src[i] * s; i += 1 }
    }

    /// The distance-wise relational loss from Gram matrices (n × n, flat); adds scale × dL/dG into `dG`.
    public static func relationalDistance(studentGram gs: [Float], teacherGram gt: [Float], n: Int, scale: Float,
                                          into dG: inout [Float]) -> Float {
        precondition(gs.count == n * n && gt.count == n * n && dG.count == n * n, "Gram matrices must be n × n")
        var work = [Float](repeating: 0, count: 3 * n * n + 3 * n)
        return sd_rkd_distance(gs, gt, Int32(n), scale, &dG, &work)
    }

    /// The angle-wise relational loss over the first `rows` rows of Gram matrices of row stride
    /// n; adds scale × dL/dG into `dG` (n × n).
    public static func relationalAngle(studentGram gs: [Float], teacherGram gt: [Float], n: Int, rows m: Int, scale: Float,
                                       into dG: inout [Float]) -> Float {
        precondition(gs.count == n * n && gt.count == n * n && dG.count == n * n && m <= n, "Gram matrices must be n × n")
        var work = [Float](repeating: 0, count: 2 * m * m + 2 * m)
        return sd_rkd_angle(gs, gt, Int32(n), Int32(m), scale, &dG, &work)
    }

    /// a + aᵀ for an n × n matrix (flat).
    public static func symmetrized(_ a: [Float], n: Int) -> [Float] {
        precondition(a.count == n * n, "a must be n × n")
        var out = a
        sd_symmetrize(&out, Int32(n))
        return out
    }

    /// im2col of channels-last images into `cols`, every entry written (see ckernels.h).
    public static func im2col(_ images: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, batch: Int, height: Int, width: Int,
                              channels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int,
                              outputHeight: Int, outputWidth: Int) {
        sd_im2col(images, cols, batch, height, width, channels, kernelHeight, kernelWidth, stride, padding, outputHeight, outputWidth)
    }

    /// A convolution's forward product into `y` a strip of columns at a time (see ckernels.h);
    /// false, with nothing written, where that does not apply.
    public static func convolutionForward(_ images: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                          _ y: UnsafeMutablePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                          kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int, outputHeight: Int,
                                          outputWidth: Int, outputs: Int, relu: Bool = false) -> Bool {
        sd_conv_forward(images, weight, bias, y, batch, height, width, channels, kernelHeight, kernelWidth, stride, padding,
                        outputHeight, outputWidth, outputs, relu ? 1 : 0) != 0
    }

    /// A convolution's weight gradient into `dw` a strip of columns at a time (see ckernels.h);
    /// false, with nothing written, where that does not apply.
    public static func convolutionWeightGradient(_ images: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                                 _ dw: UnsafeMutablePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                                 kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int, outputHeight: Int,
                                                 outputWidth: Int, outputs: Int) -> Bool {
        sd_conv_weight_gradient(images, dy, dw, batch, height, width, channels, kernelHeight, kernelWidth, stride, padding,
                                outputHeight, outputWidth, outputs) != 0
    }

    /// A convolution's input gradient added onto `dx` a strip of columns at a time (see
    /// ckernels.h); false, with nothing written, where that does not apply.
    public static func convolutionInputGradient(outputGradient dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                                _ dx: UnsafeMutablePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                                                kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int, outputHeight: Int,
                                                outputWidth: Int, outputs: Int) -> Bool {
        sd_conv_input_gradient(dy, weight, dx, batch, height, width, channels, kernelHeight, kernelWidth, stride, padding,
                               outputHeight, outputWidth, outputs) != 0
    }

    /// The adjoint of `im2col`: adds `cols` onto `images`.
    public static func col2im(_ cols: UnsafePointer<Float>, _ images: UnsafeMutablePointer<Float>, batch: Int, height: Int, width: Int,
                              channels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int,
                              outputHeight: Int, outputWidth: Int) {
        sd_col2im(cols, images, batch, height, width, channels, kernelHeight, kernelWidth, stride, padding, outputHeight, outputWidth)
    }

    /// `values` / `scale` as bytes, rounded to nearest (ties to even) and clamped to 0–255: how
    /// byte-valued observations (uint8 frames) are stored (see ckernels.h).
    public static func encodeBytes(_ values: UnsafePointer<Float>, _ bytes: UnsafeMutablePointer<UInt8>, count: Int, scale: Float) {
        sd_encode_bytes(values, bytes, count, scale)
    }

    /// One (C, H, W) image of bytes into `out` channels last, each value times `scale` (see ckernels.h).
    public static func decodeBytesChannelsLast(_ planes: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Float>, channels: Int,
                                               plane: Int, scale: Float) {
        sd_decode_bytes_channels_last(planes, out, channels, plane, scale)
    }
}
