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

    /// f(x) in place of x (no second buffer for the activations).
    public func applyInPlace(_ x: inout Tensor) {
        switch self {
        case .relu: x.applyReLU()
        case .tanh: x = x.tanh()
        }
    }

    /// dL/dx from dL/dy, given the forward output y = f(x): ReLU passes the gradient where y > 0
    /// (exactly where x > 0), tanh scales it by 1 − y².
    public func backward(_ gradient: Tensor, output: Tensor) -> Tensor {
        switch self {
        case .relu: return Tensor.reluBackward(gradient, input: output)
        case .tanh: return Tensor.tanhBackward(gradient, output: output)
        }
    }
}
