import NN
import Tensor

/// Distillation of a deterministic continuous policy (SAC's mean action, TD3's actor): the mean
/// squared error between the student's and the teacher's actions, after the head maps outputs to
/// actions (tanh-squashed into the bounds, or clipped to them), so the loss is in the action's
/// own units and saturated outputs that give the same action cost nothing.
public struct ActionMSELoss: RegisteredLoss {
    let head: OutputHead
    let low: [Float]
    let high: [Float]

    /// For `head` and its bounds (a discrete head's outputs are its "actions": the loss is then
    /// q-mse's; distillation refuses action-mse for discrete teachers before it gets here).
    public init(head: OutputHead, low: [Float], high: [Float]) {
        (self.head, self.low, self.high) = (head, low, high)
    }

    public static let registeredKind = LossKind.actionMSE
    public static func serves(_ head: OutputHead) -> String? {
        switch head {
        case .gaussian: return "the clipped actions"
        case .squashed: return "the squashed actions"
        default: return head.isContinuous ? "the actions" : nil
        }
    }
    public init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) {
        self.init(head: teacher.head, low: student.actionLow, high: student.actionHigh)
    }

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let r = compute(student: context.q, teacher: context.teacherQ)
        context.outputGradient += r.gradient * weight
        return r.value
    }

    /// The loss and its gradient with respect to the student's outputs `student` (rows ×
    /// dimensions, before the head), against the teacher's outputs.
    public func compute(student: Tensor, teacher: Tensor) -> LossResult {
        let rows = student.shape[0], dims = student.shape[1]
        precondition(teacher.shape == student.shape && (!head.isContinuous || dims == low.count), "one bound per action dimension")
        var gradient = Tensor(shape: student.shape)
        var total: Float = 0
        let count = Float(max(rows * dims, 1))
        for r in 0..<rows {
            let range = (r * dims)..<((r + 1) * dims)
            let z = Array(student.scalars[range])
            let a = head.action(z, low: low, high: high)
            let target = head.action(Array(teacher.scalars[range]), low: low, high: high)
            for d in 0..<dims {
                let difference = a[d] - target[d]
                total += difference * difference
                gradient.scalars[r * dims + d] = 2 * difference * (head.isContinuous ? head.actionSlope(z[d], low: low[d], high: high[d]) : 1) / count
            }
        }
        return LossResult(value: total / count, gradient: gradient)
    }
}
