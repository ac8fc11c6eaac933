import DQN
import NN
import Runs
import Tensor

/// One distillation gradient step's loss values, by metric name (`kl`, `q_mse`, …).
public typealias LossParts = [String: Float]

/// Throws a plain sentence when a loss value is not finite (checked in name order).
func checkFiniteLosses(_ losses: LossParts, gradientSteps: Int, learningRate: Float) throws {
    for (_, value) in losses.sorted(by: { $0.key < $1.key }) {
        try NonFinite.check(loss: value, update: gradientSteps, learningRate: learningRate)
    }
}

/// A distillation's progress figures: labels, the teacher's share of acting, and the losses.
func distillationProgress(labels: Int, teacherShare: Float, losses: LossParts) -> [String: Double] {
    var values: [String: Double] = ["labels": Double(labels), "teacher_share": Double(teacherShare)]
    for (k, v) in losses { values[k] = Double(v) }
    return values
}

/// The weighted loss terms of one student network: they turn a labelled batch into the
/// network's gradient (L = Σ wᵢ·Lᵢ in `LossKind` order, one backward pass).
struct LossTerms: Sendable {
    private var terms: [(loss: any DistillationLoss, weight: Float)]
    /// The teacher's hidden layers stored with each label (see `DistillConfig.storedTeacherLayers`).
    let storedLayers: [[Int]]

    init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) {
        terms = config.losses.map { (DistillationLosses.make($0.kind, config: config, student: student, teacher: teacher), $0.weight) }
        storedLayers = config.storedTeacherLayers(teacher)
    }

    /// The gradient of `network` on `batch` (teacher Q-values `teacherQ`, stored hidden
    /// activations `teacherHidden`); each term's value goes into `parts`. The distillation terms
    /// (all but the task loss) are weighted by `distillationScale` as well.
    mutating func gradients(_ network: MLP, batch: TransitionBatch, teacherQ: Tensor, teacherHidden: Tensor?,
                            teacher: TeacherEnsemble, distillationScale: Float, parts: inout LossParts) -> MLP.Gradients {
        var cache = MLP.Cache(), grads = MLP.Gradients()
        var noQuantizer: FakeQuantizer? = nil
        gradients(network, batch: batch, teacherQ: teacherQ, teacherHidden: teacherHidden, teacher: teacher,
                  distillationScale: distillationScale, parts: &parts, cache: &cache, into: &grads, quantizer: &noQuantizer)
        return grads
    }

    /// `gradients` with the forward pass in `cache` and the result in `grads`, both reused from
    /// update to update (their storage is written in place once the previous update let go).
    mutating func gradients(_ network: MLP, batch: TransitionBatch, teacherQ: Tensor, teacherHidden: Tensor?,
                            teacher: TeacherEnsemble, distillationScale: Float, parts: inout LossParts,
                            cache: inout MLP.Cache, into grads: inout MLP.Gradients, quantizer: inout FakeQuantizer?) {
        if quantizer != nil {
            quantizer!.forward(network, batch.observations, into: &cache)
        } else {
            network.forward(batch.observations, into: &cache)
        }
        var context = LossContext(batch: batch, studentNetwork: network, student: cache, teacherQ: teacherQ, teachers: teacher.networks,
                                  storedTeacherHidden: teacherHidden, storedLayers: storedLayers)
        for i in terms.indices {
            let scale: Float = terms[i].loss.kind == .task ? 1 : distillationScale
            parts[terms[i].loss.kind.metricName] = terms[i].loss.apply(weight: terms[i].weight * scale, to: &context)
        }
        network.backward(context.student, outputGradient: context.outputGradient, hiddenGradients: context.hiddenGradients, into: &grads)
        cache = context.student
    }

    /// dL/d(observations) of the distillation terms (the task loss left out) at `batch`: the
    /// direction adversarial states move in.
    mutating func inputGradient(_ network: MLP, batch: TransitionBatch, teacherQ: Tensor, teacherHidden: Tensor?,
                                teacher: TeacherEnsemble) -> Tensor {
        let cache = network.forward(batch.observations)
        var context = LossContext(batch: batch, studentNetwork: network, student: cache, teacherQ: teacherQ, teachers: teacher.networks,
                                  storedTeacherHidden: teacherHidden, storedLayers: storedLayers)
        for i in terms.indices where terms[i].loss.kind != .task {
            _ = terms[i].loss.apply(weight: terms[i].weight, to: &context)
        }
        let grads = network.backward(context.student, outputGradient: context.outputGradient, hiddenGradients: context.hiddenGradients,
                                     needInputGradient: true)
        return grads.input ?? Tensor(shape: batch.observations.shape, scalars: [Float](repeating: 0, count: batch.observations.count))
    }

    /// Tells every term the network changed (e.g. to refresh the task loss's target network).
    mutating func studentUpdated(_ network: MLP, gradientSteps: Int) {
        for i in terms.indices { terms[i].loss.studentUpdated(network, gradientSteps: gradientSteps) }
    }

    /// Each term's state, under `loss.NAME.` (e.g. `loss.task.target.0`).
    var checkpointTensors: [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for term in terms {
            for (name, t) in term.loss.checkpointTensors { tensors["loss.\(term.loss.kind.metricName).\(name)"] = t }
        }
        return tensors
    }

    mutating func restore(from checkpoint: CheckpointReader, gradientSteps: Int) throws {
        for i in terms.indices {
            try terms[i].loss.restore(from: checkpoint.prefixed("loss.\(terms[i].loss.kind.metricName)"), gradientSteps: gradientSteps)
        }
    }
}

