/// 2-D convolution over channels-last images (N, H, W, C) — Gymnasium's HWC observation layout —
/// as im2col plus the matrix kernels: each output position's receptive field becomes one row of
/// a (N·OH·OW) × (KH·KW·C) matrix, so the convolution is `linear(cols, W, b)` on the same tiled
/// products as the dense layers, and its backward pass is two more products and a col2im. That
/// matrix is a model, not a buffer: on one thread the kernels read its values where they lie in
/// the images (`sd_gemm_fields`; without padding) or build it a cache-sized strip at a time.
/// Weights are (KH, KW, C, O) here; PyTorch's (O, C, KH, KW) is a transpose of it.
///
/// The column products skip the dense layers' search for zero columns (`compact: false`): a
/// patch column is zero only where a channel is zero at every position of the batch, which
/// images almost never are, so the search and packing cost without saving (Nature DQN update
/// 44–49 → 38–39 ms, MinAtar 0.82 → 0.74–0.77 ms on AMD EPYC Zen 3, one core; the same bits).
public struct ConvolutionGeometry: Equatable, Sendable {
    public let height: Int, width: Int, channels: Int
    public let kernelHeight: Int, kernelWidth: Int
    public let stride: Int, padding: Int

    public init(height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
        precondition(height > 0 && width > 0 && channels > 0 && kernelHeight > 0 && kernelWidth > 0 && stride > 0 && padding >= 0,
                     "convolution sizes must be positive (padding 0 or more)")
        self.height = height
        self.width = width
        self.channels = channels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
    }

    public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Columns of the im2col matrix: one receptive field.
    public var patchSize: Int { kernelHeight * kernelWidth * channels }
    /// True when the kernel fits the padded image at least once.
    public var isValid: Bool { height + 2 * padding >= kernelHeight && width + 2 * padding >= kernelWidth }
}

extension Tensor {
    /// The im2col matrix of `images` (N, H, W, C): (N·OH·OW) × (KH·KW·C), zero where the field
    /// covers padding.
    public static func im2col(_ images: Tensor, _ g: ConvolutionGeometry) -> Tensor {
        precondition(images.rank == 4 && Array(images.shape[1...]) == [g.height, g.width, g.channels],
                     "images \(images.shape) do not match the convolution's (N, \(g.height), \(g.width), \(g.channels))")
        let batch = images.shape[0], k = g.patchSize
        // im2col writes every entry (zeros over padding): no zero fill first.
        return Tensor(shape: [batch * g.outputHeight * g.outputWidth, k]) { dst in
            guard batch > 0, k > 0 else { return }
            images.scalars.withUnsafeBufferPointer { src in
                Kernels.im2col(src.baseAddress!, dst.baseAddress!, batch: batch, height: g.height, width: g.width, channels: g.channels,
                               kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, stride: g.stride, padding: g.padding,
                               outputHeight: g.outputHeight, outputWidth: g.outputWidth)
            }
        }
    }

    /// The adjoint of `im2col`: sums each column entry back onto the input pixel it came from.
    public static func col2im(_ cols: Tensor, batch: Int, _ g: ConvolutionGeometry) -> Tensor {
        let k = g.patchSize
        precondition(cols.shape == [batch * g.outputHeight * g.outputWidth, k], "cols \(cols.shape) do not match the convolution")
        var images = Tensor(shape: [batch, g.height, g.width, g.channels])
        guard batch > 0, k > 0 else { return images }
        cols.scalars.withUnsafeBufferPointer { src in
            images.scalars.withUnsafeMutableBufferPointer { dst in
                Kernels.col2im(src.baseAddress!, dst.baseAddress!, batch: batch, height: g.height, width: g.width, channels: g.channels,
                               kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, stride: g.stride, padding: g.padding,
                               outputHeight: g.outputHeight, outputWidth: g.outputWidth)
            }
        }
        return images
    }

