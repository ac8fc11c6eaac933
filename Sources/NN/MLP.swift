import Tensor

/// A multilayer perceptron: Linear → activation → … → Linear (no activation on the output),
/// optionally behind convolutions (Conv2D → activation → …, then flattened) that read the flat
/// observation as an image of `observationShape`: channels-last (H, W, C) as Gymnasium's image
/// spaces and MinAtar give it, or channels-first (C, H, W) as Atari's frame stacks do, moved to
/// channels-last (`inputShape`) before the first convolution.
public struct MLP: Equatable, Sendable {
    public var layers: [Linear]
    public var activation: Activation
    /// Convolutions before the dense layers (none for a plain MLP).
    public var convolutions: [Conv2D] = []
    /// True when observations arrive as (C, H, W) images.
    public var channelsFirst = false
    /// What the outputs mean (Q-values unless the network came from a policy-gradient teacher or
    /// imitates one); model directories record it.
    public var head: OutputHead = .q
    /// A continuous head's action bounds, one value per output (empty for discrete heads).
    public var actionLow: [Float] = []
    public var actionHigh: [Float] = []
    /// A Gaussian head's state-independent log standard deviation per action dimension (PPO's
    /// and A2C's `log_std`), which the Gaussian KL loss weighs the means by; empty when unknown.
    public var actionLogStd: [Float] = []

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

    /// A network of convolutions over images of `observationShape`, then dense layers over the
    /// flattened result. The layout is (C, H, W) when `channelsFirst`, else (H, W, C); nil reads
    /// it from the shape as SB3 does (`imageLooksChannelsFirst`).
    public init(observationShape: [Int], convolutions specs: [ConvSpec], hiddenSizes: [Int], outputSize: Int,
                activation: Activation = .relu, channelsFirst: Bool? = nil, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var convs: [Conv2D] = []
        let first = channelsFirst ?? Self.imageLooksChannelsFirst(observationShape)
        var shape = first ? Self.channelsLastShape(observationShape) : observationShape
        for spec in specs {
            let conv = Conv2D(input: shape, spec: spec, rng: &rng)
            convs.append(conv)
            shape = conv.outputShape
        }
        var dense = MLP(inputSize: shape.reduce(1, *), hiddenSizes: hiddenSizes, outputSize: outputSize, activation: activation,
                        rng: &rng)
        dense.convolutions = convs
        dense.channelsFirst = first && !convs.isEmpty
        self = dense
    }

    /// SB3's rule (`is_image_space_channels_first`): a rank-3 image is channels-first when its
    /// smallest axis comes first — (4, 84, 84) Atari frame stacks yes, (10, 10, 4) MinAtar grids no.
    public static func imageLooksChannelsFirst(_ shape: [Int]) -> Bool {
        guard shape.count == 3, let smallest = shape.min() else { return false }
        return shape.firstIndex(of: smallest) == 0 && shape[2] != smallest
    }

    /// (C, H, W) → (H, W, C).
    public static func channelsLastShape(_ shape: [Int]) -> [Int] { [shape[1], shape[2], shape[0]] }

    /// A network from existing convolutions and dense layers (e.g. loaded from a model directory).
    public init(convolutions: [Conv2D], layers: [Linear], activation: Activation, channelsFirst: Bool = false) {
        self.init(layers: layers, activation: activation)
        self.channelsFirst = channelsFirst && !convolutions.isEmpty
        for (a, b) in zip(convolutions, convolutions.dropFirst()) {
            precondition(a.outputShape == [b.geometry.height, b.geometry.width, b.geometry.channels], "convolutions do not chain")
        }
        if let last = convolutions.last {
            precondition(last.outputShape.reduce(1, *) == layers[0].inputSize, "the last convolution's output does not fit the first dense layer")
        }
        self.convolutions = convolutions
    }