/// The student, its optimiser and its losses. `update` applies L = Σ wᵢ·Lᵢ over the configured
/// terms (in `LossKind` order) with one backward pass and one clipped Adam step.
public struct StudentLearner: Sendable {
    public private(set) var student: MLP
    public private(set) var gradientSteps = 0
    private var optimizer: Adam
    private var terms: LossTerms
    /// The forward pass and gradients of an update, kept so the next reuses their storage.
    private var cache = MLP.Cache(), gradients = MLP.Gradients()
    /// Pruning: per dense layer, 1 where a weight survives and 0 where it was pruned (empty: dense),
    /// and for structured pruning the same for the biases.
    private var masks: [[Float]] = [], biasMasks: [[Float]] = []
    /// Quantisation-aware distillation (`quantize int8`): the int8 forward pass's running ranges.
    private var quantizer: FakeQuantizer?
    public let config: DistillConfig

    public init(student: MLP, teacher: TeacherEnsemble, config: DistillConfig) {
        self.student = student
        self.config = config
        optimizer = Adam(learningRate: config.learningRate)
        terms = LossTerms(config: config, student: student, teacher: teacher)
        quantizer = config.quantize == .int8 ? FakeQuantizer() : nil
    }

    /// The learner of a resumed distillation: the student, its Adam and each loss's state as a
    /// checkpoint saved them (`checkpointTensors`) after `gradientSteps` updates; `student` is
    /// a freshly built network of the run's shape.
    public init(restoring checkpoint: CheckpointReader, gradientSteps: Int, student fresh: MLP, teacher: TeacherEnsemble,
                config: DistillConfig) throws {
        self.init(student: fresh, teacher: teacher, config: config)
        let templates = fresh.parameters, names = fresh.parameterNames
        student.parameters = try checkpoint.parameters("student", names: names, like: templates)
        optimizer = try checkpoint.adam("adam", names: names, like: templates, stepCount: gradientSteps, learningRate: config.learningRate)
        self.gradientSteps = gradientSteps
        try terms.restore(from: checkpoint, gradientSteps: gradientSteps)
        // A quantisation-aware run continues with its running ranges.
        if quantizer != nil, let ranges = try? checkpoint.tensors(["quantizer.ranges"], like: [Tensor(shape: [fresh.convolutions.count + fresh.layers.count])])[0] {
            quantizer = FakeQuantizer(ranges: ranges.scalars)  // none saved before the first update: it starts afresh
        }
        // A pruned student's masks are its zero weights (a surviving weight is never exactly 0).
        if config.prune > 0 {
            masks = student.layers.map { layer in layer.weight.scalars.map { $0 == 0 ? 0 : 1 } }
            // A removed unit: its bias is zero and so is every incoming weight.
            biasMasks = student.layers.indices.map { k in
                let layer = student.layers[k]
                return (0..<layer.outputSize).map { j in
                    let dead = config.pruneUnits && k < student.layers.count - 1 && layer.bias.scalars[j] == 0
                        && (0..<layer.inputSize).allSatisfy { layer.weight.scalars[$0 * layer.outputSize + j] == 0 }
                    return dead ? 0 : 1
                }
            }
        }
    }

