import DQN
import NN
import Runs
import Tensor

/// The student's own RL loss (λ·L_task): DQN's TD loss on the collected transitions, with
/// DQN's TD target (so Double DQN and n-step apply) and a target network copied from the
/// student every `targetUpdateInterval` gradient steps.
public struct TaskLoss: RegisteredLoss {
    public private(set) var target: MLP
    let doubleDQN: Bool
    let targetUpdateInterval: Int

    public static let registeredKind = LossKind.task
    /// The TD loss trains Q-values: it serves Q-value teachers only.
    public static func serves(_ head: OutputHead) -> String? { head == .q ? "" : nil }
    public init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) { self.init(student: student, config: config) }

    public init(student: MLP, config: DistillConfig) {
        target = student
        doubleDQN = config.doubleDQN
        targetUpdateInterval = config.targetUpdateInterval
    }

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let student = context.studentNetwork, target = target
        let y = TDTarget.values(context.batch, online: { student($0) }, target: { target($0) }, doubleDQN: doubleDQN)
        let r = TDTarget.loss(context.q, actions: context.batch.actions, targets: y, kind: .huber)
        context.outputGradient += r.gradient * weight
        return r.value
    }

    public mutating func studentUpdated(_ student: MLP, gradientSteps: Int) {
        if gradientSteps % targetUpdateInterval == 0 { target = student }
    }

    public var checkpointTensors: [String: Tensor] { CheckpointTensors.parameters(target.parameters, names: target.parameterNames, as: "target") }

    public mutating func restore(from checkpoint: CheckpointReader, gradientSteps: Int) throws {
        target.parameters = try checkpoint.parameters("target", names: target.parameterNames, like: target.parameters)
    }
}
