import Foundation
import Tensor

/// A loss value and its gradient with respect to the prediction (student) tensor.
public struct LossResult: Sendable {
    public var value: Float
    public var gradient: Tensor

    public init(value: Float, gradient: Tensor) {
        self.value = value
        self.gradient = gradient
    }
}

/// Losses used by DQN and distillation. Each returns the mean loss over the batch and its exact
/// gradient; reductions are means, as in PyTorch's defaults.
public enum Loss {
    /// Mean squared error over all elements.
    public static func mse(_ prediction: Tensor, _ target: Tensor) -> LossResult {
        var gradient = Tensor(shape: [0])
        let value = mse(prediction, target, gradient: &gradient)
        return LossResult(value: value, gradient: gradient)
    }

    /// `mse`, its gradient written into `gradient` (storage reused: no allocation once warm).
    public static func mse(_ prediction: Tensor, _ target: Tensor, gradient: inout Tensor) -> Float {
        difference(prediction, target, into: &gradient)
        let n = Float(max(gradient.count, 1))
        let value = gradient.squaredNorm() / n
        gradient.scale(by: 2 / n)
        return value
    }

    /// Huber (smooth L1, PyTorch's `smooth_l1_loss` with β = delta) over all elements.
    public static func huber(_ prediction: Tensor, _ target: Tensor, delta: Float = 1) -> LossResult {
        var gradient = Tensor(shape: [0])
        let value = huber(prediction, target, delta: delta, gradient: &gradient)
        return LossResult(value: value, gradient: gradient)
    }

    /// `huber`, its gradient written into `gradient` (storage reused: no allocation once warm).
    public static func huber(_ prediction: Tensor, _ target: Tensor, delta: Float = 1, gradient: inout Tensor) -> Float {
        difference(prediction, target, into: &gradient)
        let n = Float(max(gradient.count, 1))
        var total: Float = 0
        for i in 0..<gradient.count {
            let d = gradient.scalars[i]
            if abs(d) < delta {
                total += 0.5 * d * d / delta
                gradient.scalars[i] = d / delta / n
            } else {
                total += abs(d) - 0.5 * delta
                gradient.scalars[i] = (d > 0 ? 1 : -1) / n
            }
        }
        return total / n
    }

    /// prediction − target into `out`, shaped as the prediction.
    private static func difference(_ prediction: Tensor, _ target: Tensor, into out: inout Tensor) {
        precondition(prediction.shape == target.shape, "shapes \(prediction.shape) and \(target.shape) differ")
        if prediction.rank == 2 {
            out.prepare(rows: prediction.shape[0], columns: prediction.shape[1])
        } else if prediction.rank == 1 {
            out.prepare(count: prediction.count)
        } else {
            out = Tensor(shape: prediction.shape)
        }
        for i in 0..<prediction.count { out.scalars[i] = prediction.scalars[i] - target.scalars[i] }
    }

    /// KL(p_T ‖ p_S) with p = softmax(logits / temperature) per row, averaged over rows;
    /// the gradient is with respect to the student's logits: (p_S − p_T) / (temperature · rows).
    /// Not scaled by τ² (Hinton et al. do that; with τ = 0.01 on Q-values, as Rusu et al., it would vanish).
    public static func klDivergence(teacher: Tensor, student: Tensor, temperature: Float) -> LossResult {
        precondition(teacher.shape == student.shape, "teacher \(teacher.shape) and student \(student.shape) differ")
        let logPT = teacher.logSoftmaxRows(temperature: temperature)
        let logPS = student.logSoftmaxRows(temperature: temperature)
        let pT = logPT.map { expf($0) }, pS = logPS.map { expf($0) }
        let rows = Float(max(teacher.rowCount, 1))
        var total: Float = 0
        for i in 0..<pT.count where pT.scalars[i] > 0 {
            total += pT.scalars[i] * (logPT.scalars[i] - logPS.scalars[i])
        }
        return LossResult(value: total / rows, gradient: (pS - pT) * (1 / (temperature * rows)))
    }

    /// Cross-entropy −Σ p log softmax(logits) against soft targets p (rows sum to 1), averaged over rows.
    public static func crossEntropy(logits: Tensor, targetProbabilities p: Tensor) -> LossResult {
        precondition(logits.shape == p.shape, "logits \(logits.shape) and targets \(p.shape) differ")
        let logQ = logits.logSoftmaxRows()
        let rows = Float(max(logits.rowCount, 1))
        let value = -(p * logQ).sum() / rows
        let grad = (logQ.map { expf($0) } - p) * (1 / rows)
        return LossResult(value: value, gradient: grad)
    }

    /// Cross-entropy (negative log-likelihood) of integer labels, one per row.
    public static func crossEntropy(logits: Tensor, labels: [Int]) -> LossResult {
        precondition(logits.rank == 2 && labels.count == logits.rowCount, "one label per row needed")
        var onehot = Tensor(shape: logits.shape)
        for (i, l) in labels.enumerated() {
            precondition(l >= 0 && l < logits.columnCount, "label \(l) out of range")
            onehot[i, l] = 1
        }
        return crossEntropy(logits: logits, targetProbabilities: onehot)
    }
}
