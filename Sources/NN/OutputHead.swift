import Foundation

/// What a network's outputs mean, and so how it acts and which losses may train against it.
/// Discrete heads act by the argmax of the outputs; continuous heads turn the outputs into an
/// action within the action space's bounds.
public enum OutputHead: String, Codable, Sendable, CaseIterable {
    /// One Q-value per action (DQN).
    case q
    /// One logit per action of a categorical policy (PPO's and A2C's discrete actors).
    case categorical
    /// The mean of a Gaussian policy over continuous actions (PPO's and A2C's continuous
    /// actors); its deterministic action is the mean clipped to the bounds, as SB3 acts.
    case gaussian
    /// A tanh-squashed deterministic action (SAC's mean, TD3's actor): the action is
    /// low + (tanh(output) + 1) · (high − low) / 2, as SB3 rescales it.
    case squashed

    /// The head as a sentence names it.
    public var phrase: String {
        switch self {
        case .q: return "Q-values"
        case .categorical: return "a categorical policy's logits"
        case .gaussian: return "a Gaussian policy's mean continuous action"
        case .squashed: return "a tanh-squashed continuous action"
        }
    }

    /// True for the heads whose actions are vectors rather than indices.
    public var isContinuous: Bool { self == .gaussian || self == .squashed }

    /// The action the outputs `z` stand for within `low`…`high` (continuous heads; a discrete
    /// head's outputs are returned as they are).
    public func action(_ z: [Float], low: [Float], high: [Float]) -> [Float] {
        switch self {
        case .q, .categorical:
            return z
        case .gaussian:
            return z.indices.map { Swift.min(Swift.max(z[$0], low[$0]), high[$0]) }
        case .squashed:
            return z.indices.map { low[$0] + (Foundation.tanh(z[$0]) + 1) * 0.5 * (high[$0] - low[$0]) }
        }
    }

    /// d(action)/d(output) for one output `z` of a continuous head: 1 inside the bounds and 0
    /// outside for the clip, (1 − tanh²z)·(high − low)/2 for the squash.
    public func actionSlope(_ z: Float, low: Float, high: Float) -> Float {
        switch self {
        case .q, .categorical: return 1
        case .gaussian: return z > low && z < high ? 1 : 0
        case .squashed:
            let t = Foundation.tanh(z)
            return (1 - t * t) * 0.5 * (high - low)
        }
    }
}
