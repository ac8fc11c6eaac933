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
        var y = Tensor(shape: [0])
        values(rewards: batch.rewards, discounts: batch.bootstrapDiscounts, nextTarget: nextTarget,
               nextOnline: doubleDQN ? online(batch.nextObservations) : nil, into: &y)
        return y
    }

    /// The targets into `y` (storage reused), from the target network's Q-values of the next
    /// states and, for Double DQN, the online network's (which choose a*).
    public static func values(rewards: Tensor, discounts: Tensor, nextTarget: Tensor, nextOnline: Tensor?, into y: inout Tensor) {
        let n = rewards.count
        precondition(discounts.count == n && nextTarget.rank == 2 && nextTarget.rowCount == n
                     && (nextOnline.map { $0.rank == 2 && $0.rowCount == n } ?? true),
                     "TD target inputs disagree: \(n) rewards, \(discounts.count) discounts, next Q-values \(nextTarget.shape)")
        y.prepare(count: n)
        for i in 0..<n {
            let best = nextOnline?.argmax(row: i) ?? nextTarget.argmax(row: i)
            y.scalars[i] = rewards.scalars[i] + discounts.scalars[i] * nextTarget[i, best]
        }
    }

    /// The TD loss of the taken actions' Q-values against `targets` (mean over the batch) and
    /// its gradient with respect to all Q-values (zero for actions not taken).
    public static func loss(_ q: Tensor, actions: [Int], targets: Tensor, kind: TDLoss) -> LossResult {
        let chosen = q.gather(columns: actions)
        let r = kind == .mse ? Loss.mse(chosen, targets) : Loss.huber(chosen, targets)
        return LossResult(value: r.value, gradient: Tensor.scatter(r.gradient, columns: actions, shape: q.shape))
    }
}
