import NN

/// A ReLU MLP in int8: int8 weights with one scale per output unit, int8 activations with one
/// scale per layer input, int32 accumulation. Every step is integer arithmetic or one IEEE
/// float32 operation, so NumPy, C and Swift that follow `qValues` compute the same bits:
///
/// 1. the observation (as the environment gives it, scaled) to int8:
///    `x = clamp(x · inputInverseScale, −127, 127)` in float32, rounded half to even;
/// 2. each layer: `acc[j] = bias[j] + Σᵢ x[i] · weight[i][j]` in int32;
/// 3. a hidden layer's ReLU and requantisation to the next layer's int8:
///    `x'[j] = acc[j] ≤ 0 ? 0 : min(127, (acc[j] · multiplier[j] + 2^(shift[j]−1)) >> shift[j])` in int64;
/// 4. the last layer's Q-values: `Float(acc[j]) · outputScale[j]` in float32.
///
/// A convolutional network runs its convolutions first, over the int8 image in (height, width,
/// channels) order (moved there from (channels, height, width) when `channelsFirst`): each output
/// position is step 2 over its receptive field — (ky, kx, channel) in order, 0 outside the
/// image — then step 3 with the output channel's multiplier and shift. The last convolution's
/// int8 output, flattened as (y, x, channel), is the first dense layer's input.
public struct Int8Network: Equatable, Sendable {
    /// One convolution: a dense `layer` (inputs = kernel·kernel·channels, outputs = output
    /// channels, always requantised) applied at every output position of a (height, width,
    /// channels) image.
    public struct Convolution: Equatable, Sendable {
        public var height: Int
        public var width: Int
        public var channels: Int
        public var kernel: Int
        public var stride: Int
        public var padding: Int
        public var layer: Layer

        public init(height: Int, width: Int, channels: Int, kernel: Int, stride: Int, padding: Int, layer: Layer) {
            (self.height, self.width, self.channels, self.kernel, self.stride, self.padding) = (height, width, channels, kernel, stride, padding)
            self.layer = layer
        }

        public var outputHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
        public var outputWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
        public var outputChannels: Int { layer.outputSize }
        public var outputCount: Int { outputHeight * outputWidth * outputChannels }

