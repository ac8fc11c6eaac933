/// The mean of a Gaussian policy over continuous actions (PPO's and A2C's continuous actors);
/// its deterministic action is the mean clipped to the bounds, as SB3 acts. The policy's
/// state-independent log-std travels beside it (`MLP.actionLogStd`).
public struct GaussianHead: OutputHeadKind {
    public let name = "gaussian"
    public let phrase = "a Gaussian policy's mean continuous action"
    public let exportDescription = "a Gaussian policy's mean (its q_values are the mean; the action clips it to the bounds)"
    public let actionFormula = "q clipped to [low, high]"

    public func action(_ z: Float, low: Float, high: Float) -> Float { Swift.min(Swift.max(z, low), high) }
    public func actionSlope(_ z: Float, low: Float, high: Float) -> Float { z > low && z < high ? 1 : 0 }
    public func cActionExpression(q: String, low: String, high: String) -> String { "\(q) < \(low) ? \(low) : (\(q) > \(high) ? \(high) : \(q))" }
    public func swiftActionExpression(q: String, low: String, high: String) -> String { "Swift.min(Swift.max(\(q), \(low)), \(high))" }
}

extension OutputHead {
    public static let gaussian = OutputHead(GaussianHead())
}
