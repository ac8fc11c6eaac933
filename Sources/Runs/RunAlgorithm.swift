import Checkpoint
import NN
import Settings
import Tensor

/// Where a run is; saved in checkpoints. Each algorithm's state carries these three fields
/// (the run loop maintains them) beside its own (random state, counters).
public protocol RunState: Codable, Sendable {
    var step: Int { get set }
    var bestMeanReturn: Double? { get set }
    /// Seconds over every session of the run.
    var elapsedSeconds: Double { get set }
}

/// When a run evaluates and checkpoints, in steps.
public struct RunSchedule: Sendable {
    /// Steps between evaluations that keep the best policy (0: only at the end, if an evaluation
    /// environment is given).
    public var evalInterval: Int
    public var evalEpisodes: Int
    /// Seed of the first evaluation episode; episode i uses evalSeed + i.
    public var evalSeed: Int
    /// Steps between checkpoints in last/ (0: only at the end and when stopped).
    public var checkpointInterval: Int

    public init(evalInterval: Int, evalEpisodes: Int, evalSeed: Int, checkpointInterval: Int) {
        self.evalInterval = evalInterval
        self.evalEpisodes = evalEpisodes
        self.evalSeed = evalSeed
        self.checkpointInterval = checkpointInterval
    }
}

/// What an algorithm supplies to the shared run loop (`RunLoop`): a step, its state, and its
/// policy. The loop does everything around it — evaluation, keep-best saves, metrics,
/// checkpoints, events and stop requests — once for every algorithm (as SB3's BaseAlgorithm).
public protocol RunAlgorithm {
    associatedtype Config: Configurable
    associatedtype State: RunState

    var config: Config { get }
    var state: State { get set }
    var totalSteps: Int { get }
    var schedule: RunSchedule { get }
    /// The network evaluated and saved as the run's model (a plain Q-network).
    var policy: MLP { get }
    var gradientSteps: Int { get }
    /// Figures for progress events (`epsilon`, `loss`, `labels`, …).
    var progressValues: [String: Double] { get }
    /// The algorithm's own metrics.csv columns, between `step,kind` and the evaluation columns.
    static var metricColumns: [String] { get }
    /// The `kind` of a metrics row written at each progress event, or nil for none.
    static var progressRowKind: String? { get }

    /// One step (an environment step, or one labelled state, and the learning it triggers).
    /// `compute` wraps pure computation; `report` takes episode events.
    mutating func advance(compute: (() -> Void) -> Void, report: (RunEvent) -> Void) throws
    /// Work after the last step (e.g. distillation's final updates).
    mutating func finish(compute: (() -> Void) -> Void) throws
    /// Tensors a checkpoint needs besides the policy (networks, optimiser moments), by name.
    func checkpointTensors() -> [String: Tensor]
    /// The `config` object written into model manifests.
    func manifestConfig() -> [String: JSONValue]
}

extension RunAlgorithm {
    public mutating func finish(compute: (() -> Void) -> Void) throws {}
    public func manifestConfig() -> [String: JSONValue] { JSONValue.object(encoding: config) }
    public static var progressRowKind: String? { nil }
}
