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
public struct ReplayBuffer: Sendable {
    public let capacity: Int
    public let observationSize: Int
    public private(set) var count = 0
    /// Slot the next transition goes to.
    public private(set) var position = 0

    private var observations: [Float] = []
    private var nextObservations: [Float] = []
    /// One byte per observation value instead (bool grids, uint8 images): the value over `byteScale`.
    private var observationBytes: [UInt8] = []
    private var nextObservationBytes: [UInt8] = []
    /// The scale the environment applied to byte-valued observations; nil for float storage.
    public let byteScale: Float?
    private var actions: [Int32]
    private var rewards: [Float]
    private var bootstrap: [Float]

    /// Float storage, or with `byteScale` one byte per observation value (for observations that
    /// are integers 0–255 times that scale: bool grids, uint8 images), a quarter of the memory
    /// and the same values back.
    public init(capacity: Int, observationSize: Int, byteScale: Float? = nil) {
        precondition(capacity >= 1 && observationSize >= 1, "a replay buffer needs capacity and observation size")
        self.capacity = capacity
        self.observationSize = observationSize
        self.byteScale = byteScale
        if byteScale == nil {
            observations = [Float](repeating: 0, count: capacity * observationSize)
            nextObservations = observations
        } else {
            observationBytes = [UInt8](repeating: 0, count: capacity * observationSize)
            nextObservationBytes = observationBytes
        }
        actions = [Int32](repeating: 0, count: capacity)
        rewards = [Float](repeating: 0, count: capacity)
        bootstrap = rewards
    }

    /// Bytes of observation storage per transition (both observations).
    public static func observationBytes(observationSize: Int, bytesPerValue: Int) -> Int { 2 * observationSize * bytesPerValue }

    @inline(__always) private func byte(_ v: Float, _ scale: Float) -> UInt8 {
        UInt8(clamping: Int((v / scale).rounded()))
    }

    /// Stores a transition and returns the slot it went to.
    @discardableResult
    public mutating func add(_ t: Transition) -> Int {
        precondition(t.observation.count == observationSize && t.nextObservation.count == observationSize,
                     "transition observations must have \(observationSize) values")
        let slot = position
        let base = slot * observationSize
        if let scale = byteScale {
            for i in 0..<observationSize {
                observationBytes[base + i] = byte(t.observation[i], scale)
                nextObservationBytes[base + i] = byte(t.nextObservation[i], scale)
            }
        } else {
            for i in 0..<observationSize {
                observations[base + i] = t.observation[i]
                nextObservations[base + i] = t.nextObservation[i]
            }
        }
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
        if let scale = byteScale {
            for (row, slot) in indices.enumerated() {
                for i in 0..<d {
                    obs[row * d + i] = Float(observationBytes[slot * d + i]) * scale
                    next[row * d + i] = Float(nextObservationBytes[slot * d + i]) * scale
                }
            }
        } else {
            for (row, slot) in indices.enumerated() {
                for i in 0..<d {
                    obs[row * d + i] = observations[slot * d + i]
                    next[row * d + i] = nextObservations[slot * d + i]
                }
            }
        }
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
