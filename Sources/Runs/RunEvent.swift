import Environments
import NN
/// What a run reports while it goes: the one event type of every algorithm.
public enum RunEvent: Sendable {
    /// Every `RunHooks.progressInterval` steps and at the last step.
    case progress(RunProgress)
    /// An environment episode ended (DQN training).
    case episode(EpisodeRecord)
    /// A periodic evaluation finished; `isBest` when it is the best so far (and was saved).
    case evaluation(step: Int, result: EvaluationResult, isBest: Bool)
}

/// A snapshot for progress lines and callbacks.
public struct RunProgress: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var gradientSteps: Int
    /// Seconds of the whole run, including earlier sessions of a resumed run.
    public var elapsed: Double
    /// Steps per second in this session.
    public var stepsPerSecond: Double
    /// Seconds of this session (a rate over a fraction of a second says little).
    public var sessionSeconds: Double = 0
    /// Algorithm-specific figures by name (`epsilon`, `loss`, `recent_mean_return`, `labels`, `kl`, …).
    public var values: [String: Double]

    public init(step: Int, totalSteps: Int, gradientSteps: Int, elapsed: Double, stepsPerSecond: Double, values: [String: Double]) {
        self.step = step
        self.totalSteps = totalSteps
        self.gradientSteps = gradientSteps
        self.elapsed = elapsed
        self.stepsPerSecond = stepsPerSecond
        self.values = values
    }
}

/// One finished episode.
public struct EpisodeRecord: Sendable {
    public var step: Int
    public var episode: Int
    public var episodeReturn: Double
    public var length: Int
    /// Algorithm-specific figures at the end of the episode (`epsilon`, `loss`).
    public var values: [String: Double]
    /// Which of the environments stepped together played it (0 with one).
    public var environment = 0

    public init(step: Int, episode: Int, episodeReturn: Double, length: Int, values: [String: Double]) {
        self.step = step
        self.episode = episode
        self.episodeReturn = episodeReturn
        self.length = length
        self.values = values
    }
}

/// What a caller can do to a run while it goes; all optional.
public struct RunHooks {
    /// Receives every event after the run has logged it.
    public var onEvent: (RunEvent) -> Void = { _ in }
    /// Polled every step; true stops the run after a checkpoint (Ctrl-C, SIGTERM, a callback's exception).
    public var shouldStop: () -> Bool = { false }
    /// Wraps each round of gradient steps (the Python binding releases the GIL here).
    public var aroundCompute: (() -> Void) -> Void = { $0() }
    public var progressInterval = 500
    /// Polled after each progress event; true saves a checkpoint there (a Python callback that
    /// saves the model mid-run asks for one: SB3's CheckpointCallback).
    public var wantsCheckpoint: () -> Bool = { false }
    /// Given the current policy before each progress event, when set (a Python callback that
    /// acts during training — SB3's EvalCallback — predicts with it).
    public var onPolicy: ((MLP) -> Void)? = nil
    /// Given the environments' current observations (one row each, as the network reads them)
    /// and their spec before each progress event, when set (SB3 callbacks read them as `new_obs`).
    public var onObservations: (([[Float]], EnvironmentSpec) -> Void)? = nil
    public init() {}
}