    /// The share of the dense weights that are pruned (exactly zero and held there).
    public var sparsity: Float {
        let total = masks.reduce(0) { $0 + $1.count }
        guard total > 0 else { return 0 }
        return Float(masks.reduce(0) { $0 + $1.filter { $0 == 0 }.count }) / Float(total)
    }

    /// Prunes each dense layer's weights to at least `share` zeros: the smallest |weight|s (the
    /// earlier index first among equals) join those already pruned, which stay pruned.
    public mutating func prune(to share: Float) {
        guard share > 0 else { return }
        if masks.isEmpty {
            masks = student.layers.map { [Float](repeating: 1, count: $0.weight.count) }
            biasMasks = student.layers.map { [Float](repeating: 1, count: $0.outputSize) }
        }
        if config.pruneUnits {
            pruneUnits(to: share)
            applyMasks()
            return
        }
        if config.pruneScope == .global {
            pruneGlobally(to: share)
            applyMasks()
            return
        }
        for k in student.layers.indices {
            let weights = student.layers[k].weight.scalars
            let target = Int((share * Float(weights.count)).rounded(.down))
            let pruned = masks[k].filter { $0 == 0 }.count
            guard target > pruned else { continue }
            let order = weights.indices.filter { masks[k][$0] == 1 }.sorted { (abs(weights[$0]), $0) < (abs(weights[$1]), $1) }
            for i in order.prefix(target - pruned) { masks[k][i] = 0 }
        }
        applyMasks()
    }

    /// Global pruning by LAMP score (Lee et al. 2021): a weight's square over the sum of squares
    /// of its layer's surviving weights at least as large. The lowest scores over all dense
    /// layers (the earlier layer, then index, first among equals) join those already pruned
    /// until `share` of all weights are zero. Plain magnitudes would rank a layer of small
    /// weights away whole — a KL student's head, whose Q-values need only their order, lost
    /// every weight on Acrobot; LAMP keeps each layer's largest weight last.
    private mutating func pruneGlobally(to share: Float) {
        let total = masks.reduce(0) { $0 + $1.count }
        let target = Int((share * Float(total)).rounded(.down))
        let pruned = masks.reduce(0) { $0 + $1.filter { $0 == 0 }.count }
        guard target > pruned else { return }
        var live: [(score: Double, layer: Int, index: Int)] = []
        for k in student.layers.indices {
            let weights = student.layers[k].weight.scalars
            let order = weights.indices.filter { masks[k][$0] == 1 }.sorted { (abs(weights[$0]), $0) > (abs(weights[$1]), $1) }
            var larger = 0.0  // the sum of squares of this weight and every larger surviving one
            for i in order {
                let square = Double(weights[i]) * Double(weights[i])
                larger += square
                live.append((larger > 0 ? square / larger : 0, k, i))
            }
        }
        live.sort { ($0.score, $0.layer, $0.index) < ($1.score, $1.layer, $1.index) }
        for w in live.prefix(target - pruned) { masks[w.layer][w.index] = 0 }
    }

