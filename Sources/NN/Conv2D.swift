import Tensor

/// What a convolution layer is, as settings and manifests give it: output channels, a square
/// kernel, stride and zero padding (MinAtar's network is one `16:3:1`; Nature DQN's
/// `32:8:4, 64:4:2, 64:3:1`).
public struct ConvSpec: Codable, Equatable, Sendable, CustomStringConvertible {
    public var outputChannels: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int

    public init(outputChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.outputChannels = outputChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// `OUT:KERNEL[:STRIDE[:PADDING]]`, e.g. `16:3:1`.
    public var description: String { "\(outputChannels):\(kernel):\(stride)" + (padding > 0 ? ":\(padding)" : "") }

    /// Parses `OUT:KERNEL[:STRIDE[:PADDING]]`; nil when it is not that.
    /// Bounds a model reader accepts: output channels, and kernel, stride and padding.
    public static let maxChannels = 1 << 16
    public static let maxKernel = 1 << 10

    public init?(parsing text: String) {
        let parts = text.split(separator: ":").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (2...4).contains(parts.count), parts.allSatisfy({ $0 != nil }) else { return nil }
        let v = parts.map { $0! }
        guard v[0] > 0, v[1] > 0, (v.count < 3 || v[2] > 0), (v.count < 4 || v[3] >= 0) else { return nil }
        self.init(outputChannels: v[0], kernel: v[1], stride: v.count > 2 ? v[2] : 1, padding: v.count > 3 ? v[3] : 0)
    }
}

/// A convolution layer over channels-last images: weight (KH, KW, C, O), bias (O).
public struct Conv2D: Equatable, Sendable {
    public var weight: Tensor
    public var bias: Tensor
    public let geometry: ConvolutionGeometry

    public init(weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry) {
        precondition(weight.shape == [geometry.kernelHeight, geometry.kernelWidth, geometry.channels, bias.count] && bias.rank == 1,
                     "conv weight \(weight.shape) and bias \(bias.shape) do not fit the geometry")
        self.weight = weight
        self.bias = bias
        self.geometry = geometry
    }

    /// A layer for `(height, width, channels)` inputs, initialised as PyTorch initialises Conv2d
    /// (uniform ±1/√fan-in for weights and biases, fan-in = KH·KW·C).
    public init(input shape: [Int], spec: ConvSpec, rng: inout SeededGenerator) {
        precondition(shape.count == 3, "a convolution reads (height, width, channels) inputs")
        let g = ConvolutionGeometry(height: shape[0], width: shape[1], channels: shape[2], kernelHeight: spec.kernel,
                                    kernelWidth: spec.kernel, stride: spec.stride, padding: spec.padding)
        let (wb, bb) = WeightInitializer.pytorch.bounds(fanIn: g.patchSize, fanOut: spec.outputChannels)
        weight = Tensor(shape: [spec.kernel, spec.kernel, shape[2], spec.outputChannels],
                        scalars: (0..<(g.patchSize * spec.outputChannels)).map { _ in rng.uniform(-wb, wb) })
        bias = Tensor(shape: [spec.outputChannels], scalars: (0..<spec.outputChannels).map { _ in bb == 0 ? 0 : rng.uniform(-bb, bb) })
        geometry = g
    }

    public var outputChannels: Int { bias.count }
    /// (OH, OW, O).
    public var outputShape: [Int] { [geometry.outputHeight, geometry.outputWidth, outputChannels] }
    public var spec: ConvSpec {
        ConvSpec(outputChannels: outputChannels, kernel: geometry.kernelHeight, stride: geometry.stride, padding: geometry.padding)
    }
    /// Multiply–adds (×2) and bias adds for one image.
    public var flopsPerSample: Int {
        geometry.outputHeight * geometry.outputWidth * outputChannels * (2 * geometry.patchSize + 1)
    }

    /// The layer's output, through a ReLU as the kernels store it when `relu`.
    public func forward(_ images: Tensor, relu: Bool = false) -> Tensor {
        Tensor.conv2d(images, weight: weight, bias: bias, geometry, relu: relu)
    }

    /// The weight in PyTorch's layout (O, C, KH, KW), as manifests store it.
    public var weightOIHW: Tensor { Self.permute(weight, from: [geometry.kernelHeight, geometry.kernelWidth, geometry.channels, outputChannels], order: [3, 2, 0, 1]) }

    /// A weight read in PyTorch's layout (O, C, KH, KW), back to (KH, KW, C, O).
    public static func weight(fromOIHW w: Tensor) -> Tensor { permute(w, from: w.shape, order: [2, 3, 1, 0]) }

    /// Axis permutation of a rank-4 tensor: output axis i is input axis `order[i]`.
    static func permute(_ t: Tensor, from shape: [Int], order: [Int]) -> Tensor {
        let outShape = order.map { shape[$0] }
        var strides = [Int](repeating: 1, count: 4)
        for i in stride(from: 2, through: 0, by: -1) { strides[i] = strides[i + 1] * shape[i + 1] }
        var out = [Float](repeating: 0, count: t.count)
        var index = 0
        for a in 0..<outShape[0] { for b in 0..<outShape[1] { for c in 0..<outShape[2] { for d in 0..<outShape[3] {
            let source = a * strides[order[0]] + b * strides[order[1]] + c * strides[order[2]] + d * strides[order[3]]
            out[index] = t.scalars[source]
            index += 1
        } } } }
        return Tensor(shape: outShape, scalars: out)
    }
}
