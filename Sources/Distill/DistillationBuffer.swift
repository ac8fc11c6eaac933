import DQN
import NN
import Tensor

/// Collected states with their teacher labels (Q-values, computed once per state: the label
/// budget), optionally the teacher's hidden activations for the intermediate-layer losses (so a
/// gradient step need not run the teacher again), and, for the task loss, the transition that
/// followed. Ring storage; the hidden rows grow with the states actually collected.
public struct DistillationBuffer: Sendable {
    public private(set) var transitions: ReplayBuffer
    private var teacherQ: [Float]
    private var teacherHidden: [Float] = []
    public let actionCount: Int
    /// Floats of teacher hidden activations kept per state (0: none kept).
    public let hiddenWidth: Int

    /// `byteScale` and `frames` as for `ReplayBuffer` (one byte per value for bool and uint8
    /// observations; frame stacks shared frame by frame).
    public init(capacity: Int, observationSize: Int, actionCount: Int, hiddenWidth: Int = 0, byteScale: Float? = nil,
                frames: Int = 1, lookahead: Int = 1) {
        transitions = ReplayBuffer(capacity: capacity, observationSize: observationSize, byteScale: byteScale, frames: frames,
                                   lookahead: lookahead)
        teacherQ = [Float](repeating: 0, count: capacity * actionCount)
        self.actionCount = actionCount
        self.hiddenWidth = hiddenWidth
    }

    public var count: Int { transitions.count }

    /// Adds a state's transition and its label: the Q-values, then `hiddenWidth` hidden activations.
    public mutating func add(_ t: Transition, label: [Float]) {
        let slot = transitions.add(t)
        for a in 0..<actionCount { teacherQ[slot * actionCount + a] = label[a] }
        guard hiddenWidth > 0 else { return }
        let base = slot * hiddenWidth
        if base == teacherHidden.count {
            teacherHidden.append(contentsOf: label[actionCount..<(actionCount + hiddenWidth)])
        } else {
            for c in 0..<hiddenWidth { teacherHidden[base + c] = label[actionCount + c] }
        }
    }

    /// A batch of transitions, their stored teacher Q-values and (when kept) hidden activations.
    public func batch(_ indices: [Int]) -> (TransitionBatch, Tensor, Tensor?) {
        let q = Tensor(shape: [indices.count, actionCount],
                       scalars: indices.flatMap { i in (0..<actionCount).map { teacherQ[i * actionCount + $0] } })
        var hidden: Tensor?
        if hiddenWidth > 0 {
            var rows = [Float]()
            rows.reserveCapacity(indices.count * hiddenWidth)
            for i in indices { rows.append(contentsOf: teacherHidden[(i * hiddenWidth)..<((i + 1) * hiddenWidth)]) }
            hidden = Tensor(shape: [indices.count, hiddenWidth], scalars: rows)
        }
        return (transitions.batch(indices), q, hidden)
    }
}