    /// Structured pruning: each hidden layer keeps its units of largest norm (incoming weights,
    /// bias and outgoing weights together; the earlier unit first among equals), removing whole
    /// units until `share` of them are gone; removed units stay removed.
    private mutating func pruneUnits(to share: Float) {
        for k in 0..<(student.layers.count - 1) {
            let layer = student.layers[k], next = student.layers[k + 1]
            let width = layer.outputSize
            let target = Int((share * Float(width)).rounded(.down))
            let live = (0..<width).filter { biasMasks[k][$0] == 1 }
            guard target > width - live.count else { continue }
            func norm(_ j: Int) -> Float {
                var total = layer.bias.scalars[j] * layer.bias.scalars[j]
                for i in 0..<layer.inputSize { let w = layer.weight.scalars[i * width + j]; total += w * w }
                for o in 0..<next.outputSize { let w = next.weight.scalars[j * next.outputSize + o]; total += w * w }
                return total
            }
            let order = live.map { ($0, norm($0)) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
            for j in order.prefix(target - (width - live.count)) {
                biasMasks[k][j] = 0
                for i in 0..<layer.inputSize { masks[k][i * width + j] = 0 }
                for o in 0..<next.outputSize { masks[k + 1][j * next.outputSize + o] = 0 }
            }
        }
    }

    /// Holds pruned weights (and removed units' biases) at exactly zero (after every optimiser step).
    private mutating func applyMasks() {
        guard !masks.isEmpty else { return }
        for k in student.layers.indices {
            masks[k].withUnsafeBufferPointer { mask in
                student.layers[k].weight.scalars.withUnsafeMutableBufferPointer { w in
                    for i in w.indices where mask[i] == 0 { w[i] = 0 }
                }
            }
            if k < biasMasks.count {
                biasMasks[k].withUnsafeBufferPointer { mask in
                    student.layers[k].bias.scalars.withUnsafeMutableBufferPointer { b in
                        for j in b.indices where mask[j] == 0 { b[j] = 0 }
                    }
                }
            }
        }
    }

    /// Hidden units removed whole by structured pruning, per hidden layer.
    public var removedUnits: [Int] {
        guard config.pruneUnits, !biasMasks.isEmpty else { return [] }
        return biasMasks.dropLast().map { $0.filter { $0 == 0 }.count }
    }

    /// What a checkpoint keeps to resume: the student (`student.layers.0.weight`, …), its Adam's
    /// moments (`adam.m.layers.0.weight`, …) and each loss's state (`loss.NAME.…`).
    public var checkpointTensors: [String: Tensor] {
        let parameters = student.parameters, names = student.parameterNames
        var tensors = CheckpointTensors.parameters(parameters, names: names, as: "student")
            .merging(CheckpointTensors.adam(optimizer.state, for: parameters, names: names, as: "adam")) { a, _ in a }
            .merging(terms.checkpointTensors) { a, _ in a }
        if let quantizer, quantizer.ranges.count == student.convolutions.count + student.layers.count {
            tensors["quantizer.ranges"] = Tensor(shape: [quantizer.ranges.count], scalars: quantizer.ranges)
        }
        return tensors
    }

    /// Quantisation-aware distillation: the running range of each layer input (convolutions'
    /// first) that the student trained on; `distill quantize` uses them as its int8 scales.
    public var quantizerRanges: [Float]? {
        guard let quantizer, quantizer.ranges.count == student.convolutions.count + student.layers.count else { return nil }
        return quantizer.ranges
    }

    /// The teacher's hidden layers each label stores.
    public var storedLayers: [[Int]] { terms.storedLayers }

    /// One gradient step on `batch`, whose teacher Q-values are `teacherQ` (and hidden activations
    /// `teacherHidden`, as `TeacherEnsemble.label` lays them out, when stored); the distillation
    /// terms (all but the task loss) are weighted by `distillationScale` as well.
    public mutating func update(_ batch: TransitionBatch, teacherQ: Tensor, teacherHidden: Tensor? = nil,
                                teacher: TeacherEnsemble, distillationScale: Float = 1) -> LossParts {
        var parts: LossParts = [:]
        // Robust distillation: the student sees noised or adversarial states; noised ones keep
        // the clean state's labels, adversarial ones are labelled by the teacher where they are.
        var batch = batch, teacherQ = teacherQ
        if config.stateNoise > 0 || config.adversarialEpsilon > 0 {
            let spread = RobustStates.spread(batch.observations)
            var rng = RobustStates.generator(seed: config.seed, step: gradientSteps)
            var x = batch.observations
            if config.stateNoise > 0 { x = RobustStates.noised(x, spread: spread, level: config.stateNoise, rng: &rng) }
            if config.adversarialEpsilon > 0 {
                var probe = batch
                x = RobustStates.adversarial(x, spread: spread, epsilon: config.adversarialEpsilon, steps: config.adversarialSteps) { z in
                    probe.observations = z
                    return terms.inputGradient(student, batch: probe, teacherQ: teacherQ, teacherHidden: teacherHidden, teacher: teacher)
                }
                teacherQ = teacher.qValues(x)
            }
            batch.observations = x
        }
        // Quantisation-aware: the losses see the int8-rounded student; its gradient updates the float weights.
        let forwardNetwork = quantizer == nil ? student : FakeQuantizer.quantizedWeights(student)
        terms.gradients(forwardNetwork, batch: batch, teacherQ: teacherQ, teacherHidden: teacherHidden, teacher: teacher,
                        distillationScale: distillationScale, parts: &parts, cache: &cache, into: &gradients, quantizer: &quantizer)
        cache.releaseInput()  // the caller's batch, uniquely held again for its next gather
        clipByGlobalNorm(&gradients.parameters, maxNorm: config.maxGradNorm)
        optimizer.step(&student, gradients: gradients)
        applyMasks()
        gradientSteps += 1
        terms.studentUpdated(student, gradientSteps: gradientSteps)
        return parts
    }
}

/// A multi-task student's learner: each task's terms give its network's gradient on its own
/// batch (labelled by its own teacher); the mean over tasks updates the shared network in one
/// clipped Adam step, so a task's input layer and head learn only from that task.
public struct MultiTaskLearner: Sendable {
    public private(set) var student: MultiTaskNetwork
    public private(set) var gradientSteps = 0
    private var optimizer: Adam
    private var terms: [LossTerms]
    public let config: DistillConfig

