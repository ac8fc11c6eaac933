import NN
import Tensor

/// Policy distillation with hard labels: cross-entropy of the teacher's greedy action under
/// softmax of the student's Q-values.
public struct TeacherActionCrossEntropyLoss: DistillationLoss {
    public let kind = LossKind.crossEntropy
    public init() {}

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let r = Loss.crossEntropy(logits: context.q, labels: context.teacherQ.argmaxRows())
        context.outputGradient += r.gradient * weight
        return r.value
    }
}
