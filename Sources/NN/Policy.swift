import Tensor

/// A greedy policy over a Q-network: observations in, Q-values or actions out, one observation
/// or a batch. Evaluation, comparison, teachers and acting during training all go through it.
public struct Policy: Sendable, Equatable {
    public let network: MLP
    /// The layers as the single-observation kernel reads them.
    private let layers: [(weight: Tensor, bias: Tensor)]
    private let activationCode: Int32

    public init(_ network: MLP) {
        self.network = network
        layers = network.layers.map { ($0.weight, $0.bias) }
        activationCode = network.activation == .relu ? 1 : 2
    }

    public static func == (a: Policy, b: Policy) -> Bool { a.network == b.network }

    public var observationSize: Int { network.inputSize }
    public var actionCount: Int { network.outputSize }

    /// Q-values of a batch (rows × actions).
    public func qValues(_ observations: Tensor) -> Tensor { network(observations) }

    /// Q-values of one flat observation, through the single-observation kernel (no batch
    /// tensors: for a small student, per-call overhead rather than arithmetic is the cost).
    /// Equal to the batched `qValues`, bit for bit but for the sign of a zero (the kernel keeps
    /// the batched pass's summation order).
    public func qValues(_ observation: [Float]) -> [Float] {
        precondition(observation.count == network.inputSize, "observation size \(observation.count), network takes \(network.inputSize)")
        guard network.convolutions.isEmpty else { return network(Tensor(shape: [1, observation.count], scalars: observation)).scalars }
        return Kernels.denseChain(observation, layers: layers, activation: activationCode) { Array($0) }
    }

    /// The greedy action for one flat observation (the first of equal maxima, as argmax).
    public func action(_ observation: [Float]) -> Int {
        precondition(observation.count == network.inputSize, "observation size \(observation.count), network takes \(network.inputSize)")
        guard network.convolutions.isEmpty else {
            let q = qValues(observation)
            return q.indices.reduce(0) { q[$1] > q[$0] ? $1 : $0 }  // the first of equal maxima
        }
        return Kernels.denseChain(observation, layers: layers, activation: activationCode, Kernels.argmax)
    }

    /// A continuous head's action for one flat observation: its outputs clipped (Gaussian) or
    /// squashed (tanh) into the action bounds.
    public func continuousAction(_ observation: [Float]) -> [Float] {
        precondition(network.head.isContinuous, "continuousAction needs a continuous head, not \(network.head.rawValue)")
        return network.head.action(qValues(observation), low: network.actionLow, high: network.actionHigh)
    }

    /// Greedy actions for a batch.
    public func actions(_ observations: Tensor) -> [Int] { network(observations).argmaxRows() }
}
