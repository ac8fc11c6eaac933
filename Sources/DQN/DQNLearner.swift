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
    /// Tensors an update writes its intermediate values into, kept between updates so that a
    /// dense network's update allocates nothing once warm. Copies of a learner share it until
    /// one of them writes (value semantics, as for any array).
    private var workspace = UpdateWorkspace()

    /// What one `update` computes on the way, by name.
    struct UpdateWorkspace: Sendable {
        var cache = MLP.Cache()
        var gradients = MLP.Gradients()
        /// Forward passes over the next observations: the target network's (when its values are
        /// not given), then the online network's (Double DQN).
        var nextForward = MLP.Cache()
        /// A dueling head's Q-values: of the next observations for Double DQN's choice, then of the batch.
        var q = Tensor.empty
        /// The target network's Q-values of the next observations, when not given.
        var nextTarget = Tensor.empty
        var targets = Tensor.empty
        var chosen = Tensor.empty
        var lossGradient = Tensor.empty
        var outputGradient = Tensor.empty
        var rawGradient = Tensor.empty
        var tdErrors: [Float] = []
    }

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

    /// The target network's Q-values of `observations` into `q`, with `cache` as the forward
    /// pass's space (both reused). One product: give at most `target.rowsPerSlice` rows to
    /// have `targetQValues`'s bits.
    public func targetQValues(_ observations: Tensor, cache: inout MLP.Cache, into q: inout Tensor) {
        target.forward(observations, into: &cache)
        cache.releaseInput()
        if config.dueling {
            DuelingHead.combine(cache.output, into: &q)
        } else {
            swap(&q, &cache.output)  // the output's storage moves to q; the next pass writes into q's old one
        }
    }

    /// One gradient step on `batch`; returns the loss and the TD errors (for priorities).
    /// `nextTargetValues` as for `targets`. For a dense network with uniform weights this
    /// allocates nothing once warm: every intermediate goes into `workspace`.
    public mutating func update(_ batch: TransitionBatch, nextTargetValues: Tensor? = nil) -> (loss: Float, tdErrors: [Float]) {
        computeTargets(batch, nextTargetValues: nextTargetValues)
        online.forward(batch.observations, into: &workspace.cache)
        if config.dueling { DuelingHead.combine(workspace.cache.output, into: &workspace.q) }
        let q = config.dueling ? workspace.q : workspace.cache.output
        q.gather(columns: batch.actions, into: &workspace.chosen)
        let chosen = workspace.chosen, y = workspace.targets
        var value = config.loss == .mse ? Loss.mse(chosen, y, gradient: &workspace.lossGradient)
            : Loss.huber(chosen, y, gradient: &workspace.lossGradient)
        if batch.weights.scalars.contains(where: { $0 != 1 }) {
            // Weighted mean: the per-element loss terms and gradients scale by their weights.
            var total: Float = 0
            for i in 0..<chosen.count {
                let d = chosen.scalars[i] - y.scalars[i], w = batch.weights.scalars[i]
                workspace.lossGradient.scalars[i] *= w
                total += (config.loss == .mse ? d * d : (abs(d) < 1 ? 0.5 * d * d : abs(d) - 0.5)) * w
            }
            value = chosen.count == 0 ? 0 : total / Float(chosen.count)
        }
        Tensor.scatter(workspace.lossGradient, columns: batch.actions, rows: q.rowCount, columns: q.columnCount,
                       into: &workspace.outputGradient)
        if config.dueling { DuelingHead.backward(workspace.outputGradient, into: &workspace.rawGradient) }
        online.backward(workspace.cache, outputGradient: config.dueling ? workspace.rawGradient : workspace.outputGradient,
                        into: &workspace.gradients)
        clipByGlobalNorm(&workspace.gradients.parameters, maxNorm: config.maxGradNorm)
        optimizer.step(&online, gradients: workspace.gradients)
        workspace.cache.releaseInput()
        workspace.tdErrors.removeAll(keepingCapacity: true)
        for i in 0..<chosen.count { workspace.tdErrors.append(chosen.scalars[i] - y.scalars[i]) }
        return (value, workspace.tdErrors)
    }

    /// The TD targets of `batch` into `workspace.targets` (see `targets`).
    private mutating func computeTargets(_ batch: TransitionBatch, nextTargetValues: Tensor?) {
        guard online.convolutions.isEmpty, online.rowsPerSlice(batch.nextObservations.rowCount) == batch.nextObservations.rowCount else {
            workspace.targets = targets(batch, nextTargetValues: nextTargetValues)  // images or large batches: through `callAsFunction`
            return
        }
        if nextTargetValues == nil {
            target.forward(batch.nextObservations, into: &workspace.nextForward)
            workspace.nextForward.releaseInput()
            if config.dueling {
                DuelingHead.combine(workspace.nextForward.output, into: &workspace.nextTarget)
            } else {
                swap(&workspace.nextTarget, &workspace.nextForward.output)  // the next forward writes into the other buffer
            }
        }
        if config.doubleDQN {
            online.forward(batch.nextObservations, into: &workspace.nextForward)
            workspace.nextForward.releaseInput()
            if config.dueling { DuelingHead.combine(workspace.nextForward.output, into: &workspace.q) }
        }
        let nextOnline = config.doubleDQN ? (config.dueling ? workspace.q : workspace.nextForward.output) : nil
        TDTarget.values(rewards: batch.rewards, discounts: batch.bootstrapDiscounts, nextTarget: nextTargetValues ?? workspace.nextTarget,
                        nextOnline: nextOnline, into: &workspace.targets)
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
