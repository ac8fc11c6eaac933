import DQN
import NN
import Runs
import Tensor

/// One term of the distillation objective L = Σ wᵢ·Lᵢ. Each loss lives in its own file and is
/// registered once in `DistillationLosses.make`; the student learner sums the terms in
/// `LossKind` order and runs one backward pass.
public protocol DistillationLoss: Sendable {
    /// The term this loss implements.
    var kind: LossKind { get }
    /// Adds `weight` × this loss's gradient to `context` and returns the (unweighted) loss value.
    mutating func apply(weight: Float, to context: inout LossContext) -> Float
    /// Called after each student update (e.g. to refresh a target network).
    mutating func studentUpdated(_ student: MLP, gradientSteps: Int)
    /// What a checkpoint must keep of this loss (a target network, learned projections and their
    /// optimisers), by name; empty for a loss without state.
    var checkpointTensors: [String: Tensor] { get }
    /// Takes back the state `checkpointTensors` saved (under this loss's names), after
    /// `gradientSteps` student updates.
    mutating func restore(from checkpoint: CheckpointReader, gradientSteps: Int) throws
}

extension DistillationLoss {
    public mutating func studentUpdated(_ student: MLP, gradientSteps: Int) {}
    public var checkpointTensors: [String: Tensor] { [:] }
    public mutating func restore(from checkpoint: CheckpointReader, gradientSteps: Int) throws {}
}

/// What the losses of one gradient step share: the batch, the student's forward pass, the
/// teacher's labels, and the gradients they accumulate.
public struct LossContext {
    public let batch: TransitionBatch
    /// The student network (before this step's update) and its forward pass over the batch.
    public let studentNetwork: MLP
    public let student: MLP.Cache
    /// The teacher's (ensemble-averaged) Q-values for the batch, stored when it was labelled.
    public let teacherQ: Tensor
    /// dL/d(student Q-values), summed over the terms.
    public var outputGradient: Tensor
    /// dL/d(student hidden layer i), for losses on intermediate layers.
    public var hiddenGradients: [Int: Tensor] = [:]
    private let teacherNetworks: [MLP]
    private var teacherCaches: [MLP.Cache?]

    /// A context for one teacher network.
    public init(batch: TransitionBatch, studentNetwork: MLP, teacherQ: Tensor, teacher: MLP) {
        self.init(batch: batch, studentNetwork: studentNetwork, teacherQ: teacherQ, teachers: [teacher])
    }

    /// A context for an ensemble: intermediate-layer losses see every teacher's layers, read from
    /// `storedTeacherHidden` (every member's hidden layers side by side, as
    /// `TeacherEnsemble.label` writes them) when given, else computed by a teacher forward pass.
    public init(batch: TransitionBatch, studentNetwork: MLP, teacherQ: Tensor, teachers: [MLP],
                storedTeacherHidden: Tensor? = nil, storedLayers: [[Int]]? = nil) {
        self.init(batch: batch, studentNetwork: studentNetwork, student: studentNetwork.forward(batch.observations), teacherQ: teacherQ,
                  teachers: teachers, storedTeacherHidden: storedTeacherHidden, storedLayers: storedLayers)
    }

    /// A context over a forward pass already made (`student`: `studentNetwork`'s over the batch,
    /// e.g. into a cache the learner reuses).
    init(batch: TransitionBatch, studentNetwork: MLP, student: MLP.Cache, teacherQ: Tensor, teachers: [MLP],
         storedTeacherHidden: Tensor?, storedLayers: [[Int]]?) {
        self.batch = batch
        self.studentNetwork = studentNetwork
        self.student = student
        self.teacherQ = teacherQ
        self.teacherNetworks = teachers
        self.teacherCaches = Array(repeating: nil, count: teachers.count)
        self.storedTeacherHidden = storedTeacherHidden
        self.storedLayers = storedLayers ?? teachers.map { Array($0.hiddenSizes.indices) }
        outputGradient = Tensor(shape: self.student.output.shape)
    }

    private let storedTeacherHidden: Tensor?
    /// Which hidden layers of each teacher `storedTeacherHidden` holds, in order.
    private let storedLayers: [[Int]]

    /// The student's Q-values for the batch.
    public var q: Tensor { student.output }

