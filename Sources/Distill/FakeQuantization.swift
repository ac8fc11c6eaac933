import NN
import Tensor

/// Which weights magnitude pruning ranks against each other.
public enum PruneScope: String, Sendable, CaseIterable, Codable {
    /// Each dense matrix loses the share of its own smallest weights.
    case layer
    /// One ranking over every dense weight (one threshold): the share is of all of them, and a
    /// small input or output layer whose weights are large keeps more of them.
    case global
}

/// How a student is trained for its deployed arithmetic.
public enum StudentQuantization: String, Sendable, CaseIterable, Codable {
    /// Float training (the default).
    case none
    /// Quantisation-aware distillation: forward passes through int8-rounded weights and
    /// activations, gradients straight through the rounding (so `distill quantize` then keeps
    /// the return).
    case int8
}

/// Quantisation-aware training of a ReLU network: the forward pass rounds each weight to its output
/// unit's (or channel's) int8 grid (scale = largest |weight| / 127) and each layer's input to its int8 grid
/// (scale = a running maximum of its |values| / 127, as `Int8Quantizer` calibrates), so the
/// losses see the int8 student's outputs; the gradients pass straight through the rounding
/// (the straight-through estimator) to the float weights, which the optimiser updates.
public struct FakeQuantizer: Sendable {
    /// Running maximum |value| of each layer's input (exponential average of batch maxima).
    public private(set) var ranges: [Float] = []
    let momentum: Float = 0.99

    public init() {}

    /// A quantizer continuing with `ranges` (a resumed run's).
    public init(ranges: [Float]) { self.ranges = ranges }

    /// `network` with every dense weight on its int8 grid.
    public static func quantizedWeights(_ network: MLP) -> MLP {
        var q = network
        for k in q.convolutions.indices {
            roundColumns(&q.convolutions[k].weight, inputs: q.convolutions[k].geometry.patchSize, outputs: q.convolutions[k].outputChannels)
        }
        for k in q.layers.indices {
            roundColumns(&q.layers[k].weight, inputs: q.layers[k].inputSize, outputs: q.layers[k].outputSize)
        }
        return q
    }

    /// Each column of (inputs, outputs) row-major `weight` on its own int8 grid.
    static func roundColumns(_ weight: inout Tensor, inputs: Int, outputs: Int) {
        weight.scalars.withUnsafeMutableBufferPointer { w in
            for j in 0..<outputs {
                var largest: Float = 0
                for i in 0..<inputs { largest = max(largest, abs(w[i * outputs + j])) }
                guard largest > 0 else { continue }
                let scale = largest / 127
                for i in 0..<inputs {
                    w[i * outputs + j] = min(127, max(-127, (w[i * outputs + j] / scale).rounded(.toNearestOrEven))) * scale
                }
            }
        }
    }

    /// Rounds `t` in place to the int8 grid of `range` (values beyond it clamp).
    static func round(_ t: inout Tensor, range: Float) {
        guard range > 0 else { return }
        let scale = range / 127
        t.scalars.withUnsafeMutableBufferPointer { v in
            for i in v.indices { v[i] = min(127, max(-127, (v[i] / scale).rounded(.toNearestOrEven))) * scale }
        }
    }

    /// The largest |value| of `t`.
    static func largest(_ t: Tensor) -> Float { t.scalars.reduce(Float(0)) { max($0, abs($1)) } }

    /// The forward pass of `network` (its weights already on their grid) on `x`, each layer's
    /// input rounded to its grid, into `cache` laid out as `MLP.forward` lays it (so the losses
    /// and `MLP.backward` read it unchanged). Updates the running ranges.
    public mutating func forward(_ network: MLP, _ x: Tensor, into cache: inout MLP.Cache) {
        precondition(network.activation == .relu, "fake quantisation covers ReLU networks")
        let count = network.layers.count
        if cache.layerInputs.count != count { cache.layerInputs = [Tensor](repeating: .empty, count: count) }
        var input = x
        // Ranges: the convolutions' inputs first, then the dense layers', as Int8Quantizer orders them.
        func roundInput(_ t: inout Tensor, _ k: Int) {
            let batchRange = Self.largest(t)
            if ranges.count == k { ranges.append(batchRange) } else { ranges[k] = momentum * ranges[k] + (1 - momentum) * batchRange }
            Self.round(&t, range: ranges[k])
        }
        let c = network.convolutions.count
        if c > 0 {
            let n = x.shape[0]
            var images = network.channelsFirst ? x.reshaped([n] + network.observationShape).movingChannelAxis(toLast: true)
                : x.reshaped([n] + network.inputShape)
            var inputs: [Tensor] = []
            for (k, conv) in network.convolutions.enumerated() {
                roundInput(&images, k)
                inputs.append(images)
                images = conv.forward(images)
                network.activation.applyInPlace(&images)
            }
            cache.convolutionInputs = inputs
            input = images.reshaped([n, images.count / max(n, 1)])
        } else if !cache.convolutionInputs.isEmpty {
            cache.convolutionInputs = []
        }
        for k in 0..<count {
            roundInput(&input, c + k)
            cache.layerInputs[k] = input
            let last = k == count - 1
            if last {
                Tensor.linear(input, network.layers[k].weight, network.layers[k].bias, relu: false, into: &cache.output)
            } else {
                var next = Tensor.empty
                Tensor.linear(input, network.layers[k].weight, network.layers[k].bias, relu: true, into: &next)
                input = next
            }
        }
    }
}
