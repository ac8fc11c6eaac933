/// ε-greedy exploration that falls linearly from `initial` to `final` over the first
/// `fraction` of training and then stays at `final` (SB3's `get_linear_fn`).
public struct LinearSchedule: Sendable, Equatable {
    public var initial: Float, final: Float, fraction: Float, totalSteps: Int

    public init(initial: Float, final: Float, fraction: Float, totalSteps: Int) {
        self.initial = initial
        self.final = final
        self.fraction = fraction
        self.totalSteps = totalSteps
    }

    /// ε after `step` environment steps.
    public func value(at step: Int) -> Float {
        let progress = Float(step) / Float(max(totalSteps, 1))
        if progress >= fraction { return final }
        return initial + (final - initial) * progress / fraction
    }
}
