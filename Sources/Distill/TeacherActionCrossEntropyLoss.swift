import NN
import Tensor

/// Policy distillation with hard labels: cross-entropy of the teacher's greedy action under
/// softmax of the student's Q-values.
public struct TeacherActionCrossEntropyLoss: RegisteredLoss {
    public init() {}

    public static let registeredKind = LossKind.crossEntropy
    public static func serves(_ head: OutputHead) -> String? {
        head.isContinuous ? nil : "the teacher's action"
    }
    public init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) {}

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let r = Loss.crossEntropy(logits: context.q, labels: context.teacherQ.argmaxRows())
        context.outputGradient += r.gradient * weight
        return r.value
    }
}
