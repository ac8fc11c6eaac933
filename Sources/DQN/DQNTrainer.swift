import Checkpoint
import Environments
import Foundation
import NN
import Runs
import Settings
import Tensor

/// Where DQN training is; saved with checkpoints so `--resume` can continue.
public struct TrainingState: RunState, Equatable {
    public var step = 0
    public var episodes = 0
    public var gradientSteps = 0
    public var rng: SeededGenerator
    public var bestMeanReturn: Double?
    public var adamSteps = 0
    public var elapsedSeconds = 0.0

    public init(rng: SeededGenerator) { self.rng = rng }
    public static let resumeCommand = "distill train"
}

/// The DQN learner step (Mnih et al. 2015, with SB3's scheduling of learning starts, training
/// frequency, gradient steps and target updates), run by the shared `RunLoop`: each `advance`
/// is one ε-greedy environment step, its transition into replay, and the learning it triggers.
public struct DQNAlgorithm: RunAlgorithm {
    public let config: DQNConfig
    public var state: TrainingState
    public private(set) var learner: DQNLearner
    /// The environments stepped together (one unless `environment_count` says more); the first
    /// stands for them where one spec is needed.
    let envs: [any Environment]
    var env: any Environment { envs[0] }
    var buffer: ReplayBuffer
    var prioritized: PrioritizedSampler?
    /// n-step returns, one accumulator per environment.
    var nsteps: [NStepAccumulator]
    let exploration: LinearSchedule
    /// The step after which learning starts (on resume, soon after refilling some replay).
    let learnStart: Int
    /// Each environment's current observation, episode return and length.
    var observations: [[Float]]
    var episodeReturns: [Double], episodeLengths: [Int]
    var recentReturns: [Double] = []
    var lastLoss: Float?
    /// The target network's Q-values of each replay slot's next state, valid while
    /// `cachedEpoch[slot] == targetEpoch`: the target network changes only every
    /// `targetUpdateInterval` steps, and a slot's values only when a new transition overwrites
    /// it, so a slot drawn again before either is not recomputed (same values, same bits).
    var targetCache: [Float] = []
    var cachedEpoch: [Int32] = []
    /// Counts target-network updates (and so tells cached values from stale ones).
    var targetEpoch: Int32 = 0
    /// What a round (uniform or prioritized) writes into, kept between rounds: no allocation once warm.
    var round = RoundWorkspace()
    /// Environment steps and finished episodes since a training round was last due (SB3's rollout).
    var roundSteps = 0, roundEpisodes = 0
    /// The learning rate for the training round at a step (the run's step count then), asked
    /// before each round: SB3's learning-rate schedules. Nil keeps `config.learningRate`.
    public var learningRateSchedule: ((Int) throws -> Float)?

    struct RoundWorkspace: Sendable {
        /// The round's minibatches' slots, one array per gradient step (prioritized: the current one).
        var draws: [[Int]] = []
        /// Prioritized replay's importance weights, and their values before normalising.
        var weights: [Float] = []
        var weightScratch: [Double] = []
        /// Slots whose next states the target network has not valued this epoch.
        var missing: [Int] = []
        /// The target network's pass over a slice of them: their next observations (and the
        /// frame ids they are decoded from), its activations and its Q-values.
        var nextObservations = Tensor.empty
        var frameIDs: [Int32] = []
        var targetForward = MLP.Cache()
        var targetQ = Tensor.empty
        var batch = TransitionBatch()
        var nextTargetValues = Tensor.empty
    }

    /// A new run on `env`, or one continued from a checkpoint's learner and state (the replay
    /// buffer starts empty and refills from new experience, unless the checkpoint kept it: `replay`).
    public init(config: DQNConfig, env: any Environment, resume: (DQNLearner, TrainingState)? = nil, replay: ReplaySnapshot? = nil) throws {
        try self.init(config: config, envs: [env], resume: resume, replay: replay)
    }

    /// Where each environment's episode stands: its current observation (as the network reads
    /// it), the episode's return and length so far, and (with n-step returns) its last steps
    /// still waiting for their n-step transitions — empty when not known (a run continued from
    /// saved episodes), and those transitions are then not stored.
    public struct EpisodesInProgress: Sendable, Equatable {
        public var observations: [[Float]]
        public var returns: [Double]
        public var lengths: [Int]
        public var pendingSteps: [[NStepAccumulator.Step]]
        public init(observations: [[Float]], returns: [Double], lengths: [Int], pendingSteps: [[NStepAccumulator.Step]] = []) {
            (self.observations, self.returns, self.lengths, self.pendingSteps) = (observations, returns, lengths, pendingSteps)
        }
    }

