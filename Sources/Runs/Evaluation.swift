import Environments
import Foundation
import NN
import Tensor

/// Returns of a policy over several episodes.
public struct EvaluationResult: Sendable, Codable, Equatable {
    public var returns: [Double]
    public var lengths: [Int]

    public init(returns: [Double], lengths: [Int]) {
        self.returns = returns
        self.lengths = lengths
    }

    public var episodes: Int { returns.count }

    /// The normalised return, (mean − random) / (reference − random): 1 at the reference's
    /// (usually the teacher's) mean return, 0 at a random policy's. Every report computes it here
    /// (compare, robustness, multi-task evaluations). When the anchors coincide the scale is
    /// undefined: 1 when `mean` reaches the reference, else 0.
    public static func normalizedReturn(_ mean: Double, reference: Double, random: Double) -> Double {
        let span = reference - random
        return abs(span) < 1e-12 ? (mean >= reference ? 1 : 0) : (mean - random) / span
    }
    public var mean: Double { returns.reduce(0, +) / Double(Swift.max(returns.count, 1)) }
    /// Population standard deviation (NumPy's default, as SB3's evaluate_policy reports).
    public var std: Double {
        let m = mean
        return (returns.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(Swift.max(returns.count, 1))).squareRoot()
    }
    public var min: Double { returns.min() ?? 0 }
    public var max: Double { returns.max() ?? 0 }
}

/// How a model acts on one observation: an action index (discrete heads) or a vector of action
/// values (continuous heads). What evaluates, collects or studies a model takes one of these, so
/// it serves every head without knowing them.
public enum Acting {
    case discrete(([Float]) -> Int)
    case continuous(([Float]) -> [Float])

    /// The policy's action for `observation`, applied to `env`.
    public func step(_ env: any Environment, _ observation: [Float]) throws -> Step {
        switch self {
        case .discrete(let act): return try env.step(act(observation))
        case .continuous(let act): return try env.step(continuous: act(observation))
        }
    }

    /// A policy acting uniformly at random in `spec`'s action space, from `seed`.
    public static func random(_ spec: EnvironmentSpec, seed: Int) -> Acting {
        var rng = SeededGenerator(seed: UInt64(seed))
        if let bounds = spec.actionBounds {
            return .continuous { _ in bounds.map { $0.lowerBound + rng.nextUnitFloat() * ($0.upperBound - $0.lowerBound) } }
        }
        let count = spec.actionCount
        return .discrete { _ in rng.int(below: count) }
    }

    /// True for continuous actions.
    public var isContinuous: Bool {
        if case .continuous = self { return true }
        return false
    }
}

/// Runs `acting` for `episodes` episodes, as the discrete form below does.
public func evaluate(_ env: any Environment, episodes: Int, seed: Int, maxSteps: Int = 100_000, acting: Acting) throws -> EvaluationResult {
    try evaluate(env, episodes: episodes, seed: seed, maxSteps: maxSteps, stepping: { try acting.step(env, $0) })
}

/// Runs a policy for `episodes` episodes; episode i starts from `reset(seed: seed + i)`.
/// Episodes are capped at `maxSteps` in case an environment has no time limit.
public func evaluate(_ env: any Environment, episodes: Int, seed: Int, maxSteps: Int = 100_000,
                     policy: ([Float]) -> Int) throws -> EvaluationResult {
    try evaluate(env, episodes: episodes, seed: seed, maxSteps: maxSteps, stepping: { try env.step(policy($0)) })
}

/// As above for a policy over continuous actions (one vector of `spec.actionCount` values).
public func evaluate(_ env: any Environment, episodes: Int, seed: Int, maxSteps: Int = 100_000,
                     continuousPolicy: ([Float]) -> [Float]) throws -> EvaluationResult {
    try evaluate(env, episodes: episodes, seed: seed, maxSteps: maxSteps, stepping: { try env.step(continuous: continuousPolicy($0)) })
}

/// The episodes loop: `stepping` acts on an observation and steps the environment.
private func evaluate(_ env: any Environment, episodes: Int, seed: Int, maxSteps: Int,
                      stepping: ([Float]) throws -> Step) throws -> EvaluationResult {
    var result = EvaluationResult(returns: [], lengths: [])
    for e in 0..<episodes {
        var obs = try env.reset(seed: seed + e)
        var total = 0.0, length = 0
        while length < maxSteps {
            let s = try stepping(obs)
            try NonFinite.check(s, from: env, episode: e + 1, stepInEpisode: length + 1)
            total += s.reward
            length += 1
            if s.isDone { break }
            obs = s.observation
        }
        result.returns.append(total)
        result.lengths.append(length)
    }
    return result
}

/// Greedy evaluation of a policy; a policy whose sizes do not fit the environment is refused.
public func evaluate(_ policy: Policy, env: any Environment, episodes: Int, seed: Int) throws -> EvaluationResult {
    try checkFits(policy, env)
    return try evaluate(env, episodes: episodes, seed: seed, acting: policy.acting)
}

extension Policy {
    /// How this policy acts: its greedy action, or its head's continuous action.
    public var acting: Acting { network.head.isContinuous ? .continuous(continuousAction) : .discrete(action) }
}

/// Throws unless `policy` takes `env`'s observations and has one output per action.
public func checkFits(_ policy: Policy, _ env: any Environment) throws {
    try checkFits(inputs: policy.observationSize, actions: policy.actionCount, continuous: policy.network.head.isContinuous, env)
}

/// Throws unless a model of `inputs` inputs and `actions` outputs fits `env`, with continuous
/// actions exactly when `continuous`.
public func checkFits(inputs: Int, actions: Int, continuous: Bool = false, _ env: any Environment) throws {
    guard continuous == env.spec.isContinuous else {
        throw RunError.invalidSetting(continuous
            ? "the model acts with continuous actions, but \(env.spec.name) takes discrete ones; use the model's own environment."
            : "the model acts with discrete actions, but \(env.spec.name) takes continuous ones (a Box of \(env.spec.actionCount)); use the model's own environment.")
    }
    guard inputs == env.spec.observationSize, actions == env.spec.actionCount else {
        throw RunError.invalidSetting("the model takes \(inputs) inputs and \(actions) actions, but \(env.spec.name) has \(env.spec.observationSize) and \(env.spec.actionCount); use the model's own environment (and its keyword arguments).")
    }
}

/// Greedy evaluation of a Q-network.
public func evaluateGreedy(_ network: MLP, env: any Environment, episodes: Int, seed: Int) throws -> EvaluationResult {
    try evaluate(Policy(network), env: env, episodes: episodes, seed: seed)
}
