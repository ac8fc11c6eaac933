import NN
import Tensor

/// The Q-learning update: an online and a target network, the TD target (optionally Double
/// DQN, n-step discounts, importance weights), Huber or MSE loss, clipped Adam steps.
public struct DQNLearner: Sendable {
    public private(set) var online: MLP
    public private(set) var target: MLP
    public var optimizer: Adam
    public let actionCount: Int
    public let config: DQNConfig

    /// Fresh networks for `observationSize` inputs and `actionCount` actions, initialised from the config's seed.
    public init(observationSize: Int, actionCount: Int, config: DQNConfig) {
        self.init(observationShape: [observationSize], actionCount: actionCount, config: config)
    }

    /// With `config.convolutions`, the network reads observations as (height, width, channels)
    /// images of `observationShape`; otherwise it is an MLP over the flattened observation.
    public init(observationShape: [Int], actionCount: Int, config: DQNConfig) {
        let outputs = config.dueling ? actionCount + 1 : actionCount
        let seed = UInt64(config.seed) &+ 1
        let net = config.convolutions.isEmpty
            ? MLP(inputSize: observationShape.reduce(1, *), hiddenSizes: config.hiddenSizes, outputSize: outputs,
                  activation: config.activation, seed: seed)
            : MLP(observationShape: observationShape, convolutions: config.convolutions, hiddenSizes: config.hiddenSizes,
                  outputSize: outputs, activation: config.activation, seed: seed)
        self.init(online: net, target: net, optimizer: Adam(learningRate: config.learningRate),
                  actionCount: actionCount, config: config)
    }

    /// Existing state (e.g. resumed from a checkpoint).
    public init(online: MLP, target: MLP, optimizer: Adam, actionCount: Int, config: DQNConfig) {
        self.online = online
        self.target = target
        self.optimizer = optimizer
        self.actionCount = actionCount
        self.config = config
    }

    /// Q-values of a batch under `network` (dueling aggregation applied).
    public func qValues(_ observations: Tensor, network: MLP? = nil) -> Tensor {
        let raw = (network ?? online)(observations)
        return config.dueling ? DuelingHead.combine(raw) : raw
    }

    /// The greedy action for one observation: through the single-observation kernel for a dense
    /// network (the batched pass's bits without a batch's tensors), else a batch of one.
    public func greedyAction(_ observation: [Float]) -> Int {
        guard !config.dueling, online.convolutions.isEmpty, observation.count == online.inputSize else {
            return qValues(Tensor(shape: [1, observation.count], scalars: observation)).argmaxRows()[0]
        }
        return Policy(online).action(observation)
    }

    /// The network as a plain Q-value MLP (dueling folded in), for saving and evaluation.
    public var policyNetwork: MLP { config.dueling ? DuelingHead.folded(online) : online }

    /// TD targets y = r + γ^k · Q_target(s', a*) (0 after termination), with a* = argmax of the
    /// target network, or of the online network for Double DQN. `nextTargetValues`, when given,
    /// are the target network's Q-values of the batch's next observations, computed beforehand.
    public func targets(_ batch: TransitionBatch, nextTargetValues: Tensor? = nil) -> Tensor {
        TDTarget.values(batch, online: { qValues($0) }, target: { nextTargetValues ?? qValues($0, network: target) },
                        doubleDQN: config.doubleDQN)
    }

    /// The target network's Q-values of `observations`.
    public func targetQValues(_ observations: Tensor) -> Tensor { qValues(observations, network: target) }

    /// One gradient step on `batch`; returns the loss and the TD errors (for priorities).
    /// `nextTargetValues` as for `targets`.
    public mutating func update(_ batch: TransitionBatch, nextTargetValues: Tensor? = nil) -> (loss: Float, tdErrors: [Float]) {
        let y = targets(batch, nextTargetValues: nextTargetValues)
        let cache = online.forward(batch.observations)
        let q = config.dueling ? DuelingHead.combine(cache.output) : cache.output
        let chosen = q.gather(columns: batch.actions)
        let result = config.loss == .mse ? Loss.mse(chosen, y) : Loss.huber(chosen, y)
        var value = result.value
        var gradient = result.gradient
        if batch.weights.scalars.contains(where: { $0 != 1 }) {
            // Weighted mean: the per-element loss terms and gradients scale by their weights.
            gradient = gradient * batch.weights
            let perElement = config.loss == .mse ? (chosen - y).map { $0 * $0 }
                : (chosen - y).map { abs($0) < 1 ? 0.5 * $0 * $0 : abs($0) - 0.5 }
            value = (perElement * batch.weights).mean()
        }
        var dq = Tensor.scatter(gradient, columns: batch.actions, shape: q.shape)
        if config.dueling { dq = DuelingHead.backward(dq) }
        var grads = online.backward(cache, outputGradient: dq)
        clipByGlobalNorm(&grads.parameters, maxNorm: config.maxGradNorm)
        optimizer.step(&online, gradients: grads)
        return (value, (chosen - y).scalars)
    }

    /// θ_target ← τ θ_online + (1 − τ) θ_target (a copy when τ = 1).
    public mutating func updateTarget() {
        if config.tau >= 1 {
            target = online
            return
        }
        let tau = config.tau
        let source = online.parameters
        target.withParameters { params in
            for i in params.indices {
                params[i] = params[i].zipWith(source[i]) { t, o in tau * o + (1 - tau) * t }
            }
        }
    }
}