    /// The episodes as they stand now: what a run on the same environment objects continues from.
    public var episodesInProgress: EpisodesInProgress {
        EpisodesInProgress(observations: observations, returns: episodeReturns, lengths: episodeLengths, pendingSteps: nsteps.map(\.pending))
    }

    /// As above on `config.environmentCount` environments stepped together (`envs`, one spec).
    /// `continuing` goes on with the episodes `envs` are in (the state a previous run on these
    /// same objects left them in: SB3's `learn(reset_num_timesteps=False)`) instead of resetting them.
    public init(config: DQNConfig, envs: [any Environment], resume: (DQNLearner, TrainingState)? = nil,
                replay: ReplaySnapshot? = nil, continuing: EpisodesInProgress? = nil) throws {
        guard envs.count == config.environmentCount, !envs.isEmpty else {
            throw SettingError(key: "environment_count", template: "{environment_count} is \(config.environmentCount) but \(envs.count) environment\(envs.count == 1 ? " was" : "s were") given; give one environment per copy (an id, class or factory opens them all).")
        }
        self.config = config
        self.envs = envs
        let spec = envs[0].spec
        for other in envs.dropFirst() where other.spec.observationShape != spec.observationShape || other.spec.actionCount != spec.actionCount {
            throw EnvironmentError.badFactory(spec.name, detail: "its copies disagree on their spaces (\(other.spec.observationShape), \(other.spec.actionCount) actions against \(spec.observationShape), \(spec.actionCount))")
        }
        guard !spec.isContinuous else {
            throw EnvironmentError.unsupportedActionSpace(spec.name, detail: "it has continuous actions (a Box of \(spec.actionCount)); DQN needs a Discrete action space (discretise it with a wrapper, or train an actor-critic agent such as SB3's SAC and distil it)")
        }
        try Self.checkMemory(config, observationSize: spec.observationSize, actionCount: spec.actionCount,
                             bytesPerValue: spec.observationsAreBytes ? 1 : 4, frames: Self.framesPerObservation(spec.observationShape))
        try Self.checkConvolutions(config, spec: spec)
        learner = try resume?.0 ?? Self.startingLearner(config, spec: spec)
        state = resume?.1 ?? TrainingState(rng: SeededGenerator(seed: UInt64(config.seed)))
        let lookahead = config.nStep * envs.count
        if let replay {
            buffer = ReplayBuffer(restoring: replay, lookahead: lookahead)
        } else {
            buffer = ReplayBuffer(capacity: config.bufferSize, observationSize: spec.observationSize,
                                  byteScale: spec.observationsAreBytes ? spec.observationScale : nil,
                                  frames: Self.framesPerObservation(spec.observationShape), lookahead: lookahead)
        }
        prioritized = config.prioritizedReplay
            ? PrioritizedSampler(capacity: config.bufferSize, alpha: config.priorityAlpha, epsilon: config.priorityEpsilon) : nil
        if let replay, let priorities = replay.priorities {
            prioritized?.restore(priorities: priorities, largest: replay.layout.maxPriority)
        } else if let replay {
            for slot in 0..<replay.layout.count { prioritized?.added(slot: slot) }
        }
        nsteps = Array(repeating: NStepAccumulator(n: config.nStep, gamma: config.gamma), count: envs.count)
        exploration = LinearSchedule(initial: config.explorationInitial, final: config.explorationFinal,
                                     fraction: config.explorationFraction, totalSteps: config.totalSteps)
        // A resumed run without its replay buffer waits to refill a little before learning again.
        learnStart = resume == nil || replay != nil ? config.learningStarts : state.step + min(config.learningStarts, config.batchSize)
        if let continuing {
            guard continuing.observations.count == envs.count, continuing.returns.count == envs.count, continuing.lengths.count == envs.count,
                  continuing.observations.allSatisfy({ $0.count == spec.observationSize }) else {
                let given = continuing.observations.count, values = continuing.observations.first?.count ?? 0
                throw RunError.invalidSetting("The episodes to go on with hold \(given) observation\(given == 1 ? "" : "s") of \(values) values, where this run steps \(envs.count) environment\(envs.count == 1 ? "" : "s") of \(spec.observationSize); start new episodes instead.")
            }
            observations = continuing.observations
            episodeReturns = continuing.returns
            episodeLengths = continuing.lengths
            // The episodes' last steps complete their n-step transitions here, as in one run (when
            // they fit this run: the same number of environments, fewer than n steps each).
            let pending = continuing.pendingSteps
            if pending.count == envs.count, pending.allSatisfy({ $0.count < config.nStep && $0.allSatisfy { $0.observation.count == spec.observationSize } }) {
                nsteps = pending.map { NStepAccumulator(n: config.nStep, gamma: config.gamma, pending: $0) }
            }
        } else {
            // Environment i starts from seed + i, as SB3's vector environments seed their copies.
            let seed = resume == nil ? config.seed : config.seed &+ state.episodes
            observations = try envs.indices.map { i in try envs[i].reset(seed: seed &+ i) }
            for (i, observation) in observations.enumerated() {
                try NonFinite.check(observation: observation, from: envs[i], episode: state.episodes + 1, stepInEpisode: 0)
            }
            episodeReturns = Array(repeating: 0, count: envs.count)
            episodeLengths = Array(repeating: 0, count: envs.count)
        }
    }