    /// (height, width, channels) of the images the convolutions read; empty without them.
    public var inputShape: [Int] {
        convolutions.first.map { [$0.geometry.height, $0.geometry.width, $0.geometry.channels] } ?? []
    }

    /// The observation's shape in its own layout: `inputShape`, or (C, H, W) when `channelsFirst`.
    public var observationShape: [Int] {
        let s = inputShape
        return channelsFirst && s.count == 3 ? [s[2], s[0], s[1]] : s
    }

    public var inputSize: Int { inputShape.isEmpty ? layers[0].inputSize : inputShape.reduce(1, *) }
    public var outputSize: Int { layers[layers.count - 1].outputSize }
    public var hiddenSizes: [Int] { layers.dropLast().map(\.outputSize) }
    /// Number of weights and biases.
    public var parameterCount: Int {
        (convolutions.map { $0.weight.count + $0.bias.count } + layers.map { $0.weight.count + $0.bias.count }).reduce(0, +)
    }
    /// Multiply–adds (×2) and bias adds for one observation's forward pass, activations excluded.
    public var flopsPerSample: Int { convolutions.reduce(0) { $0 + $1.flopsPerSample } + layers.reduce(0) { $0 + $1.flopsPerSample } }

    /// What the backward pass needs from the forward pass.
    public struct Cache: Sendable {
        /// Input to each linear layer: `layerInputs[0]` is the batch, `layerInputs[i+1]` hidden layer i's activations.
        public var layerInputs: [Tensor]
        /// The network's output.
        public var output: Tensor
        /// Input to each convolution (images in channels-last layout).
        public var convolutionInputs: [Tensor] = []
        /// Whether the batch came as (N, H, W, C) images: the input gradient is given in that layout.
        public var inputIsChannelsLast = false
        // No pre-activations: ReLU's and tanh's backward passes need only the activation's output
        // (ReLU passes the gradient where the output is positive, which is where its input was),
        // so each activation is applied in place and the batch's activations are stored once.

        /// Activations of hidden layer `index` (0-based), as distillation matches them.
        public func hidden(_ index: Int) -> Tensor { layerInputs[index + 1] }

        public init(layerInputs: [Tensor], output: Tensor, convolutionInputs: [Tensor] = []) {
            self.layerInputs = layerInputs
            self.output = output
            self.convolutionInputs = convolutionInputs
        }

        /// An empty cache for `forward(_:into:)` to fill.
        public init() { self.init(layerInputs: [], output: .empty) }

        /// Lets go of the batch it was given (so the caller's tensor is uniquely held again and can
        /// be refilled in place); the activations stay for reuse.
        public mutating func releaseInput() {
            if !layerInputs.isEmpty { layerInputs[0] = .empty }
            // A channels-last batch is the first convolution's input itself.
            if inputIsChannelsLast && !convolutionInputs.isEmpty { convolutionInputs[0] = .empty }
        }
    }

    /// Gradients in `parameters` order (W0, b0, W1, b1, …), and optionally of the input.
    public struct Gradients: Sendable {
        public var parameters: [Tensor]
        public var input: Tensor?
        /// dL/d(input of dense layer i), kept so that `backward(_:outputGradient:into:)` reuses
        /// their storage.
        var layerInputGradients: [Tensor] = []

        public init(parameters: [Tensor], input: Tensor?) {
            self.parameters = parameters
            self.input = input
        }

        /// Empty gradients for `backward(_:outputGradient:into:)` to fill.
        public init() { self.init(parameters: [], input: nil) }
    }

