import DQN
import NN
import Tensor

/// One distillation gradient step's loss values, by metric name (`kl`, `q_mse`, …).
public typealias LossParts = [String: Float]

/// The student, its optimiser and its losses. `update` applies L = Σ wᵢ·Lᵢ over the configured
/// terms (in `LossKind` order) with one backward pass and one clipped Adam step.
public struct StudentLearner: Sendable {
    public private(set) var student: MLP
    public private(set) var gradientSteps = 0
    private var optimizer: Adam
    private var terms: [(loss: any DistillationLoss, weight: Float)]
    public let config: DistillConfig

    public init(student: MLP, teacher: TeacherEnsemble, config: DistillConfig) {
        self.student = student
        self.config = config
        optimizer = Adam(learningRate: config.learningRate)
        terms = config.losses.map { (DistillationLosses.make($0.kind, config: config, student: student, teacher: teacher), $0.weight) }
    }

    /// One gradient step on `batch`, whose teacher Q-values are `teacherQ` (and hidden activations
    /// `teacherHidden`, as `TeacherEnsemble.label` lays them out, when stored); the distillation
    /// terms (all but the task loss) are weighted by `distillationScale` as well.
    public mutating func update(_ batch: TransitionBatch, teacherQ: Tensor, teacherHidden: Tensor? = nil,
                                teacher: TeacherEnsemble, distillationScale: Float = 1) -> LossParts {
        var context = LossContext(batch: batch, studentNetwork: student, teacherQ: teacherQ, teachers: teacher.networks,
                                  storedTeacherHidden: teacherHidden)
        var parts: LossParts = [:]
        for i in terms.indices {
            let scale: Float = terms[i].loss.kind == .task ? 1 : distillationScale
            parts[terms[i].loss.kind.metricName] = terms[i].loss.apply(weight: terms[i].weight * scale, to: &context)
        }
        var grads = student.backward(context.student, outputGradient: context.outputGradient, hiddenGradients: context.hiddenGradients)
        clipByGlobalNorm(&grads.parameters, maxNorm: config.maxGradNorm)
        optimizer.step(&student, gradients: grads)
        gradientSteps += 1
        for i in terms.indices { terms[i].loss.studentUpdated(student, gradientSteps: gradientSteps) }
        return parts
    }
}
