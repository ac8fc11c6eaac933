import NN
import Tensor

/// One stored transition, possibly an n-step one: `reward` is the discounted sum of the n
/// rewards and `discount` is γ^k for the k steps it spans (so the target is
/// reward + discount · max Q(next) unless `terminated`).
public struct Transition: Sendable, Equatable {
    public var observation: [Float]
    public var action: Int
    public var reward: Float
    public var nextObservation: [Float]
    public var terminated: Bool
    public var discount: Float

    public init(observation: [Float], action: Int, reward: Float, nextObservation: [Float], terminated: Bool, discount: Float) {
        self.observation = observation
        self.action = action
        self.reward = reward
        self.nextObservation = nextObservation
        self.terminated = terminated
        self.discount = discount
    }
}

/// A sampled minibatch, laid out for the network.
public struct TransitionBatch: Sendable {
    public var observations: Tensor        // batch × obs
    public var actions: [Int]
    public var rewards: Tensor             // batch
    public var nextObservations: Tensor    // batch × obs
    /// 0 where the transition terminated (no bootstrap), else its discount γ^k.
    public var bootstrapDiscounts: Tensor  // batch
    /// Importance-sampling weights (all 1 for uniform sampling).
    public var weights: Tensor             // batch
    /// Buffer slots, for priority updates.
    public var indices: [Int]
}

/// Fixed-capacity replay memory in contiguous ring storage: adding a transition copies it into
/// preallocated arrays (no allocation per transition); the oldest is overwritten when full.
///
/// Each observation is stored once. A transition's next observation is almost always the
/// observation of a transition added a few slots later (the next one, or n later with n-step
/// returns), so it is kept as that slot offset, found by comparing the stored values bit for bit
/// when the later transition arrives (SB3's `optimize_memory_usage`, but exact: a match is the
/// same bits, so batches are identical to storing both). Next observations no later transition
/// starts from — the last state of an episode — are kept apart, one row per such transition.
public struct ReplayBuffer: Sendable {
    public let capacity: Int
    public let observationSize: Int
    public private(set) var count = 0
    /// Slot the next transition goes to.
    public private(set) var position = 0

    private var floatRows: ObservationStore<Float>?
    /// One byte per observation value instead (bool grids, uint8 images): the value over `byteScale`.
    private var byteRows: ObservationStore<UInt8>?
    /// The scale the environment applied to byte-valued observations; nil for float storage.
    public let byteScale: Float?
    private var actions: [Int32]
    private var rewards: [Float]
    private var bootstrap: [Float]

    /// Float storage, or with `byteScale` one byte per observation value (for observations that
    /// are integers 0–255 times that scale: bool grids, uint8 images), a quarter of the memory
    /// and the same values back. `lookahead` is how many slots later a next observation may
    /// reappear as an observation (n for n-step transitions).
    public init(capacity: Int, observationSize: Int, byteScale: Float? = nil, lookahead: Int = 1) {
        precondition(capacity >= 1 && observationSize >= 1, "a replay buffer needs capacity and observation size")
        self.capacity = capacity
        self.observationSize = observationSize
        self.byteScale = byteScale
        if let byteScale {
            byteRows = ObservationStore(capacity: capacity, width: observationSize, lookahead: lookahead, scale: byteScale)
        } else {
            floatRows = ObservationStore(capacity: capacity, width: observationSize, lookahead: lookahead, scale: 1)
        }
        actions = [Int32](repeating: 0, count: capacity)
        rewards = [Float](repeating: 0, count: capacity)
        bootstrap = rewards
    }

    /// Bytes of observation storage per transition: one observation (next observations are
    /// shared with the transitions that start from them, except at episode ends).
    public static func observationBytes(observationSize: Int, bytesPerValue: Int) -> Int { observationSize * bytesPerValue }

    /// Next observations kept as rows of their own (episode ends; for tests and memory figures).
    public var separateNextObservations: Int { floatRows?.apartCount ?? byteRows?.apartCount ?? 0 }

    /// Stores a transition and returns the slot it went to.
    @discardableResult
    public mutating func add(_ t: Transition) -> Int {
        precondition(t.observation.count == observationSize && t.nextObservation.count == observationSize,
                     "transition observations must have \(observationSize) values")
        let slot = position
        floatRows?.add(t.observation, next: t.nextObservation, slot: slot)
        byteRows?.add(t.observation, next: t.nextObservation, slot: slot)
        actions[slot] = Int32(t.action)
        rewards[slot] = t.reward
        bootstrap[slot] = t.terminated ? 0 : t.discount
        position = (position + 1) % capacity
        count = min(count + 1, capacity)
        return slot
    }

    /// `batchSize` slots drawn uniformly with replacement.
    public func sampleIndices(_ batchSize: Int, rng: inout SeededGenerator) -> [Int] {
        precondition(count > 0, "cannot sample from an empty replay buffer")
        return (0..<batchSize).map { _ in rng.int(below: count) }
    }

    /// The transitions in `indices`, gathered into a batch.
    public func batch(_ indices: [Int], weights: [Float]? = nil) -> TransitionBatch {
        let n = indices.count, d = observationSize
        var obs = [Float](repeating: 0, count: n * d), next = obs
        floatRows?.gather(indices, observations: &obs, next: &next)
        byteRows?.gather(indices, observations: &obs, next: &next)
        return TransitionBatch(
            observations: Tensor(shape: [n, d], scalars: obs),
            actions: indices.map { Int(actions[$0]) },
            rewards: Tensor(shape: [n], scalars: indices.map { rewards[$0] }),
            nextObservations: Tensor(shape: [n, d], scalars: next),
            bootstrapDiscounts: Tensor(shape: [n], scalars: indices.map { bootstrap[$0] }),
            weights: Tensor(shape: [n], scalars: weights ?? [Float](repeating: 1, count: n)),
            indices: indices)
    }

