import Tensor

/// A fully connected layer y = x·W + b, with W stored as (inputs × outputs) so the forward
/// pass is a plain row-major matrix product (and `x @ W + b` in NumPy).
public struct Linear: Equatable, Sendable {
    public var weight: Tensor
    public var bias: Tensor

    public var inputSize: Int { weight.shape[0] }
    public var outputSize: Int { weight.shape[1] }

    public init(weight: Tensor, bias: Tensor) {
        precondition(weight.rank == 2 && bias.shape == [weight.shape[1]], "weight \(weight.shape) and bias \(bias.shape) do not fit")
        self.weight = weight
        self.bias = bias
    }

    /// A layer initialised with `initializer`, drawing from `rng`.
    public init(inputs: Int, outputs: Int, initializer: WeightInitializer = .pytorch, rng: inout SeededGenerator) {
        let (wb, bb) = initializer.bounds(fanIn: inputs, fanOut: outputs)
        weight = Tensor(shape: [inputs, outputs], scalars: (0..<(inputs * outputs)).map { _ in rng.uniform(-wb, wb) })
        bias = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in bb == 0 ? 0 : rng.uniform(-bb, bb) })
    }

    /// x·W + b for a batch x (batch × inputs); with `relu`, max(x·W + b, 0) in the same pass.
    public func forward(_ x: Tensor, relu: Bool = false) -> Tensor {
        Tensor.linear(x, weight, bias, relu: relu)
    }

    /// Gradients of W, b and x given the forward input and dL/dy. With `inputFromReLU` (the input
    /// is a ReLU's output), the input gradient is carried on through that ReLU: it is the gradient
    /// of the ReLU's input (0 where x is 0), and units off for the whole batch are not computed.
    public func backward(input x: Tensor, outputGradient dy: Tensor, needInputGradient: Bool = true,
                         inputFromReLU: Bool = false) -> (weight: Tensor, bias: Tensor, input: Tensor?)
    {
        Tensor.denseBackward(input: x, outputGradient: dy, weight: weight, needInputGradient: needInputGradient,
                             inputFromReLU: inputFromReLU)
    }

    /// Multiply–adds in one forward pass of a single observation.
    public var flopsPerSample: Int { 2 * inputSize * outputSize + outputSize }
}
