import NN
import Tensor

/// Output-layer distillation: mean squared error between student and teacher Q-values.
public struct QValueMSELoss: RegisteredLoss {
    public init() {}

    public static let registeredKind = LossKind.qMSE
    public static func serves(_ head: OutputHead) -> String? {
        switch head {
        case .gaussian: return "the means, before the clip"
        case .squashed: return "the outputs before the squash"
        default: return "the outputs"
        }
    }
    public init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) {}

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let r = Loss.mse(context.q, context.teacherQ)
        context.outputGradient += r.gradient * weight
        return r.value
    }
}
