import NN
import Tensor

/// The bootstrapped TD target shared by DQN and every learner that uses a Q-learning loss
/// (distillation's task loss): y = r + γ^k · Q_target(s', a*), 0 after termination, with a* the
/// target network's argmax, or the online network's for Double DQN (van Hasselt et al. 2016).
/// n-step returns come in through the batch (`rewards` are n-step sums, `bootstrapDiscounts` γ^k).
public enum TDTarget {
    /// Targets for `batch`; `online` and `target` map observations to Q-values.
    public static func values(_ batch: TransitionBatch, online: (Tensor) -> Tensor, target: (Tensor) -> Tensor,
                              doubleDQN: Bool) -> Tensor {
        let nextTarget = target(batch.nextObservations)
        let nextValues: Tensor
        if doubleDQN {
            nextValues = nextTarget.gather(columns: online(batch.nextObservations).argmaxRows())
        } else {
            nextValues = nextTarget.maxRows()
        }
        return batch.rewards + batch.bootstrapDiscounts * nextValues
    }

    /// The TD loss of the taken actions' Q-values against `targets` (mean over the batch) and
    /// its gradient with respect to all Q-values (zero for actions not taken).
    public static func loss(_ q: Tensor, actions: [Int], targets: Tensor, kind: TDLoss) -> LossResult {
        let chosen = q.gather(columns: actions)
        let r = kind == .mse ? Loss.mse(chosen, targets) : Loss.huber(chosen, targets)
        return LossResult(value: r.value, gradient: Tensor.scatter(r.gradient, columns: actions, shape: q.shape))
    }
}
