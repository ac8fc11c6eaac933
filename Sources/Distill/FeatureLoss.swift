import NN
import Tensor

/// Feature (hint) distillation, as in FitNets (Romero et al., 2015): a student hidden layer,
/// mapped by a learned linear projection to the teacher layer's width, regresses the teacher's
/// activations with MSE.
public enum FeatureLoss {
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
