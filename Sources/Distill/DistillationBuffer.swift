import DQN
import NN
import Tensor

/// Collected states with their teacher labels (Q-values, computed once per state: the label
/// budget) and, for the task loss, the transition that followed. Ring storage, no allocation
/// per state.
public struct DistillationBuffer: Sendable {
    public private(set) var transitions: ReplayBuffer
    private var teacherQ: [Float]
    public let actionCount: Int

    public init(capacity: Int, observationSize: Int, actionCount: Int) {
        transitions = ReplayBuffer(capacity: capacity, observationSize: observationSize)
        teacherQ = [Float](repeating: 0, count: capacity * actionCount)
        self.actionCount = actionCount
    }

    public var count: Int { transitions.count }

    public mutating func add(_ t: Transition, teacherQValues q: [Float]) {
        let slot = transitions.add(t)
        for a in 0..<actionCount { teacherQ[slot * actionCount + a] = q[a] }
    }

    /// A batch of transitions and their stored teacher Q-values.
    public func batch(_ indices: [Int]) -> (TransitionBatch, Tensor) {
        let q = Tensor(shape: [indices.count, actionCount],
                       scalars: indices.flatMap { i in (0..<actionCount).map { teacherQ[i * actionCount + $0] } })
        return (transitions.batch(indices), q)
    }
}
