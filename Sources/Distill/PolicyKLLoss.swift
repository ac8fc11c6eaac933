import NN
import Tensor

/// Policy distillation (Rusu et al. 2015): KL(softmax(q_T/τ) ‖ softmax(q_S/τ)); a low τ
/// sharpens the teacher's Q-values into nearly its greedy policy.
public struct PolicyKLLoss: RegisteredLoss {
    public let temperature: Float
    public init(temperature: Float) { self.temperature = temperature }

    public static let registeredKind = LossKind.kl
    public static func serves(_ head: OutputHead) -> String? {
        head.isContinuous ? nil : "the softmax policies at the temperature"
    }
    public init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) { self.init(temperature: config.temperature) }

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let r = Loss.klDivergence(teacher: context.teacherQ, student: context.q, temperature: temperature)
        context.outputGradient += r.gradient * weight
        return r.value
    }
}