    /// A new run's learner: freshly initialised, or with `initial_model`'s weights in both
    /// networks (the same network checked: names, shapes, activation; a plain Q head).
    static func startingLearner(_ config: DQNConfig, spec: EnvironmentSpec) throws -> DQNLearner {
        let fresh = DQNLearner(observationShape: spec.observationShape, actionCount: spec.actionCount, config: config)
        guard let path = config.initialModel else { return fresh }
        guard !config.dueling else {
            throw SettingError(key: "initial_model", template: "{initial_model} starts a plain Q-network; a dueling one (with {dueling}) has other outputs, so drop one of them.")
        }
        let (network, _) = try ModelDirectory.load(from: URL(fileURLWithPath: path))
        let same = network.head == .q && network.activation == fresh.online.activation
            && network.parameterNames == fresh.online.parameterNames && network.parameters.map(\.shape) == fresh.online.parameters.map(\.shape)
        guard same else {
            throw SettingError(key: "initial_model", template: "{initial_model} \(path) holds a \(network.inputSize)→\(network.hiddenSizes)→\(network.outputSize) \(network.activation.rawValue) network with \(network.head.phrase), and these settings build \(fresh.online.inputSize)→\(fresh.online.hiddenSizes)→\(fresh.online.outputSize) \(fresh.online.activation.rawValue) Q-values; give a model of the same network (hidden sizes, activation, convolutions) for this environment.")
        }
        var online = fresh.online
        online.parameters = network.parameters
        return DQNLearner(online: online, target: online, optimizer: Adam(learningRate: config.learningRate),
                          actionCount: spec.actionCount, config: config)
    }

    /// Parts a replay buffer shares separately: the channel planes of a (C, H, W) image (frame
    /// stacks share all but their newest plane with the previous observation), else 1.
    public static func framesPerObservation(_ shape: [Int]) -> Int {
        shape.count == 3 && MLP.imageLooksChannelsFirst(shape) ? shape[0] : 1
    }

    /// Convolutions need (height, width, channels) observations their kernels fit.
    static func checkConvolutions(_ config: DQNConfig, spec: EnvironmentSpec) throws {
        try checkConvolutions(config.convolutions, spec: spec, batchSize: config.batchSize)
    }

    /// Convolutions `specs` need (height, width, channels) observations their kernels fit.
    public static func checkConvolutions(_ specs: [ConvSpec], spec: EnvironmentSpec, batchSize: Int = 32) throws {
        try checkConvolutions(specs, shape: spec.observationShape, name: spec.name, batchSize: batchSize)
    }