    public init(student: MultiTaskNetwork, teachers: [TeacherEnsemble], config: DistillConfig) {
        self.student = student
        self.config = config
        optimizer = Adam(learningRate: config.learningRate)
        terms = teachers.indices.map { LossTerms(config: config, student: student.network(task: $0), teacher: teachers[$0]) }
    }

    /// The learner of a resumed multi-task distillation (see `StudentLearner.init(restoring:…)`);
    /// task k's loss state is read under `task.K.`.
    public init(restoring checkpoint: CheckpointReader, gradientSteps: Int, student fresh: MultiTaskNetwork,
                teachers: [TeacherEnsemble], config: DistillConfig) throws {
        self.init(student: fresh, teachers: teachers, config: config)
        let templates = fresh.parameters
        let saved = try checkpoint.tensors(fresh.parameterNames, like: templates)
        student.withParameters { $0 = saved }
        optimizer = try checkpoint.adam("adam", names: fresh.parameterNames, like: templates, stepCount: gradientSteps,
                                        learningRate: config.learningRate)
        self.gradientSteps = gradientSteps
        for k in terms.indices { try terms[k].restore(from: checkpoint.prefixed("task.\(k)"), gradientSteps: gradientSteps) }
    }

    /// What a checkpoint keeps to resume: the student's parameters by name (`trunk.0.weight`, …),
    /// its Adam's moments (`adam.m.trunk.0.weight`, …) and each task's loss state (`task.K.loss.NAME.…`).
    public var checkpointTensors: [String: Tensor] {
        let parameters = student.parameters
        var tensors = Dictionary(uniqueKeysWithValues: zip(student.parameterNames, parameters))
        tensors.merge(CheckpointTensors.adam(optimizer.state, for: parameters, names: student.parameterNames, as: "adam")) { a, _ in a }
        for k in terms.indices {
            for (name, t) in terms[k].checkpointTensors { tensors["task.\(k).\(name)"] = t }
        }
        return tensors
    }

    /// Task k's teacher's hidden layers each of its labels stores.
    public func storedLayers(task k: Int) -> [[Int]] { terms[k].storedLayers }

    /// One gradient step over one batch per task (`batches[k]`: transitions, teacher Q-values,
    /// stored hidden activations). Loss values are averaged over tasks.
    public mutating func update(_ batches: [(TransitionBatch, Tensor, Tensor?)], teachers: [TeacherEnsemble],
                                distillationScale: Float = 1) -> LossParts {
        var parts: LossParts = [:]
        var perTask: [[Tensor]] = []
        for k in batches.indices {
            var taskParts: LossParts = [:]
            let (batch, q, hidden) = batches[k]
            perTask.append(terms[k].gradients(student.network(task: k), batch: batch, teacherQ: q, teacherHidden: hidden,
                                              teacher: teachers[k], distillationScale: distillationScale, parts: &taskParts).parameters)
            for (name, value) in taskParts { parts[name, default: 0] += value / Float(batches.count) }
        }
        var grads = student.combine(perTask, scale: 1 / Float(batches.count))
        clipByGlobalNorm(&grads, maxNorm: config.maxGradNorm)
        student.withParameters { optimizer.step(&$0, gradients: grads) }
        gradientSteps += 1
        for k in terms.indices { terms[k].studentUpdated(student.network(task: k), gradientSteps: gradientSteps) }
        return parts
    }
}
