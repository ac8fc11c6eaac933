import NN
import Runs
import Tensor

/// Feature (hint) distillation, as in FitNets (Romero et al., 2015): a student hidden layer,
/// mapped by a learned linear projection to the teacher layer's width, regresses the teacher's
/// activations with MSE.
public struct FeatureLoss: RegisteredLoss {
    public let studentLayer: Int
    public let teacherLayer: Int
    /// One learned map per teacher from the student layer's width to that teacher layer's, each
    /// with its own Adam; an ensemble's terms are averaged.
    public private(set) var projections: [Linear]
    private var optimizers: [Adam]

    /// Projections initialised from the config's seed; the layers must exist (checked by `Distiller`).
    public static let registeredKind = LossKind.feature
    /// Hidden layers: any teacher's.
    public static func serves(_ head: OutputHead) -> String? { "" }
    public init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) {
        self.init(student: student, teachers: teacher.networks, config: config)
    }

    public init(student: MLP, teachers: [MLP], config: DistillConfig) {
        studentLayer = config.featureStudentLayer ?? 0
        teacherLayer = config.featureTeacherLayer ?? 0
        var rng = SeededGenerator(seed: UInt64(config.seed) &+ 77)
        projections = teachers.map { Linear(inputs: student.hiddenSizes[config.featureStudentLayer ?? 0],
                                            outputs: $0.hiddenSizes[config.featureTeacherLayer ?? 0], rng: &rng) }
        optimizers = teachers.map { _ in Adam(learningRate: config.learningRate) }
    }

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let share = weight / Float(projections.count)
        var total: Float = 0
        for k in projections.indices {
            let f = Self.compute(studentHidden: context.student.hidden(studentLayer), projection: projections[k],
                                 teacherHidden: context.teacherHidden(teacherLayer, teacher: k))
            context.addHiddenGradient(f.hiddenGradient * share, layer: studentLayer)
            var params = [projections[k].weight, projections[k].bias]
            optimizers[k].step(&params, gradients: [f.weightGradient * share, f.biasGradient * share])
            projections[k].weight = params[0]
            projections[k].bias = params[1]
            total += f.value
        }
        return total / Float(projections.count)
    }

    /// Each projection (`projection.K`) and its optimiser's moments (`adam.K`).
    public var checkpointTensors: [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for k in projections.indices {
            let parameters = [projections[k].weight, projections[k].bias]
            tensors.merge(CheckpointTensors.parameters(parameters, names: ["weight", "bias"], as: "projection.\(k)")) { a, _ in a }
            tensors.merge(CheckpointTensors.adam(optimizers[k].state, for: parameters, names: ["weight", "bias"], as: "adam.\(k)")) { a, _ in a }
        }
        return tensors
    }

    /// Every term steps each projection's Adam once per student update, so its step count is `gradientSteps`.
    public mutating func restore(from checkpoint: CheckpointReader, gradientSteps: Int) throws {
        for k in projections.indices {
            let templates = [projections[k].weight, projections[k].bias]
            let saved = try checkpoint.parameters("projection.\(k)", names: ["weight", "bias"], like: templates)
            projections[k].weight = saved[0]
            projections[k].bias = saved[1]
            optimizers[k] = try checkpoint.adam("adam.\(k)", names: ["weight", "bias"], like: templates, stepCount: gradientSteps,
                                                learningRate: optimizers[k].learningRate)
        }
    }

    /// The loss, its gradient with respect to the student's hidden activations, and the
    /// projection's weight and bias gradients.
    public static func compute(studentHidden h: Tensor, projection: Linear, teacherHidden t: Tensor)
        -> (value: Float, hiddenGradient: Tensor, weightGradient: Tensor, biasGradient: Tensor)
    {
        let r = Loss.mse(projection.forward(h), t)
        let g = projection.backward(input: h, outputGradient: r.gradient)
        return (r.value, g.input!, g.weight, g.bias)
    }
}
