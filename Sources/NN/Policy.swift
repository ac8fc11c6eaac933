import Tensor

/// A greedy policy over a Q-network: observations in, Q-values or actions out, one observation
/// or a batch. Evaluation, comparison, teachers and acting during training all go through it.
public struct Policy: Sendable, Equatable {
    public let network: MLP

    public init(_ network: MLP) { self.network = network }

    public var observationSize: Int { network.inputSize }
    public var actionCount: Int { network.outputSize }

    /// Q-values of a batch (rows × actions).
    public func qValues(_ observations: Tensor) -> Tensor { network(observations) }

    /// Q-values of one flat observation.
    public func qValues(_ observation: [Float]) -> [Float] {
        network(Tensor(shape: [1, observation.count], scalars: observation)).scalars
    }

    /// The greedy action for one flat observation (the first of equal maxima).
    public func action(_ observation: [Float]) -> Int {
        network(Tensor(shape: [1, observation.count], scalars: observation)).argmaxRows()[0]
    }

    /// Greedy actions for a batch.
    public func actions(_ observations: Tensor) -> [Int] { network(observations).argmaxRows() }
}
