import Tensor

/// A multilayer perceptron: Linear → activation → … → Linear (no activation on the output).
public struct MLP: Equatable, Sendable {
    public var layers: [Linear]
    public var activation: Activation

    /// A network inputSize → hiddenSizes… → outputSize, initialised from `seed`.
    public init(inputSize: Int, hiddenSizes: [Int], outputSize: Int, activation: Activation = .relu,
                initializer: WeightInitializer = .pytorch, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.init(inputSize: inputSize, hiddenSizes: hiddenSizes, outputSize: outputSize,
                  activation: activation, initializer: initializer, rng: &rng)
    }

    /// As above, drawing from a caller's generator.
    public init(inputSize: Int, hiddenSizes: [Int], outputSize: Int, activation: Activation = .relu,
                initializer: WeightInitializer = .pytorch, rng: inout SeededGenerator) {
        let sizes = [inputSize] + hiddenSizes + [outputSize]
        precondition(sizes.allSatisfy { $0 > 0 }, "layer sizes must be positive: \(sizes)")
        var layers: [Linear] = []
        for i in 0..<(sizes.count - 1) {
            layers.append(Linear(inputs: sizes[i], outputs: sizes[i + 1], initializer: initializer, rng: &rng))
        }
        self.init(layers: layers, activation: activation)
    }

    /// A network from existing layers (e.g. loaded from a checkpoint).
    public init(layers: [Linear], activation: Activation) {
        precondition(!layers.isEmpty, "an MLP needs at least one layer")
        for (a, b) in zip(layers, layers.dropFirst()) {
            precondition(a.outputSize == b.inputSize, "layer sizes \(a.outputSize) and \(b.inputSize) do not chain")
        }
        self.layers = layers
        self.activation = activation
    }

    /// Layers that need not chain: a parameter container (see `MultiTaskNetwork.withParameters`).
    init(unchainedLayers layers: [Linear], activation: Activation) {
        self.layers = layers
        self.activation = activation
    }

    public var inputSize: Int { layers[0].inputSize }
    public var outputSize: Int { layers[layers.count - 1].outputSize }
    public var hiddenSizes: [Int] { layers.dropLast().map(\.outputSize) }
    /// Number of weights and biases.
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.weight.count + $1.bias.count } }
    /// Multiply–adds (×2) and bias adds for one observation's forward pass, activations excluded.
    public var flopsPerSample: Int { layers.reduce(0) { $0 + $1.flopsPerSample } }

    /// What the backward pass needs from the forward pass.
    public struct Cache: Sendable {
        /// Input to each linear layer: `layerInputs[0]` is the batch, `layerInputs[i+1]` hidden layer i's activations.
        public var layerInputs: [Tensor]
        /// Each hidden layer's output before its activation.
        public var preActivations: [Tensor]
        /// The network's output.
        public var output: Tensor

        /// Activations of hidden layer `index` (0-based), as distillation matches them.
        public func hidden(_ index: Int) -> Tensor { layerInputs[index + 1] }
    }

    /// Gradients in `parameters` order (W0, b0, W1, b1, …), and optionally of the input.
    public struct Gradients: Sendable {
        public var parameters: [Tensor]
        public var input: Tensor?
    }

    /// Output for a batch (batch × inputSize).
    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x).output }

    /// Forward pass keeping what backward needs.
    public func forward(_ x: Tensor) -> Cache {
        precondition(x.rank == 2 && x.shape[1] == inputSize, "input \(x.shape) does not fit an MLP with \(inputSize) inputs")
        var inputs = [x], pre: [Tensor] = []
        var h = x
        for (i, layer) in layers.enumerated() {
            let z = layer.forward(h)
            if i == layers.count - 1 { return Cache(layerInputs: inputs, preActivations: pre, output: z) }
            pre.append(z)
            h = activation.apply(z)
            inputs.append(h)
        }
        fatalError("unreachable: an MLP has at least one layer")
    }

    /// Exact gradients for dL/d(output) = `outputGradient`, plus optional extra gradients on
    /// hidden activations (`hiddenGradients[i]` = dL/d hidden(i)), as feature distillation adds.
    public func backward(_ cache: Cache, outputGradient: Tensor, hiddenGradients: [Int: Tensor] = [:],
                         needInputGradient: Bool = false) -> Gradients {
        var grads = [Tensor](repeating: Tensor(shape: [0]), count: 2 * layers.count)
        var dy = outputGradient
        var dInput: Tensor?
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let needDx = i > 0 || needInputGradient
            let g = layers[i].backward(input: cache.layerInputs[i], outputGradient: dy, needInputGradient: needDx)
            grads[2 * i] = g.weight
            grads[2 * i + 1] = g.bias
            guard i > 0, var dh = g.input else { dInput = g.input; break }
            if let extra = hiddenGradients[i - 1] { dh += extra }
            dy = activation.backward(dh, input: cache.preActivations[i - 1], output: cache.layerInputs[i])
        }
        return Gradients(parameters: grads, input: dInput)
    }

    /// Lends the parameters to `body` for in-place changes without copying them (they are moved
    /// out of the layers for the call, so each tensor's storage stays uniquely referenced).
    public mutating func withParameters<R>(_ body: (inout [Tensor]) throws -> R) rethrows -> R {
        var params: [Tensor] = []
        params.reserveCapacity(2 * layers.count)
        let empty = Tensor(shape: [0])
        for i in layers.indices {
            params.append(layers[i].weight)
            params.append(layers[i].bias)
            layers[i].weight = empty
            layers[i].bias = empty
        }
        defer {
            for i in layers.indices {
                layers[i].weight = params[2 * i]
                layers[i].bias = params[2 * i + 1]
            }
        }
        return try body(&params)
    }

    /// All weights and biases in a fixed order: W0, b0, W1, b1, …
    public var parameters: [Tensor] {
        get { layers.flatMap { [$0.weight, $0.bias] } }
        set {
            precondition(newValue.count == 2 * layers.count, "expected \(2 * layers.count) tensors")
            for i in layers.indices {
                precondition(newValue[2 * i].shape == layers[i].weight.shape && newValue[2 * i + 1].shape == layers[i].bias.shape,
                             "parameter shapes do not match layer \(i)")
                layers[i].weight = newValue[2 * i]
                layers[i].bias = newValue[2 * i + 1]
            }
        }
    }
}