    /// As above, for observations of `shape` from `name`: (height, width, channels), or
    /// (channels, height, width) when its smallest axis comes first (see `MLP.imageLooksChannelsFirst`).
    /// Their parameters and a batch of `batchSize` activations (outputs and im2col columns, with
    /// gradients) must fit in the memory available.
    public static func checkConvolutions(_ specs: [ConvSpec], shape observed: [Int], name: String, batchSize: Int = 32) throws {
        guard !specs.isEmpty else { return }
        guard observed.count == 3 else {
            throw RunError.invalidSetting("--conv needs image or grid observations of shape (height, width, channels) or (channels, height, width), but \(name) observes shape \(observed); drop --conv to train an MLP.")
        }
        let shape = MLP.imageLooksChannelsFirst(observed) ? MLP.channelsLastShape(observed) : observed
        var (h, w, channels) = (shape[0], shape[1], shape[2])
        var perSample: Int? = 0, parameters: Int? = 0
        func add(_ total: Int?, _ factors: [Int]) -> Int? {
            guard let total, let more = MemoryCheck.bytes(factors) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(more)
            return overflow ? nil : sum
        }
        for (i, c) in specs.enumerated() {
            guard h + 2 * c.padding >= c.kernel && w + 2 * c.padding >= c.kernel else {
                throw RunError.invalidSetting("convolution \(i + 1) (\(c)) has a \(c.kernel)×\(c.kernel) kernel but its input is only \(h)×\(w); use smaller kernels, padding or fewer layers.")
            }
            h = (h + 2 * c.padding - c.kernel) / c.stride + 1
            w = (w + 2 * c.padding - c.kernel) / c.stride + 1
            perSample = add(add(perSample, [h, w, c.outputChannels]), [h, w, c.kernel, c.kernel, channels])
            parameters = add(parameters, [c.kernel, c.kernel, channels + 1, c.outputChannels])
            channels = c.outputChannels
        }
        // Weights six times over (online, target, gradient, two Adam moments, a copy); a batch's
        // outputs and columns twice (forward and backward), 4 bytes a value.
        let bytes = add(MemoryCheck.bytes([parameters ?? -1, 6 * 4]), [perSample ?? -1, batchSize, 2 * 4])
        try MemoryCheck.require(bytes, for: "the convolutions on \(shape[0])×\(shape[1])×\(shape[2]) observations",
                                key: "convolutions", value: specs.map(\.description).joined(separator: ","))
    }

    /// Refuses sizes (replay capacity, network width, action count) that cannot be allocated.
    static func checkMemory(_ config: DQNConfig, observationSize: Int, actionCount: Int, bytesPerValue: Int = 4, frames: Int = 1) throws {
        // Per slot: the observations, 16 bytes of action, reward and flags, and the cached target values and their epoch.
        let perSlot = ReplayBuffer.observationBytes(observationSize: observationSize, bytesPerValue: bytesPerValue, frames: frames) + 16 + 4 * (actionCount + 1)
        try MemoryCheck.require(MemoryCheck.bytes([config.bufferSize, perSlot]), for: "the replay buffer",
                                key: "buffer_size", value: config.bufferSize)
        let sizes = [observationSize] + config.hiddenSizes + [actionCount + 1]
        var parameters: Int? = 0
        for (a, b) in zip(sizes, sizes.dropFirst()) {
            parameters = parameters.flatMap { p in MemoryCheck.bytes([a + 1, b]).flatMap { p.addingReportingOverflow($0).overflow ? nil : p + $0 } }
        }
        // Online and target networks, gradients, two Adam moments, and a batch's activations.
        try MemoryCheck.require(parameters.flatMap { MemoryCheck.bytes([$0, 4 * 6]) }, for: "the networks (with \(actionCount) actions)",
                                key: "hidden_sizes", value: config.hiddenSizes.map(String.init).joined(separator: ","))
    }

    public var totalSteps: Int { config.totalSteps }
    public var schedule: RunSchedule {
        RunSchedule(evalInterval: config.evalInterval, evalEpisodes: config.evalEpisodes, evalSeed: config.evalSeed,
                    checkpointInterval: config.checkpointInterval)
    }
    public var policy: MLP { learner.policyNetwork }
    public var gradientSteps: Int { state.gradientSteps }
    /// The replay buffer (read-only), e.g. for a student learning beside this run.
    public var replay: ReplayBuffer { buffer }

    /// The configuration, with the observation layout when it is not a plain vector (so loaders
    /// reshape and scale observations as the environment adapter did).
    public func manifestConfig() -> [String: JSONValue] {
        JSONValue.object(encoding: config).merging(ObservationLayout.manifestEntries(env.spec)) { _, new in new }
    }
    public static let metricColumns = ["episode", "return", "length", "epsilon", "loss"]

    public var currentObservations: (values: [[Float]], spec: EnvironmentSpec)? { (observations, env.spec) }