    /// Convolution of `images` (N, H, W, C) with `weight` (KH, KW, C, O) and `bias` (O):
    /// (N, OH, OW, O), through a ReLU as the kernels store it when `relu` (the same bits as a
    /// separate ReLU pass: -0 and NaN stay).
    public static func conv2d(_ images: Tensor, weight: Tensor, bias: Tensor, _ g: ConvolutionGeometry, relu: Bool = false) -> Tensor {
        precondition(weight.shape.count == 4 && Array(weight.shape[0..<3]) == [g.kernelHeight, g.kernelWidth, g.channels]
                     && bias.shape == [weight.shape[3]], "weight \(weight.shape) and bias \(bias.shape) do not match the convolution")
        precondition(images.rank == 4 && Array(images.shape[1...]) == [g.height, g.width, g.channels],
                     "images \(images.shape) do not match the convolution's (N, \(g.height), \(g.width), \(g.channels))")
        let out = weight.shape[3], batch = images.shape[0]
        var written = false
        let y = Tensor(shape: [batch, g.outputHeight, g.outputWidth, out]) { py in
            guard py.count > 0 else { return written = true }
            images.scalars.withUnsafeBufferPointer { pi in
                weight.scalars.withUnsafeBufferPointer { pw in
                    bias.scalars.withUnsafeBufferPointer { pb in
                        written = Kernels.convolutionForward(pi.baseAddress!, weight: pw.baseAddress!, bias: pb.baseAddress!, py.baseAddress!,
                                                             batch: batch, height: g.height, width: g.width, channels: g.channels,
                                                             kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, stride: g.stride,
                                                             padding: g.padding, outputHeight: g.outputHeight, outputWidth: g.outputWidth,
                                                             outputs: out, relu: relu)
                    }
                }
            }
            if !written { py.initialize(repeating: 0) }
        }
        if written { return y }
        // Narrow outputs or two threads: the whole columns, then one product.
        return linear(im2col(images, g), weight.reshaped([g.patchSize, out]), bias, relu: relu, compact: false)
            .reshaped([batch, g.outputHeight, g.outputWidth, out])
    }

    /// Gradients of `conv2d` given dL/d(output) (N, OH, OW, O): of the weight, the bias and
    /// (when asked) the images.
    public static func conv2dBackward(_ images: Tensor, weight: Tensor, outputGradient dy: Tensor, _ g: ConvolutionGeometry,
                                      needInputGradient: Bool = true) -> (weight: Tensor, bias: Tensor, input: Tensor?) {
        let out = weight.shape[3], batch = images.shape[0]
        let rows = dy.reshaped([batch * g.outputHeight * g.outputWidth, out])
        var dW = Tensor(shape: weight.shape)
        let strips = images.scalars.withUnsafeBufferPointer { pi in
            rows.scalars.withUnsafeBufferPointer { pd in
                dW.scalars.withUnsafeMutableBufferPointer { pw in
                    pi.count > 0 && pw.count > 0
                        && Kernels.convolutionWeightGradient(pi.baseAddress!, outputGradient: pd.baseAddress!, pw.baseAddress!, batch: batch,
                                                             height: g.height, width: g.width, channels: g.channels,
                                                             kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, stride: g.stride,
                                                             padding: g.padding, outputHeight: g.outputHeight, outputWidth: g.outputWidth,
                                                             outputs: out)
                }
            }
        }
        if !strips { dW = matmul(im2col(images, g), rows, transposeA: true, compact: false).reshaped(weight.shape) }
        let db = rows.sumRows()
        guard needInputGradient else { return (dW, db, nil) }
        var dx = Tensor(shape: [batch, g.height, g.width, g.channels])
        let fused = rows.scalars.withUnsafeBufferPointer { pd in
            weight.scalars.withUnsafeBufferPointer { pw in
                dx.scalars.withUnsafeMutableBufferPointer { px in
                    px.count > 0 && pd.count > 0
                        && Kernels.convolutionInputGradient(outputGradient: pd.baseAddress!, weight: pw.baseAddress!, px.baseAddress!,
                                                            batch: batch, height: g.height, width: g.width, channels: g.channels,
                                                            kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, stride: g.stride,
                                                            padding: g.padding, outputHeight: g.outputHeight, outputWidth: g.outputWidth,
                                                            outputs: out)
                }
            }
        }
        if !fused { dx = col2im(matmul(rows, weight.reshaped([g.patchSize, out]), transposeB: true), batch: batch, g) }
        return (dW, db, dx)
    }
}

extension Tensor {
    /// (N, A, B, C) → (N, B, C, A) when `toChannelsLast` (CHW images into the HWC layout the
    /// convolutions read), or the inverse (N, B, C, A) → (N, A, B, C): the channel axis moves to
    /// the back or to the front of each image.
    public func movingChannelAxis(toLast: Bool) -> Tensor {
        precondition(rank == 4, "moving the channel axis needs (N, ·, ·, ·) images, not \(shape)")
        let n = shape[0]
        // Viewed as n matrices of rows × columns: transpose each one.
        let rows = toLast ? shape[1] : shape[1] * shape[2]
        let columns = toLast ? shape[2] * shape[3] : shape[3]
        let outShape = toLast ? [n, shape[2], shape[3], shape[1]] : [n, shape[3], shape[1], shape[2]]
        guard count > 0 else { return Tensor(shape: outShape) }
        let plane = rows * columns
        // Every element is written: no zero fill first.
        return Tensor(shape: outShape) { dst in
            scalars.withUnsafeBufferPointer { src in
                for i in 0..<n {
                    Kernels.transpose(src.baseAddress! + i * plane, dst.baseAddress! + i * plane, rows: rows, cols: columns)
                }
            }
        }
    }
}
