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
