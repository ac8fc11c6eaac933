import NN
import Tensor

/// Output-layer distillation: mean squared error between student and teacher Q-values.
public struct QValueMSELoss: DistillationLoss {
    public let kind = LossKind.qMSE
    public init() {}

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let r = Loss.mse(context.q, context.teacherQ)
        context.outputGradient += r.gradient * weight
        return r.value
    }
}