    /// The transition in `slot` (for tests and inspection).
    public func transition(at slot: Int) -> Transition {
        let b = batch([slot])
        return Transition(observation: b.observations.scalars, action: Int(actions[slot]), reward: rewards[slot],
                          nextObservation: b.nextObservations.scalars, terminated: bootstrap[slot] == 0, discount: bootstrap[slot])
    }
}

/// How observation values are kept: as they are (Float), or as bytes (0–255 over a scale).
protocol StoredScalar: Sendable {
    static var zero: Self { get }
    init(storing value: Float, scale: Float)
    func value(scale: Float) -> Float
    /// Bitwise equality (so a match gives back exactly the bits stored).
    func isSame(as other: Self) -> Bool
}

extension Float: StoredScalar {
    init(storing value: Float, scale: Float) { self = value }
    func value(scale: Float) -> Float { self }
    func isSame(as other: Float) -> Bool { bitPattern == other.bitPattern }
}

extension UInt8: StoredScalar {
    init(storing value: Float, scale: Float) { self = UInt8(clamping: Int((value / scale).rounded())) }
    func value(scale: Float) -> Float { Float(self) * scale }
    func isSame(as other: UInt8) -> Bool { self == other }
}

/// The observation rows behind a `ReplayBuffer` (see its doc comment for the sharing).
struct ObservationStore<Scalar: StoredScalar>: Sendable {
    let capacity: Int, width: Int, lookahead: Int, scale: Float
    /// capacity × width: each slot's observation.
    private var rows: [Scalar]
    /// Per slot: its next observation is the row `offset` slots later (0: its own), or −1: kept apart.
    private var nextOffset: [Int32]
    /// Next observations that no later row matched, by slot.
    private var apart: [Int: [Scalar]] = [:]
    /// Next observations still waiting for a match: their slot, add number and row in `waitingRows`.
    private var waiting: [(slot: Int, added: Int, row: Int)] = []
    private var waitingRows: [Scalar]
    private var added = 0
    /// The encoded next observation of the transition being added.
    private var scratch: [Scalar]

    init(capacity: Int, width: Int, lookahead: Int, scale: Float) {
        self.capacity = capacity
        self.width = width
        self.lookahead = max(1, lookahead)
        self.scale = scale
        rows = [Scalar](repeating: .zero, count: capacity * width)
        nextOffset = [Int32](repeating: 0, count: capacity)
        waitingRows = [Scalar](repeating: .zero, count: self.lookahead * width)
        scratch = [Scalar](repeating: .zero, count: width)
        waiting.reserveCapacity(self.lookahead + 1)
    }

    var apartCount: Int { apart.count }

    mutating func add(_ observation: [Float], next: [Float], slot: Int) {
        let number = added
        added += 1
        // The transition in `slot` is being replaced: forget its next observation.
        apart[slot] = nil
        waiting.removeAll { $0.slot == slot }
        let base = slot * width
        for i in 0..<width { rows[base + i] = Scalar(storing: observation[i], scale: scale) }
        // Earlier next observations that this observation is: share the row.
        var i = 0
        while i < waiting.count {
            let w = waiting[i]
            let distance = number - w.added
            if sameRow(waitingAt: w.row, rowAt: base) {
                nextOffset[w.slot] = Int32(distance)
                waiting.remove(at: i)
            } else if distance >= lookahead {
                apart[w.slot] = Array(waitingRows[(w.row * width)..<((w.row + 1) * width)])
                waiting.remove(at: i)
            } else {
                i += 1
            }
        }
        for j in 0..<width { scratch[j] = Scalar(storing: next[j], scale: scale) }
        if (0..<width).allSatisfy({ scratch[$0].isSame(as: rows[base + $0]) }) {
            nextOffset[slot] = 0  // a state that is its own successor (offline distillation rows)
            return
        }
        nextOffset[slot] = -1
        let row = number % lookahead
        for j in 0..<width { waitingRows[row * width + j] = scratch[j] }
        if capacity > 1 { waiting.append((slot, number, row)) } else { apart[slot] = scratch }
    }

    private func sameRow(waitingAt row: Int, rowAt base: Int) -> Bool {
        let w = row * width
        for j in 0..<width where !waitingRows[w + j].isSame(as: rows[base + j]) { return false }
        return true
    }

    /// Decodes the observations and next observations of `indices` into the batch arrays.
    func gather(_ indices: [Int], observations: inout [Float], next: inout [Float]) {
        let d = width
        for (r, slot) in indices.enumerated() {
            let out = r * d
            for j in 0..<d { observations[out + j] = rows[slot * d + j].value(scale: scale) }
            let offset = Int(nextOffset[slot])
            if offset >= 0 {
                let source = ((slot + offset) % capacity) * d
                for j in 0..<d { next[out + j] = rows[source + j].value(scale: scale) }
            } else if let kept = apart[slot] {
                for j in 0..<d { next[out + j] = kept[j].value(scale: scale) }
            } else if let w = waiting.first(where: { $0.slot == slot }) {
                for j in 0..<d { next[out + j] = waitingRows[w.row * d + j].value(scale: scale) }
            }
        }
    }
}
