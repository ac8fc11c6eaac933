import Foundation
import NN
import Tensor

/// Policy distillation for a Gaussian policy (PPO's and A2C's continuous actors):
/// KL(N(μ_T, σ²) ‖ N(μ_S, σ²)) summed over action dimensions, averaged over the batch. The
/// student keeps its teacher's state-independent σ (`MLP.actionLogStd`), so the log-σ terms
/// cancel and the loss is the squared distance between the means, each dimension weighed by
/// 1/(2σ²): the dimensions the teacher is sure of count most. (The temperature is for logits;
/// it does not apply here.)
public struct GaussianKLLoss: RegisteredLoss {
    /// 1/σ² per action dimension.
    let precision: [Float]

    public init(logStd: [Float]) {
        precision = logStd.map { Float(exp(-2 * Double($0))) }
    }

    public static let registeredKind = LossKind.kl
    public static func serves(_ head: OutputHead) -> String? {
        head == .gaussian ? "between the Gaussian policies" : nil
    }
    public init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) { self.init(logStd: student.actionLogStd) }

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let r = compute(student: context.q, teacher: context.teacherQ)
        context.outputGradient += r.gradient * weight
        return r.value
    }

    /// The loss and its gradient for the student's means `student` against the teacher's (rows × dimensions).
    public func compute(student: Tensor, teacher: Tensor) -> LossResult {
        let rows = student.shape[0], dims = student.shape[1]
        precondition(dims == precision.count && teacher.shape == student.shape, "one log-std per action dimension")
        var gradient = Tensor(shape: student.shape)
        var total: Float = 0
        let scale = 1 / Float(max(rows, 1))
        for r in 0..<rows {
            for d in 0..<dims {
                let i = r * dims + d
                let difference = student.scalars[i] - teacher.scalars[i]
                total += 0.5 * difference * difference * precision[d]
                gradient.scalars[i] = difference * precision[d] * scale
            }
        }
        return LossResult(value: total * scale, gradient: gradient)
    }
}