    public var progressValues: [String: Double] {
        var values: [String: Double] = ["epsilon": Double(exploration.value(at: max(state.step - 1, 0))),
                                        "episodes": Double(state.episodes)]
        if !recentReturns.isEmpty { values["recent_mean_return"] = recentReturns.reduce(0, +) / Double(recentReturns.count) }
        if let lastLoss { values["loss"] = Double(lastLoss) }
        return values
    }

    /// One step of every environment, and the training it triggers, with SB3's DQN semantics
    /// for several environments: one ε draw decides for the whole step (then a random action per
    /// environment), a step counts as `environment_count` environment steps, a training round
    /// comes every `train_frequency` steps and a target update every `target_update_interval /
    /// environment_count` steps. With one environment this is the plain DQN step.
    public mutating func advance(compute: (() -> Void) -> Void, report: (RunEvent) -> Void) throws {
        let count = envs.count
        let epsilon = exploration.value(at: state.step)
        var actions = [Int](repeating: 0, count: count)
        if state.step < learnStart || state.rng.nextUnitFloat() < epsilon {
            for i in 0..<count { actions[i] = state.rng.int(below: env.spec.actionCount) }
        } else {
            for i in 0..<count { actions[i] = learner.greedyAction(observations[i]) }
        }
        // Environments in worker processes step at the same time.
        let steps = try count == 1 ? [env.step(actions[0])] : stepAll(envs, actions)
        for i in 0..<count {
            let s = steps[i]
            try NonFinite.check(s, from: envs[i], episode: state.episodes + 1, stepInEpisode: episodeLengths[i] + 1)
            episodeReturns[i] += s.reward
            episodeLengths[i] += 1
            let terminal = s.terminated || (s.truncated && config.timeLimitTerminal)
            for t in nsteps[i].push(observation: observations[i], action: actions[i], reward: Float(s.reward), nextObservation: s.observation,
                                    terminated: terminal, truncated: s.truncated) {
                let slot = buffer.add(t)
                prioritized?.added(slot: slot)
                if slot < cachedEpoch.count { cachedEpoch[slot] = -1 }
            }
        }
        state.step += count
        for (i, s) in steps.enumerated() {
            guard s.isDone else {
                observations[i] = s.observation
                continue
            }
            state.episodes += 1
            roundEpisodes += 1
            recentReturns.append(episodeReturns[i])
            if recentReturns.count > 100 { recentReturns.removeFirst() }
            var values: [String: Double] = ["epsilon": Double(epsilon)]
            if let lastLoss { values["loss"] = Double(lastLoss) }
            var record = EpisodeRecord(step: state.step, episode: state.episodes, episodeReturn: episodeReturns[i],
                                       length: episodeLengths[i], values: values)
            record.environment = i
            report(.episode(record))
            episodeReturns[i] = 0
            episodeLengths[i] = 0
            observations[i] = try envs[i].reset(seed: nil)
            try NonFinite.check(observation: observations[i], from: envs[i], episode: state.episodes + 1, stepInEpisode: 0)
        }
        let vectorSteps = state.step / count
        roundSteps += count
        // As SB3: a round is due every train_frequency steps, or finished episodes; it trains once
        // past learning_starts, with minibatches drawn with replacement from however many
        // transitions there are (rl-zoo's learning_starts 0 trains at once).
        let due = config.trainFrequencyUnit == .step ? vectorSteps % config.trainFrequency == 0 : roundEpisodes >= config.trainFrequency
        // -1 gradient steps: the round's environment steps (episodes vary in length).
        let gradientSteps = config.trainFrequencyUnit == .episode && config.gradientSteps < 0 ? roundSteps : config.resolvedGradientSteps
        if due { (roundSteps, roundEpisodes) = (0, 0) }
        if due && state.step > learnStart && buffer.count > 0 {
            if let schedule = learningRateSchedule {
                let rate = try schedule(state.step)
                // 0 is allowed: SB3's linear schedules end there.
                guard rate.isFinite, rate >= 0 else {
                    throw RunError.invalidSetting("The learning-rate schedule gave \(rate) at step \(state.step); it must give a number of at least 0.")
                }
                learner.optimizer.learningRate = rate
            }
            compute { trainRound(gradientSteps: gradientSteps) }
            state.adamSteps = learner.optimizer.stepCount
            if let lastLoss { try NonFinite.check(loss: lastLoss, update: state.gradientSteps, learningRate: config.learningRate) }
        }
        if vectorSteps % max(config.targetUpdateInterval / count, 1) == 0 {
            learner.updateTarget()
            targetEpoch &+= 1
        }
    }