        /// The requantised int8 output (outputHeight, outputWidth, outputChannels) of `image`.
        func apply(_ image: [Int32]) -> [Int32] {
            var out = [Int32](repeating: 0, count: outputCount)
            var field = [Int32](repeating: 0, count: layer.inputSize)
            let o = outputChannels
            for y in 0..<outputHeight {
                for x in 0..<outputWidth {
                    var f = 0
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            let iy = y * stride + ky - padding, ix = x * stride + kx - padding
                            let inside = iy >= 0 && iy < height && ix >= 0 && ix < width
                            for ch in 0..<channels {
                                field[f] = inside ? image[(iy * width + ix) * channels + ch] : 0
                                f += 1
                            }
                        }
                    }
                    let acc = Int8Network.accumulate(layer, field)
                    let at = (y * outputWidth + x) * o
                    for j in 0..<o { out[at + j] = Int8Network.requantize(acc[j], multiplier: layer.multiplier[j], shift: layer.shift[j]) }
                }
            }
            return out
        }
    }

    /// One dense layer.
    public struct Layer: Equatable, Sendable {
        public var inputSize: Int
        public var outputSize: Int
        /// (inputs, outputs) row-major, each in −127…127.
        public var weight: [Int32]
        /// In units of the input scale times the output unit's weight scale.
        public var bias: [Int32]
        /// Hidden layers: the requantisation of each output to the next layer's int8 input
        /// (a Q-format multiplier in 2^30…2^31 and a right shift); empty for the last layer.
        public var multiplier: [Int32]
        public var shift: [Int32]

        public init(inputSize: Int, outputSize: Int, weight: [Int32], bias: [Int32], multiplier: [Int32] = [], shift: [Int32] = []) {
            self.inputSize = inputSize
            self.outputSize = outputSize
            self.weight = weight
            self.bias = bias
            self.multiplier = multiplier
            self.shift = shift
        }
    }

    /// 1 / the observation's scale: one int8 step of the input is 1 / inputInverseScale.
    public var inputInverseScale: Float
    public var convolutions: [Convolution]
    /// Observations arrive (channels, height, width) and are moved to (height, width, channels).
    public var channelsFirst: Bool
    public var layers: [Layer]
    /// Q-value of one unit of the last layer's accumulator, per action.
    public var outputScale: [Float]
    /// What the outputs mean, as the float network's `head`; a continuous head's action is its
    /// dequantised outputs clipped or squashed into `actionLow`…`actionHigh`.
    public var head: OutputHead = .q
    public var actionLow: [Float] = []
    public var actionHigh: [Float] = []

    public init(inputInverseScale: Float, convolutions: [Convolution] = [], channelsFirst: Bool = false, layers: [Layer],
                outputScale: [Float]) {
        self.inputInverseScale = inputInverseScale
        self.convolutions = convolutions
        self.channelsFirst = channelsFirst && !convolutions.isEmpty
        self.layers = layers
        self.outputScale = outputScale
    }

    public var inputSize: Int { convolutions.first.map { $0.height * $0.width * $0.channels } ?? layers.first?.inputSize ?? 0 }
    public var outputSize: Int { layers.last?.outputSize ?? 0 }
    /// The number of actions (one Q-value each).
    public var actionCount: Int { outputSize }
    public var hiddenSizes: [Int] { layers.dropLast().map(\.outputSize) }

    /// Bytes of the deployed arrays: int8 weights, int32 biases, multipliers and shifts, float scales.
    public var bytes: Int {
        (convolutions.map(\.layer) + layers).reduce(0) { $0 + $1.weight.count + 4 * ($1.bias.count + $1.multiplier.count + $1.shift.count) }
            + 4 * (outputScale.count + 1)
    }

    /// int8 weights, convolutions and dense layers.
    public var weightCount: Int { (convolutions.map(\.layer) + layers).reduce(0) { $0 + $1.weight.count } }

    /// Integer multiply-adds per observation.
    public var multiplyAdds: Int {
        convolutions.reduce(0) { $0 + $1.outputHeight * $1.outputWidth * $1.layer.weight.count } + layers.reduce(0) { $0 + $1.weight.count }
    }

    /// Step 1: an observation value to int8.
    @inline(__always)
    public func quantizeInput(_ value: Float) -> Int32 {
        var v = value * inputInverseScale
        if v.isNaN { return 0 }
        if v > 127 { v = 127 }
        if v < -127 { v = -127 }
        return Int32(v.rounded(.toNearestOrEven))
    }

    /// Step 3: a hidden accumulator through ReLU to the next layer's int8.
    @inline(__always)
    public static func requantize(_ acc: Int32, multiplier: Int32, shift: Int32) -> Int32 {
        guard acc > 0 else { return 0 }
        let product = Int64(acc) * Int64(multiplier) + (Int64(1) << (shift - 1))
        return Int32(min(127, product >> shift))
    }

    /// The int32 accumulators of `layer` for int8 inputs `x`.
    @inline(__always)
    static func accumulate(_ layer: Layer, _ x: [Int32]) -> [Int32] {
        var acc = layer.bias
        let out = layer.outputSize
        layer.weight.withUnsafeBufferPointer { w in
            acc.withUnsafeMutableBufferPointer { a in
                for i in 0..<layer.inputSize where x[i] != 0 {
                    let xi = x[i], row = i * out
                    for j in 0..<out { a[j] &+= xi &* w[row + j] }
                }
            }
        }
        return acc
    }

    /// The Q-values of one observation (as the environment gives it).
    public func qValues(_ observation: [Float]) -> [Float] {
        precondition(observation.count == inputSize, "observation size \(observation.count), network takes \(inputSize)")
        var x = observation.map(quantizeInput)
        if let first = convolutions.first, channelsFirst {
            // (c, y, x) to (y, x, c).
            let (h, w, c) = (first.height, first.width, first.channels)
            var moved = x
            for ch in 0..<c { for y in 0..<h { for xx in 0..<w { moved[(y * w + xx) * c + ch] = x[(ch * h + y) * w + xx] } } }
            x = moved
        }
        for convolution in convolutions { x = convolution.apply(x) }
        for (k, layer) in layers.enumerated() {
            let acc = Self.accumulate(layer, x)
            if k == layers.count - 1 { return (0..<layer.outputSize).map { Float(acc[$0]) * outputScale[$0] } }
            x = (0..<layer.outputSize).map { Self.requantize(acc[$0], multiplier: layer.multiplier[$0], shift: layer.shift[$0]) }
        }
        return []
    }

    /// A continuous head's action: the dequantised outputs through the head, as the float model acts.
    public func continuousAction(_ observation: [Float]) -> [Float] {
        head.action(qValues(observation), low: actionLow, high: actionHigh)
    }

    /// The greedy action: the first of equal largest Q-values.
    public func action(_ observation: [Float]) -> Int {
        let q = qValues(observation)
        return q.indices.reduce(0) { q[$1] > q[$0] ? $1 : $0 }
    }
}
