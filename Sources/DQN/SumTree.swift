import Foundation
import NN

/// A binary sum tree over `capacity` non-negative priorities: O(log n) update and
/// prefix-sum search, for proportional prioritized replay (Schaul et al., 2016).
public struct SumTree: Sendable {
    public let capacity: Int
    private var nodes: [Double]  // 1-based heap layout; leaves start at `leafStart`
    private let leafStart: Int

    public init(capacity: Int) {
        precondition(capacity >= 1, "a sum tree needs capacity")
        self.capacity = capacity
        var size = 1
        while size < capacity { size *= 2 }
        leafStart = size
        nodes = [Double](repeating: 0, count: 2 * size)
    }

    /// Sum of all priorities.
    public var total: Double { nodes[1] }

    public subscript(index: Int) -> Double { nodes[leafStart + index] }

    /// Sets the priority of `index`.
    public mutating func update(_ index: Int, priority: Double) {
        precondition(index >= 0 && index < capacity && priority >= 0, "bad sum-tree update")
        var node = leafStart + index
        nodes[node] = priority
        node /= 2
        while node >= 1 {
            nodes[node] = nodes[2 * node] + nodes[2 * node + 1]
            node /= 2
        }
    }

    /// The index whose cumulative-priority interval contains `mass` (0 ≤ mass < total).
    public func find(_ mass: Double) -> Int {
        var node = 1, remaining = mass
        while node < leafStart {
            if remaining < nodes[2 * node] || nodes[2 * node + 1] == 0 {
                node = 2 * node
            } else {
                remaining -= nodes[2 * node]
                node = 2 * node + 1
            }
        }
        return min(node - leafStart, capacity - 1)
    }
}

/// Proportional prioritized sampling on top of a `ReplayBuffer`'s slots.
public struct PrioritizedSampler: Sendable {
    public var tree: SumTree
    public let alpha: Float
    public let epsilon: Float
    /// The largest priority so far: what new transitions get.
    public internal(set) var largestPriority: Double = 1

    public init(capacity: Int, alpha: Float, epsilon: Float) {
        tree = SumTree(capacity: capacity)
        self.alpha = alpha
        self.epsilon = epsilon
    }

    /// New transitions get the largest priority seen, so each is replayed at least once soon.
    public mutating func added(slot: Int) { tree.update(slot, priority: largestPriority) }

    /// Stratified proportional sample of `batchSize` slots among the first `count`, with
    /// importance weights (N·P(i))^−β normalised by their maximum.
    public func sample(_ batchSize: Int, count: Int, beta: Float, rng: inout SeededGenerator) -> (indices: [Int], weights: [Float]) {
        var indices: [Int] = [], weights: [Float] = [], scratch: [Double] = []
        sample(batchSize, count: count, beta: beta, rng: &rng, indices: &indices, weights: &weights, scratch: &scratch)
        return (indices, weights)
    }

    /// `sample` into `indices` and `weights`, with `scratch` for the unnormalised weights
    /// (storage of all three reused: no allocation once warm).
    public func sample(_ batchSize: Int, count: Int, beta: Float, rng: inout SeededGenerator,
                       indices: inout [Int], weights: inout [Float], scratch raw: inout [Double]) {
        let total = tree.total
        let segment = total / Double(batchSize)
        indices.removeAll(keepingCapacity: true)
        raw.removeAll(keepingCapacity: true)
        for i in 0..<batchSize {
            let mass = min((Double(i) + Double(rng.nextUnitFloat())) * segment, total.nextDown)
            var index = tree.find(mass)
            if index >= count { index = count - 1 }
            indices.append(index)
            let probability = max(tree[index], 1e-12) / total
            raw.append(Foundation_pow(Double(count) * probability, -Double(beta)))
        }
        let maxWeight = raw.max() ?? 1
        weights.removeAll(keepingCapacity: true)
        for r in raw { weights.append(Float(r / maxWeight)) }
    }

    /// Sets priorities from new TD errors: (|δ| + ε)^α.
    public mutating func update(indices: [Int], tdErrors: [Float]) {
        for (i, e) in zip(indices, tdErrors) {
            let p = Foundation_pow(Double(abs(e) + epsilon), Double(alpha))
            largestPriority = max(largestPriority, p)
            tree.update(i, priority: p)
        }
    }
}

@inline(__always) func Foundation_pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
