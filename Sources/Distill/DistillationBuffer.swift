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
        var out = LabelledBatch()
        gather(indices, transitions: true, into: &out)
        return (out.transitions, out.teacherQ, hiddenWidth > 0 ? out.teacherHidden : nil)
    }

    /// Draws `batchSize` stored states uniformly (the draws of `transitions.sampleIndices`) and
    /// gathers them into `out`, reusing its storage. Only with `transitions` (the task loss) is
    /// the whole transition gathered; otherwise `out.transitions` holds the observations alone,
    /// which is all the other losses read (each other field is a random read per row).
    public func sample(_ batchSize: Int, rng: inout SeededGenerator, transitions: Bool, into out: inout LabelledBatch) {
        self.transitions.sampleIndices(batchSize, rng: &rng, into: &out.indices)
        gather(out.indices, transitions: transitions, into: &out)
    }

    private func gather(_ indices: [Int], transitions whole: Bool, into out: inout LabelledBatch) {
        if whole {
            transitions.batch(indices, into: &out.transitions)
        } else {
            transitions.observations(indices, into: &out.transitions.observations, ids: &out.frameIDs)
            out.transitions.keepObservationsOnly()
        }
        out.teacherQ.prepare(rows: indices.count, columns: actionCount)
        out.teacherQ.setRows(from: teacherQ, width: actionCount, at: indices)
        if hiddenWidth > 0 {
            out.teacherHidden.prepare(rows: indices.count, columns: hiddenWidth)
            out.teacherHidden.setRows(from: teacherHidden, width: hiddenWidth, at: indices)
        }
    }
}

/// One labelled minibatch: the transitions (or their observations alone), the
/// teacher's stored Q-values and, when the losses keep them, its hidden activations. Kept by
/// the learner's loop between gradient steps so that sampling reuses its storage.
public struct LabelledBatch: Sendable {
    public var transitions = TransitionBatch()
    public var teacherQ = Tensor.empty
    /// Empty when the buffer keeps no hidden activations.
    public var teacherHidden = Tensor.empty
    var indices: [Int] = []
    var frameIDs: [Int32] = []

    public init() {}
}