    /// Output for a batch (batch × inputSize). A large batch goes through in slices of
    /// `rowsPerProduct` rows: rows are independent in every kernel, so the bits are the same, and
    /// each slice's activations stay in L2 where one product over thousands of rows streams them
    /// through DRAM and faults in fresh pages (8,192 rows of 4→256→256→2 on a Zen 3: 48.5 ms in
    /// one product, 14.6 ms in slices of 256).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let rows = x.rank == 2 ? x.shape[0] : 0
        let slice = rowsPerSlice(rows)
        guard slice < rows else { return forward(x).output }
        var out: [Float] = []
        out.reserveCapacity(rows * outputSize)
        for start in stride(from: 0, to: rows, by: slice) {
            out += forward(x.rows(start..<min(start + slice, rows))).output.scalars
        }
        return Tensor(shape: [rows, outputSize], scalars: out)
    }

    /// Rows in each slice `callAsFunction` cuts a batch of `rows` into: `rowsPerProduct` for a
    /// dense network given more than twice that, else the whole batch.
    public func rowsPerSlice(_ rows: Int) -> Int {
        convolutions.isEmpty && rows > 2 * rowsPerProduct ? rowsPerProduct : rows
    }

    /// Rows per product for large inference batches of a dense network: each activation at most
    /// 64K floats (256 KB). (Convolutional networks take the batch whole: not measured.)
    public var rowsPerProduct: Int {
        var widest = inputSize
        for layer in layers { widest = max(widest, layer.outputSize) }
        return max(16, (1 << 16) / max(1, widest))
    }

    /// Forward pass keeping what backward needs.
    public func forward(_ x: Tensor) -> Cache {
        var cache = Cache()
        forward(x, into: &cache)
        return cache
    }

    /// `forward` into an existing cache: a dense network writes each layer's output into the
    /// cache's tensors, reusing their storage (no allocation once warm). The cache holds `x`
    /// until `releaseInput()`.
    ///
    /// `x` is (N, inputSize): observations flattened in their own layout. A convolutional network
    /// also takes (N, H, W, C) images already in the convolutions' layout (`inputShape`), as a
    /// replay buffer gathers them, so a channels-first batch needs no transpose here.
    public func forward(_ x: Tensor, into cache: inout Cache) {
        let images4 = x.rank == 4 && !convolutions.isEmpty && Array(x.shape[1...]) == inputShape
        precondition(images4 || (x.rank == 2 && x.shape[1] == inputSize),
                     "input \(x.shape) does not fit an MLP with \(inputSize) inputs")
        cache.inputIsChannelsLast = images4
        var h = x
        if !convolutions.isEmpty {
            var convInputs: [Tensor] = []
            let n = x.shape[0]
            var images = images4 ? x
                : channelsFirst ? x.reshaped([n] + observationShape).movingChannelAxis(toLast: true) : x.reshaped([n] + inputShape)
            for conv in convolutions {
                convInputs.append(images)
                images = conv.forward(images, relu: activation == .relu)  // the ReLU applied as the kernels store
                if activation != .relu { activation.applyInPlace(&images) }
            }
            h = images.reshaped([n, images.count / max(n, 1)])
            cache.convolutionInputs = convInputs
        } else if !cache.convolutionInputs.isEmpty {
            cache.convolutionInputs = []
        }
        if cache.layerInputs.count != layers.count {
            cache.layerInputs = [Tensor](repeating: .empty, count: layers.count)
        }
        cache.layerInputs[0] = h
        for i in layers.indices {
            let last = i == layers.count - 1
            let relu = !last && activation == .relu  // the ReLU applied as the kernels store
            let input = cache.layerInputs[i]
            if last {
                Tensor.linear(input, layers[i].weight, layers[i].bias, relu: relu, into: &cache.output)
            } else {
                Tensor.linear(input, layers[i].weight, layers[i].bias, relu: relu, into: &cache.layerInputs[i + 1])
                if activation != .relu { activation.applyInPlace(&cache.layerInputs[i + 1]) }
            }
        }
    }

    /// Exact gradients for dL/d(output) = `outputGradient`, plus optional extra gradients on
    /// hidden activations (`hiddenGradients[i]` = dL/d hidden(i)), as feature distillation adds.
    public func backward(_ cache: Cache, outputGradient: Tensor, hiddenGradients: [Int: Tensor] = [:],
                         needInputGradient: Bool = false) -> Gradients {
        var grads = Gradients()
        backward(cache, outputGradient: outputGradient, hiddenGradients: hiddenGradients, needInputGradient: needInputGradient,
                 into: &grads)
        return grads
    }

    /// `backward` into existing gradients: each dense layer's gradients go into the tensors
    /// `grads` already holds, reusing their storage (no allocation once warm for a ReLU network
    /// without extra hidden gradients).
    public func backward(_ cache: Cache, outputGradient: Tensor, hiddenGradients: [Int: Tensor] = [:],
                         needInputGradient: Bool = false, into grads: inout Gradients) {
        let c = convolutions.count
        if grads.parameters.count != 2 * (c + layers.count) {
            grads.parameters = [Tensor](repeating: .empty, count: 2 * (c + layers.count))
        }
        if grads.layerInputGradients.count != layers.count {
            grads.layerInputGradients = [Tensor](repeating: .empty, count: layers.count)
        }
        grads.input = nil  // it may share layerInputGradients[0]'s storage
        var dy = outputGradient
        var dInput: Tensor?
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let needDx = i > 0 || needInputGradient || c > 0
            // A hidden layer's input is a ReLU's output: the layer's backward pass carries the
            // gradient on through that ReLU itself (and skips units off for the whole batch).
            let throughReLU = i > 0 && activation == .relu
            // Moved out of the arrays for the call (one array cannot lend two elements at once).
            var dw = Tensor.empty, db = Tensor.empty, dh = Tensor.empty
            swap(&dw, &grads.parameters[2 * (c + i)])
            swap(&db, &grads.parameters[2 * (c + i) + 1])
            swap(&dh, &grads.layerInputGradients[i])
            Tensor.denseBackward(input: cache.layerInputs[i], outputGradient: dy, weight: layers[i].weight, inputFromReLU: throughReLU,
                                 weightGradient: &dw, biasGradient: &db, needInputGradient: needDx, inputGradient: &dh)
            defer {
                swap(&dw, &grads.parameters[2 * (c + i)])
                swap(&db, &grads.parameters[2 * (c + i) + 1])
                swap(&dh, &grads.layerInputGradients[i])
            }
            guard i > 0 else {
                dInput = needDx ? dh : nil
                break
            }
            if throughReLU {
                // An extra gradient on the activations goes through the ReLU too: (dh + e)·[x > 0] = dh·[x > 0] + e·[x > 0].
                if let extra = hiddenGradients[i - 1] { dh += activation.backward(extra, output: cache.layerInputs[i]) }
                dy = dh
                continue
            }
            if let extra = hiddenGradients[i - 1] { dh += extra }
            dy = activation.backward(dh, output: cache.layerInputs[i])
        }
        guard c > 0, let flat = dInput else {
            grads.input = dInput
            return
        }
        // Back through the convolutions: dInput is dL/d(the last convolution's activated output, flattened).
        var convGrads = [Tensor](repeating: Tensor(shape: [0]), count: 2 * convolutions.count)
        let n = flat.shape[0]
        var d = flat.reshaped([n] + convolutions[convolutions.count - 1].outputShape)
        for j in stride(from: convolutions.count - 1, through: 0, by: -1) {
            let post = j + 1 < convolutions.count ? cache.convolutionInputs[j + 1] : cache.layerInputs[0].reshaped(d.shape)
            let dz = activation.backward(d, output: post)
            let g = Tensor.conv2dBackward(cache.convolutionInputs[j], weight: convolutions[j].weight, outputGradient: dz,
                                          convolutions[j].geometry, needInputGradient: j > 0 || needInputGradient)
            convGrads[2 * j] = g.weight
            convGrads[2 * j + 1] = g.bias
            if let dx = g.input { d = dx }
        }
        if cache.inputIsChannelsLast {
            grads.parameters.replaceSubrange(0..<(2 * c), with: convGrads)
            grads.input = needInputGradient ? d : nil
            return
        }
        let dx = needInputGradient ? (channelsFirst ? d.movingChannelAxis(toLast: false) : d) : nil
        grads.parameters.replaceSubrange(0..<(2 * c), with: convGrads)
        grads.input = dx?.reshaped([n, inputSize])
    }

    /// Calls `body` on each parameter in `parameters` order, in place: no array of them is built
    /// (an optimizer step that allocates nothing).
    public mutating func updateEachParameter(_ body: (_ index: Int, _ parameter: inout Tensor) -> Void) {
        var index = 0
        for i in convolutions.indices {
            body(index, &convolutions[i].weight)
            body(index + 1, &convolutions[i].bias)
            index += 2
        }
        for i in layers.indices {
            body(index, &layers[i].weight)
            body(index + 1, &layers[i].bias)
            index += 2
        }
    }

    /// Lends the parameters to `body` for in-place changes without copying them (they are moved
    /// out of the layers for the call, so each tensor's storage stays uniquely referenced).
    public mutating func withParameters<R>(_ body: (inout [Tensor]) throws -> R) rethrows -> R {
        var params: [Tensor] = []
        params.reserveCapacity(2 * (convolutions.count + layers.count))
        let empty = Tensor(shape: [0])
        for i in convolutions.indices {
            params.append(convolutions[i].weight)
            params.append(convolutions[i].bias)
            convolutions[i].weight = empty
            convolutions[i].bias = empty
        }
        for i in layers.indices {
            params.append(layers[i].weight)
            params.append(layers[i].bias)
            layers[i].weight = empty
            layers[i].bias = empty
        }
        let c = convolutions.count
        defer {
            for i in convolutions.indices {
                convolutions[i].weight = params[2 * i]
                convolutions[i].bias = params[2 * i + 1]
            }
            for i in layers.indices {
                layers[i].weight = params[2 * (c + i)]
                layers[i].bias = params[2 * (c + i) + 1]
            }
        }
        return try body(&params)
    }

    /// The names of `parameters`, in order: `convs.i.weight`, `convs.i.bias`, then
    /// `layers.i.weight`, `layers.i.bias` — the model directory's names, which checkpoints and
    /// optimiser state use too (a checkpoint stores a convolution's weight in the core's layout,
    /// a model directory in PyTorch's (O, C, KH, KW)).
    public var parameterNames: [String] {
        convolutions.indices.flatMap { ["convs.\($0).weight", "convs.\($0).bias"] }
            + layers.indices.flatMap { ["layers.\($0).weight", "layers.\($0).bias"] }
    }

    /// All weights and biases in a fixed order: the convolutions' (W, b each), then W0, b0, W1, b1, …
    public var parameters: [Tensor] {
        get { convolutions.flatMap { [$0.weight, $0.bias] } + layers.flatMap { [$0.weight, $0.bias] } }
        set {
            let c = convolutions.count
            precondition(newValue.count == 2 * (c + layers.count), "expected \(2 * (c + layers.count)) tensors")
            for i in convolutions.indices {
                precondition(newValue[2 * i].shape == convolutions[i].weight.shape && newValue[2 * i + 1].shape == convolutions[i].bias.shape,
                             "parameter shapes do not match convolution \(i)")
                convolutions[i].weight = newValue[2 * i]
                convolutions[i].bias = newValue[2 * i + 1]
            }
            for i in layers.indices {
                precondition(newValue[2 * (c + i)].shape == layers[i].weight.shape && newValue[2 * (c + i) + 1].shape == layers[i].bias.shape,
                             "parameter shapes do not match layer \(i)")
                layers[i].weight = newValue[2 * (c + i)]
                layers[i].bias = newValue[2 * (c + i) + 1]
            }
        }
    }
}
