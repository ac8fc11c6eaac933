import NN
import Tensor

/// Feature (hint) distillation, as in FitNets (Romero et al., 2015): a student hidden layer,
/// mapped by a learned linear projection to the teacher layer's width, regresses the teacher's
/// activations with MSE.
public struct FeatureLoss: DistillationLoss {
    public let kind = LossKind.feature
    public let studentLayer: Int
    public let teacherLayer: Int
    /// The learned map from the student layer's width to the teacher layer's, with its own Adam.
    public private(set) var projection: Linear
    private var optimizer: Adam

    /// A projection initialised from the config's seed; the layers must exist (checked by `Distiller`).
    public init(student: MLP, teacher: MLP, config: DistillConfig) {
        studentLayer = config.featureStudentLayer ?? 0
        teacherLayer = config.featureTeacherLayer ?? 0
        var rng = SeededGenerator(seed: UInt64(config.seed) &+ 77)
        projection = Linear(inputs: student.hiddenSizes[studentLayer], outputs: teacher.hiddenSizes[teacherLayer], rng: &rng)
        optimizer = Adam(learningRate: config.learningRate)
    }

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let f = Self.compute(studentHidden: context.student.hidden(studentLayer), projection: projection,
                             teacherHidden: context.teacherHidden(teacherLayer))
        context.addHiddenGradient(f.hiddenGradient * weight, layer: studentLayer)
        var params = [projection.weight, projection.bias]
        optimizer.step(&params, gradients: [f.weightGradient * weight, f.biasGradient * weight])
        projection.weight = params[0]
        projection.bias = params[1]
        return f.value
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
