/// Turns one-step experience into n-step transitions: R = Σ γ^i r_{t+i} over up to n steps,
/// next observation s_{t+k}, discount γ^k. At an episode's end every pending step is flushed
/// with the steps that remain; after truncation the transitions still bootstrap from the final
/// observation, after termination they do not.
public struct NStepAccumulator: Sendable {
    public let n: Int
    public let gamma: Float
    /// The steps of the episode in progress whose n-step transitions are not complete yet.
    public private(set) var pending: [Step] = []

    /// One environment step waiting for the rewards after it.
    public struct Step: Sendable, Equatable {
        public var observation: [Float]
        public var action: Int
        public var reward: Float
        public init(observation: [Float], action: Int, reward: Float) {
            (self.observation, self.action, self.reward) = (observation, action, reward)
        }
    }

    /// An accumulator holding `pending` (at most n - 1 steps, the last ones of an episode in
    /// progress: what another run on the same episode left), so their transitions complete here.
    public init(n: Int, gamma: Float, pending: [Step] = []) {
        precondition(n >= 1, "n must be at least 1")
        precondition(pending.count < n, "at most n - 1 steps can be pending")
        self.n = n
        self.gamma = gamma
        self.pending = pending
    }

    /// Adds one environment step; returns the transitions now complete.
    public mutating func push(observation: [Float], action: Int, reward: Float, nextObservation: [Float],
                              terminated: Bool, truncated: Bool) -> [Transition] {
        pending.append(Step(observation: observation, action: action, reward: reward))
        var out: [Transition] = []
        if terminated || truncated {
            while !pending.isEmpty { out.append(emitFirst(next: nextObservation, terminated: terminated)) }
        } else if pending.count == n {
            out.append(emitFirst(next: nextObservation, terminated: false))
        }
        return out
    }

    /// Forgets pending steps (e.g. when a run is interrupted mid-episode).
    public mutating func reset() { pending.removeAll() }

    private mutating func emitFirst(next: [Float], terminated: Bool) -> Transition {
        var ret: Float = 0, discount: Float = 1
        for step in pending {
            ret += discount * step.reward
            discount *= gamma
        }
        let first = pending.removeFirst()
        return Transition(observation: first.observation, action: first.action, reward: ret,
                          nextObservation: next, terminated: terminated, discount: discount)
    }
}
