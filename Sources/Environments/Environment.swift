/// What an environment observes and allows, read once when it is opened.
public struct EnvironmentSpec: Sendable, Equatable {
    /// The id or `module:attribute` the environment was opened with.
    public var name: String
    /// Observation shape as the environment reports it; networks see it flattened.
    public var observationShape: [Int]
    /// Number of discrete actions (actions are `0..<actionCount` on the Swift side), or for a
    /// continuous (Box) action space the number of values in an action.
    public var actionCount: Int
    /// A continuous action space's bounds, one range per action value; nil for discrete actions.
    public var actionBounds: [ClosedRange<Float>]?
    /// Factor applied to every observation value before a network sees it: 1/255 for uint8
    /// images (as Stable-Baselines3 normalises image spaces), else 1.
    public var observationScale: Float
    /// True when every observation value is an integer 0–255 times `observationScale` (bool
    /// grids, uint8 images), so replay can keep one byte per value.
    public var observationsAreBytes: Bool
    /// For a Discrete observation space (FrozenLake's cell, Taxi's state), the value of its first
    /// state (`Discrete.start`): each observation k is given to networks one-hot, a 1 at k − start
    /// among `observationShape[0]` zeros, as Stable-Baselines3 encodes it. nil for Box spaces.
    public var oneHotStart: Int?

    /// Flattened observation length.
    public var observationSize: Int { observationShape.reduce(1, *) }

    /// True for a continuous (Box) action space: actions are vectors, stepped with `step(continuous:)`.
    public var isContinuous: Bool { actionBounds != nil }

    public init(name: String, observationShape: [Int], actionCount: Int, observationScale: Float = 1, observationsAreBytes: Bool = false,
                actionBounds: [ClosedRange<Float>]? = nil) {
        self.name = name
        self.observationShape = observationShape
        self.actionCount = actionCount
        self.actionBounds = actionBounds
        self.observationScale = observationScale
        self.observationsAreBytes = observationsAreBytes
    }
}

/// The result of one environment step, Gymnasium-style.
public struct Step: Sendable {
    /// Flattened next observation.
    public var observation: [Float]
    public var reward: Double
    /// The episode ended inside the MDP (no bootstrapping from `observation`).
    public var terminated: Bool
    /// The episode was cut short (time limit): bootstrap from `observation`.
    public var truncated: Bool

    public init(observation: [Float], reward: Double, terminated: Bool, truncated: Bool) {
        self.observation = observation
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
    }

    /// Either way the episode is over and the environment needs a reset.
    public var isDone: Bool { terminated || truncated }
}

/// An episodic environment with a flat float observation and discrete actions.
///
/// A class protocol: an environment is an owned resource with identity (often a Python object).
public protocol Environment: AnyObject {
    var spec: EnvironmentSpec { get }
    /// Starts an episode; a seed makes it (and the episodes that follow) reproducible.
    func reset(seed: Int?) throws -> [Float]
    /// Applies an action in `0..<spec.actionCount`.
    func step(_ action: Int) throws -> Step
    /// Applies a continuous action: `spec.actionCount` values within `spec.actionBounds`.
    func step(continuous action: [Float]) throws -> Step
}

extension Environment {
    /// Environments with discrete actions only.
    public func step(continuous action: [Float]) throws -> Step {
        throw EnvironmentError.unsupportedActionSpace(spec.name, detail: "it takes discrete actions, not the continuous action \(action)")
    }
}

/// An environment whose step can be begun and ended apart — one running in a worker process —
/// so several of them step at the same time, each on its own core.
public protocol ConcurrentlySteppable: Environment {
    /// True when `beginStep`/`endStep` really run apart (the environment is in another process).
    var stepsConcurrently: Bool { get }
    /// Sends `action`; the step runs while the caller goes on.
    func beginStep(_ action: Int) throws
    /// Waits for the step `beginStep` started and returns it.
    func endStep() throws -> Step
}

/// Steps each of `envs` with its action: all at once when every one runs in a worker process
/// (each begun, then each ended, in order), else one after another. The results are the same
/// either way; only the wall time differs.
public func stepAll(_ envs: [any Environment], _ actions: [Int]) throws -> [Step] {
    precondition(envs.count == actions.count, "one action per environment")
    let concurrent = envs.count > 1 ? envs.compactMap { $0 as? any ConcurrentlySteppable } : []
    guard concurrent.count == envs.count, concurrent.allSatisfy(\.stepsConcurrently) else {
        return try zip(envs, actions).map { try $0.step($1) }
    }
    for (env, action) in zip(concurrent, actions) { try env.beginStep(action) }
    return try concurrent.map { try $0.endStep() }
}