    /// The (H, W, C) images a channels-first convolutional network reads: minibatches are gathered
    /// straight into that layout (nil: as rows, the observations' own layout).
    private var imageLayout: [Int]? { learner.online.channelsFirst ? learner.online.inputShape : nil }

    /// `gradientSteps` updates (the settings' by default) on minibatches from replay (prioritized or uniform).
    mutating func trainRound(gradientSteps: Int? = nil) {
        let steps = gradientSteps ?? config.resolvedGradientSteps
        guard prioritized != nil else { return trainUniformRound(gradientSteps: steps) }
        if round.draws.isEmpty { round.draws = [[]] }
        for _ in 0..<steps {
            let beta = config.priorityBetaInitial + (1 - config.priorityBetaInitial) * Float(state.step) / Float(config.totalSteps)
            prioritized!.sample(config.batchSize, count: buffer.count, beta: beta, rng: &state.rng, indices: &round.draws[0],
                                weights: &round.weights, scratch: &round.weightScratch)
            buffer.batch(round.draws[0], weights: round.weights, channelsLast: imageLayout, into: &round.batch)
            let (loss, td) = learner.update(round.batch)
            lastLoss = loss
            state.gradientSteps += 1
            guard loss.isFinite else { return }  // reported after the round; priorities stay finite
            prioritized!.update(indices: round.batch.indices, tdErrors: td)
        }
    }

    /// Uniform replay. The target network does not change within a round, so the round's
    /// minibatches are drawn first (the same draws, in the same order, as one at a time) and the
    /// target network values each next state not already in `targetCache` once, in large
    /// products, instead of one small product per step. Rows are independent in the kernels, so
    /// every value — and the run — is the same bits as step by step.
    mutating func trainUniformRound(gradientSteps: Int? = nil) {
        let steps = gradientSteps ?? config.resolvedGradientSteps
        if round.draws.count != steps { round.draws = [[Int]](repeating: [], count: steps) }
        for g in 0..<steps { buffer.sampleIndices(config.batchSize, rng: &state.rng, into: &round.draws[g]) }
        if cachedEpoch.count != buffer.capacity { cachedEpoch = [Int32](repeating: -1, count: buffer.capacity) }
        round.missing.removeAll(keepingCapacity: true)
        for g in 0..<steps {
            for slot in round.draws[g] where cachedEpoch[slot] != targetEpoch {
                cachedEpoch[slot] = targetEpoch
                round.missing.append(slot)
            }
        }
        if steps > 0 { buffer.prefetch(round.draws[0]) }  // arrives while the target network values the misses
        // At most about a million observation values per gather (memory stays bounded for images),
        // each cut into the slices `callAsFunction` would use (L2-sized products).
        let chunk = max(config.batchSize, (1 << 20) / max(1, buffer.observationSize))
        for start in stride(from: 0, to: round.missing.count, by: chunk) {
            let end = min(start + chunk, round.missing.count)
            let slice = learner.target.rowsPerSlice(end - start)
            for from in stride(from: start, to: end, by: slice) {
                let rows = from..<min(from + slice, end)
                buffer.nextObservations(round.missing, range: rows, channelsLast: imageLayout, into: &round.nextObservations,
                                        ids: &round.frameIDs)
                learner.targetQValues(round.nextObservations, cache: &round.targetForward, into: &round.targetQ)
                storeTargetValues(round.targetQ, slots: rows)
            }
        }
        let width = targetCache.count / max(1, buffer.capacity)
        for g in 0..<steps {
            buffer.batch(round.draws[g], nextObservations: config.doubleDQN, channelsLast: imageLayout, into: &round.batch)
            round.nextTargetValues.prepare(rows: round.draws[g].count, columns: width)
            round.nextTargetValues.setRows(from: targetCache, width: width, at: round.draws[g])
            if g + 1 < steps { prefetchReplay(round.draws[g + 1], width: width) }  // arrives during this update
            let (loss, _) = learner.update(round.batch, nextTargetValues: round.nextTargetValues)
            lastLoss = loss
            state.gradientSteps += 1
            guard loss.isFinite else { return }  // reported after the round
        }
    }

