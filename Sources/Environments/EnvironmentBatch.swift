/// N copies of an environment stepped together, with contiguous N × obsSize observations.
///
/// Episodes reset automatically in the same step that ends them (the returned observation is
/// the new episode's first; the last one of the finished episode is in `finalObservations`,
/// which truncation bootstrapping needs).
public final class EnvironmentBatch {
    public let environments: [any Environment]
    public let spec: EnvironmentSpec

    /// Results of one batched step.
    public struct Result: Sendable {
        /// Row-major N × observationSize.
        public var observations: [Float]
        public var rewards: [Double]
        public var terminated: [Bool]
        public var truncated: [Bool]
        /// For each environment whose episode ended this step: its last observation.
        public var finalObservations: [Int: [Float]]
    }

    /// Opens `count` copies with `make(index)`; all must share one spec.
    public init(count: Int, make: (Int) throws -> any Environment) throws {
        precondition(count >= 1, "a batch needs at least one environment")
        let envs = try (0..<count).map(make)
        self.environments = envs
        self.spec = envs[0].spec
        for env in envs where env.spec.observationShape != spec.observationShape || env.spec.actionCount != spec.actionCount {
            throw EnvironmentError.badResult(spec.name, detail: "batch copies disagree on their spaces (\(env.spec) vs \(spec))")
        }
    }

    /// Resets every copy; copy i gets seed `seed + i` (or no seed).
    public func reset(seed: Int?) throws -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(environments.count * spec.observationSize)
        for (i, env) in environments.enumerated() {
            out += try env.reset(seed: seed.map { $0 + i })
        }
        return out
    }

    /// Steps copy i with `actions[i]`.
    public func step(_ actions: [Int]) throws -> Result {
        precondition(actions.count == environments.count, "one action per environment")
        let n = environments.count
        var result = Result(observations: [], rewards: [Double](repeating: 0, count: n),
                            terminated: [Bool](repeating: false, count: n),
                            truncated: [Bool](repeating: false, count: n), finalObservations: [:])
        result.observations.reserveCapacity(n * spec.observationSize)
        for (i, env) in environments.enumerated() {
            let s = try env.step(actions[i])
            result.rewards[i] = s.reward
            result.terminated[i] = s.terminated
            result.truncated[i] = s.truncated
            if s.isDone {
                result.finalObservations[i] = s.observation
                result.observations += try env.reset(seed: nil)
            } else {
                result.observations += s.observation
            }
        }
        return result
    }
}
