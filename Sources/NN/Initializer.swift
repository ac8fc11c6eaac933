import Tensor

/// How a linear layer's weights and biases start.
public enum WeightInitializer: String, Sendable, Codable, CaseIterable {
    /// PyTorch's `nn.Linear` default: W and b ~ U(−1/√fan_in, 1/√fan_in).
    case pytorch
    /// He (Kaiming) uniform for ReLU: W ~ U(−√(6/fan_in), √(6/fan_in)), b = 0.
    case he
    /// Glorot (Xavier) uniform: W ~ U(−√(6/(fan_in+fan_out)), …), b = 0.
    case glorot

    /// (weight bound, bias bound) for a layer of the given fan-in and fan-out.
    func bounds(fanIn: Int, fanOut: Int) -> (Float, Float) {
        switch self {
        case .pytorch:
            let b = 1 / Float(fanIn).squareRoot()
            return (b, b)
        case .he: return ((6 / Float(fanIn)).squareRoot(), 0)
        case .glorot: return ((6 / Float(fanIn + fanOut)).squareRoot(), 0)
        }
    }
}