    /// Asks the cache for everything a minibatch of `slots` reads from replay and `targetCache`.
    private func prefetchReplay(_ slots: [Int], width: Int) {
        buffer.prefetch(slots)
        Kernels.prefetch(targetCache, width: width, rows: slots)
    }

    /// Copies the target network's values `q` of the next states of `round.missing[rows]` into
    /// `targetCache`, one row per slot.
    private mutating func storeTargetValues(_ q: Tensor, slots rows: Range<Int>) {
        let width = q.columnCount
        if targetCache.count != buffer.capacity * width { targetCache = [Float](repeating: 0, count: buffer.capacity * width) }
        q.scalars.withUnsafeBufferPointer { values in
            targetCache.withUnsafeMutableBufferPointer { cache in
                for (row, slot) in round.missing[rows].enumerated() {
                    for a in 0..<width { cache[slot * width + a] = values[row * width + a] }
                }
            }
        }
    }

    /// What a replay snapshot of these settings holds, checked before one is restored.
    public static func replayLayout(_ config: DQNConfig, spec: EnvironmentSpec) -> ReplaySnapshot.Layout {
        ReplaySnapshot.Layout(count: 0, position: 0, capacity: config.bufferSize, observationSize: spec.observationSize,
                              frames: ReplayBuffer.partsPerObservation(spec.observationSize, frames: framesPerObservation(spec.observationShape)),
                              byteScale: spec.observationsAreBytes ? spec.observationScale : nil, maxPriority: nil,
                              observationScale: spec.observationScale, oneHotStart: spec.oneHotStart, observationShape: spec.observationShape)
    }

    /// The replay buffer, when the settings keep it in checkpoints.
    public func checkpointFiles() -> [String: Data] {
        guard config.checkpointReplayBuffer else { return [:] }
        return buffer.snapshot(observationShape: env.spec.observationShape, observationScale: env.spec.observationScale,
                               oneHotStart: env.spec.oneHotStart, priorities: prioritized).files()
    }

    public func checkpointTensors() -> [String: Tensor] {
        let parameters = learner.online.parameters, names = learner.online.parameterNames
        return CheckpointTensors.parameters(parameters, names: names, as: "online")
            .merging(CheckpointTensors.parameters(learner.target.parameters, names: names, as: "target")) { a, _ in a }
            .merging(CheckpointTensors.adam(learner.optimizer.state, for: parameters, names: names, as: "adam")) { a, _ in a }
    }
}

/// How a training run ended.
public struct TrainingOutcome: Sendable {
    public var learner: DQNLearner
    public var state: TrainingState
    /// Where the environments' episodes stood when the run ended.
    public var episodesInProgress: DQNAlgorithm.EpisodesInProgress
    public var interrupted: Bool
    public var bestEvaluation: EvaluationResult?
    public var lastEvaluation: EvaluationResult?
}

/// DQN training in memory (nothing written): the run loop without a directory.
public struct DQNTrainer {
    public let config: DQNConfig

    public init(config: DQNConfig) { self.config = config }

    /// Trains on `env`, evaluating on `evalEnv` (a separate instance with its own seeds).
    public func train(env: any Environment, evalEnv: (any Environment)?, hooks: RunHooks = RunHooks(),
                      resume: (DQNLearner, TrainingState)? = nil) throws -> TrainingOutcome {
        try train(envs: [env], evalEnv: evalEnv, hooks: hooks, resume: resume)
    }

    /// As above on `config.environmentCount` environments stepped together.
    public func train(envs: [any Environment], evalEnv: (any Environment)?, hooks: RunHooks = RunHooks(),
                      resume: (DQNLearner, TrainingState)? = nil) throws -> TrainingOutcome {
        try config.validate()
        var algorithm = try DQNAlgorithm(config: config, envs: envs, resume: resume)
        let env = envs[0]
        let result = try RunLoop(directory: nil, environment: EnvironmentRecipe(name: env.spec.name), hooks: hooks).run(&algorithm, evalEnv: evalEnv)
        return TrainingOutcome(algorithm, result)
    }
}

extension TrainingOutcome {
    init(_ algorithm: DQNAlgorithm, _ result: RunResult) {
        self.init(learner: algorithm.learner, state: algorithm.state, episodesInProgress: algorithm.episodesInProgress,
                  interrupted: result.interrupted,
                  bestEvaluation: result.bestEvaluation, lastEvaluation: result.lastEvaluation)
    }
}
