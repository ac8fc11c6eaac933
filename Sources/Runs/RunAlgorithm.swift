import Checkpoint
import Foundation
import Environments
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
    /// The command that resumes a run of this kind (`distill train`, …), for messages.
    static var resumeCommand: String { get }
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
    /// The environments' current observations and their spec, for an algorithm that steps
    /// environments (nil otherwise).
    var currentObservations: (values: [[Float]], spec: EnvironmentSpec)? { get }
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
    /// Files a checkpoint keeps besides its tensors (a replay buffer), by name.
    func checkpointFiles() -> [String: Data]
    /// The `config` object written into model manifests.
    func manifestConfig() -> [String: JSONValue]

    /// Evaluates the current policy and returns the result the run keeps its best model by
    /// (default: `policy` greedily on `env`; a multi-task student scores every task).
    mutating func evaluate(on env: any Environment) throws -> EvaluationResult
    /// Figures of the last evaluation beyond the result (per-task returns), for metrics.csv.
    var evaluationValues: [String: Double] { get }
    /// metrics.csv columns for `evaluationValues`, fixed at the start of a run.
    var evaluationColumns: [String] { get }
    /// Saves the run's model at the directory's top level (default: `policy`).
    func saveModel(in directory: RunDirectory, environment: EnvironmentRecipe, metrics: [String: JSONValue]) throws
    /// Throws a plain sentence when a parameter of the model is not finite.
    func checkFinite(what: String) throws
    /// False while the current policy may not become the run's model whatever its return (a
    /// student still being pruned towards its share); default true.
    var evaluationMayBeBest: Bool { get }
}

extension RunAlgorithm {
    public var evaluationMayBeBest: Bool { true }
    public func checkpointFiles() -> [String: Data] { [:] }
    public var currentObservations: (values: [[Float]], spec: EnvironmentSpec)? { nil }

    public mutating func evaluate(on env: any Environment) throws -> EvaluationResult {
        try Runs.evaluate(Policy(policy), env: env, episodes: schedule.evalEpisodes, seed: schedule.evalSeed)
    }
    public var evaluationValues: [String: Double] { [:] }
    public var evaluationColumns: [String] { [] }
    public func saveModel(in directory: RunDirectory, environment: EnvironmentRecipe, metrics: [String: JSONValue]) throws {
        try directory.saveModel(policy, environment: environment, config: manifestConfig(), metrics: metrics)
    }
    public func checkFinite(what: String) throws { try NonFinite.check(policy, what: what) }

    public mutating func finish(compute: (() -> Void) -> Void) throws {}
    public func manifestConfig() -> [String: JSONValue] { JSONValue.object(encoding: config) }
    public static var progressRowKind: String? { nil }
}