    /// Teacher `teacher`'s hidden layer `layer` for the batch; one forward per teacher serves every loss.
    public mutating func teacherHidden(_ layer: Int, teacher: Int = 0) -> Tensor {
        if let stored = storedTeacherHidden, storedLayers[teacher].contains(layer) {
            var offset = 0
            for k in 0..<teacher { offset += storedLayers[k].reduce(0) { $0 + teacherNetworks[k].hiddenSizes[$1] } }
            offset += storedLayers[teacher].prefix { $0 < layer }.reduce(0) { $0 + teacherNetworks[teacher].hiddenSizes[$1] }
            let width = teacherNetworks[teacher].hiddenSizes[layer], rows = stored.rowCount, all = stored.columnCount
            if width == all { return stored }  // the only layer stored (e.g. the relational loss's last)
            var out = [Float]()
            out.reserveCapacity(rows * width)
            for r in 0..<rows { out.append(contentsOf: stored.scalars[(r * all + offset)..<(r * all + offset + width)]) }
            return Tensor(shape: [rows, width], scalars: out)
        }
        if teacherCaches[teacher] == nil { teacherCaches[teacher] = teacherNetworks[teacher].forward(batch.observations) }
        return teacherCaches[teacher]!.hidden(layer)
    }

    /// How many teacher networks there are (an ensemble's members).
    public var teacherCount: Int { teacherNetworks.count }

    /// How many hidden layers teacher `teacher` has.
    public func teacherHiddenLayerCount(_ teacher: Int = 0) -> Int { teacherNetworks[teacher].hiddenSizes.count }

    /// Adds a gradient for the student's hidden layer `layer`.
    public mutating func addHiddenGradient(_ gradient: Tensor, layer: Int) {
        hiddenGradients[layer, default: Tensor(shape: gradient.shape)] += gradient
    }
}

/// A loss the registry builds: its kind, the teacher heads it serves, and how it is made.
/// Each loss says in its own file what it compares for each head it serves.
public protocol RegisteredLoss: DistillationLoss {
    static var registeredKind: LossKind { get }
    /// What the loss compares for a teacher with `head` ("the means before the clip"; "" when
    /// there is nothing to add), or nil when it does not serve that head.
    static func serves(_ head: OutputHead) -> String?
    init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble)
}

extension RegisteredLoss {
    public var kind: LossKind { Self.registeredKind }
}

/// The registry: one line per loss. Several may share a kind and serve different heads (`kl`
/// is the softmax policies' KL for Q-values and logits, the Gaussians' for a Gaussian head).
public enum DistillationLosses {
    public static let registered: [any RegisteredLoss.Type] = [
        QValueMSELoss.self,
        PolicyKLLoss.self,
        GaussianKLLoss.self,
        TeacherActionCrossEntropyLoss.self,
        ActionMSELoss.self,
        TaskLoss.self,
        FeatureLoss.self,
        RelationalLoss.self,
        LayerFlowLoss.self,
    ]

    /// The registered loss of `kind` serving `head`, or nil when none does.
    public static func type(_ kind: LossKind, for head: OutputHead) -> (any RegisteredLoss.Type)? {
        registered.first { $0.registeredKind == kind && $0.serves(head) != nil }
    }

    /// The loss object for `kind`, set up for this student and teacher (one serving the teacher's
    /// head; distillation refuses a kind no loss serves before it gets here).
    public static func make(_ kind: LossKind, config: DistillConfig, student: MLP, teacher: TeacherEnsemble) -> any DistillationLoss {
        let type = Self.type(kind, for: teacher.head) ?? registered.first { $0.registeredKind == kind }!
        return type.init(config: config, student: student, teacher: teacher)
    }

    /// The output-layer losses that serve `head`, as a sentence lists them:
    /// "q-mse (the outputs), kl (…) or ce (…)".
    public static func outputLosses(for head: OutputHead) -> String {
        let items = LossKind.allCases.filter(\.isOutputLayer).compactMap { kind -> String? in
            guard let type = type(kind, for: head), let what = type.serves(head) else { return nil }
            return what.isEmpty ? kind.rawValue : "\(kind.rawValue) (\(what))"
        }
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " or " + items.last!
    }
}
