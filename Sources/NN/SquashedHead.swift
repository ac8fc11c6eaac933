import Foundation

/// A tanh-squashed deterministic action (SAC's mean, TD3's actor): the action is
/// low + (tanh(output) + 1) · (high − low) / 2, as SB3 rescales it.
public struct SquashedHead: OutputHeadKind {
    public let name = "squashed"
    public let phrase = "a tanh-squashed continuous action"
    public let exportDescription = "a squashed deterministic policy (its q_values are pre-tanh; the action squashes them into the bounds)"
    public let actionFormula = "low + (tanh(q) + 1) * (high - low) / 2"
    public let actionNeedsTanh = true

    public func action(_ z: Float, low: Float, high: Float) -> Float { low + (Foundation.tanh(z) + 1) * 0.5 * (high - low) }
    public func actionSlope(_ z: Float, low: Float, high: Float) -> Float {
        let t = Foundation.tanh(z)
        return (1 - t * t) * 0.5 * (high - low)
    }
    public func cActionExpression(q: String, low: String, high: String) -> String { "\(low) + (tanhf(\(q)) + 1.0f) * 0.5f * (\(high) - \(low))" }
    public func swiftActionExpression(q: String, low: String, high: String) -> String { "\(low) + (Foundation.tanh(\(q)) + 1) * 0.5 * (\(high) - \(low))" }
}

extension OutputHead {
    public static let squashed = OutputHead(SquashedHead())
}
