import Tensor

/// The non-linearity between hidden layers.
public enum Activation: String, Sendable, Codable, CaseIterable {
    case relu, tanh

    /// f(x).
    public func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: return x.relu()
        case .tanh: return x.tanh()
        }
    }

    /// dL/dx from dL/dy, given the forward input x and output y.
    public func backward(_ gradient: Tensor, input: Tensor, output: Tensor) -> Tensor {
        switch self {
        case .relu: return Tensor.reluBackward(gradient, input: input)
        case .tanh: return Tensor.tanhBackward(gradient, output: output)
        }
    }
}
