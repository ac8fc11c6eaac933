import Environments
import NN
import Tensor

/// States visited by `policy` acting ε-greedily from episodes seeded `seed`, `seed + 1`, …
public func collectStates(_ env: any Environment, count: Int, seed: Int, epsilon: Float,
                          policy: ([Float]) -> Int) throws -> Tensor {
    try collectStates(env, count: count, seed: seed) { obs, rng in
        try env.step(rng.nextUnitFloat() < epsilon ? rng.int(below: env.spec.actionCount) : policy(obs))
    }
}

/// As above for a continuous policy: with probability ε an action uniform within the bounds.
public func collectStates(_ env: any Environment, count: Int, seed: Int, epsilon: Float,
                          continuousPolicy policy: ([Float]) -> [Float]) throws -> Tensor {
    let bounds = env.spec.actionBounds ?? []
    return try collectStates(env, count: count, seed: seed) { obs, rng in
        try env.step(continuous: rng.nextUnitFloat() < epsilon
            ? bounds.map { $0.lowerBound + rng.nextUnitFloat() * ($0.upperBound - $0.lowerBound) } : policy(obs))
    }
}

/// As above for either kind of policy.
public func collectStates(_ env: any Environment, count: Int, seed: Int, epsilon: Float, acting: Acting) throws -> Tensor {
    switch acting {
    case .discrete(let act): return try collectStates(env, count: count, seed: seed, epsilon: epsilon, policy: act)
    case .continuous(let act): return try collectStates(env, count: count, seed: seed, epsilon: epsilon, continuousPolicy: act)
    }
}

/// The loop: `stepping` acts on an observation (drawing from the generator) and steps `env`.
private func collectStates(_ env: any Environment, count: Int, seed: Int,
                           stepping: ([Float], inout SeededGenerator) throws -> Step) throws -> Tensor {
    try MemoryCheck.require(MemoryCheck.bytes([count, env.spec.observationSize, 4]), for: "the held-out states",
                            key: "held_out", value: count)
    var rng = SeededGenerator(seed: UInt64(seed))
    var rows: [Float] = []
    var episode = 0
    var obs = try env.reset(seed: seed)
    for _ in 0..<count {
        rows += obs
        let s = try stepping(obs, &rng)
        if s.isDone {
            episode += 1
            obs = try env.reset(seed: seed + episode)
        } else {
            obs = s.observation
        }
    }
    return Tensor(shape: [count, env.spec.observationSize], scalars: rows)
}

/// Per column of `x` (rows × values), the population standard deviation over the rows: the
/// spread observation noise is measured in (`distill robustness`, robust distillation).
public func columnSpread(_ x: Tensor) -> [Float] {
    let (rows, columns) = (x.rowCount, x.columnCount)
    guard rows > 0 else { return [Float](repeating: 0, count: columns) }
    var sum = [Double](repeating: 0, count: columns), squares = sum
    x.scalars.withUnsafeBufferPointer { v in
        for r in 0..<rows {
            for c in 0..<columns {
                let value = Double(v[r * columns + c])
                sum[c] += value
                squares[c] += value * value
            }
        }
    }
    return (0..<columns).map { c in
        let mean = sum[c] / Double(rows)
        return Float(max(0, squares[c] / Double(rows) - mean * mean).squareRoot())
    }
}
