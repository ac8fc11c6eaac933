import Environments
import Foundation
import NN
import Runs
import Tensor

/// How a deployment can differ from training.
public enum PerturbationKind: String, Codable, Sendable, CaseIterable {
    /// Gaussian noise on each observation value; a level is σ as a fraction of that value's
    /// spread (standard deviation) over the states the reference model visits.
    case observationNoise = "observation_noise"
    /// With probability level, a random action replaces the policy's.
    case randomActions = "random_actions"
    /// With probability level, the previous action taken repeats (ALE's sticky actions).
    case stickyActions = "sticky_actions"
    /// A parameter of the environment (an attribute of the unwrapped environment or a
    /// `gymnasium.make` keyword) set to each level.
    case dynamics
}

/// One axis of a study: a kind of perturbation and its levels (for dynamics, of `parameter`).
public struct PerturbationAxis: Codable, Sendable, Equatable {
    public var kind: PerturbationKind
    public var levels: [Double]
    public var parameter: String?

    public init(_ kind: PerturbationKind, levels: [Double], parameter: String? = nil) {
        self.kind = kind
        self.levels = levels
        self.parameter = parameter
    }

    /// The levels the issue's users start from.
    public static let defaults: [PerturbationAxis] = [
        .init(.observationNoise, levels: [0, 0.01, 0.03, 0.1, 0.3]),
        .init(.randomActions, levels: [0, 0.1, 0.25]),
        .init(.stickyActions, levels: [0, 0.1, 0.25]),
    ]

    /// A name for tables and files: the kind, or for dynamics its parameter.
    public var label: String { kind == .dynamics ? "dynamics:\(parameter ?? "?")" : kind.rawValue }
}

/// One model at one level: the episodes' returns and what they say.
public struct LevelResult: Codable, Sendable, Equatable {
    public var mean: Double
    /// The 95% percentile-bootstrap interval of the mean.
    public var low: Double
    public var high: Double
    /// (mean − random) / (reference − random), both anchors clean.
    public var normalizedReturn: Double
    public var returns: [Double]

    enum CodingKeys: String, CodingKey {
        case mean, low = "ci_low", high = "ci_high", normalizedReturn = "normalized_return", returns
    }
}

/// One axis measured for every model.
public struct AxisReport: Codable, Sendable, Equatable {
    public var axis: PerturbationAxis
    /// results[model][level].
    public var results: [[LevelResult]]
    /// Per model: the area under its normalised-return curve over the levels, divided by their
    /// span (its mean normalised return over the range; 1 = the clean reference everywhere).
    public var scores: [Double]
    /// Per model: the 95% interval of its score minus the reference's (the first model's), from a
    /// paired bootstrap: episode i plays the same seed and noise for every model and level, so
    /// each resample draws episodes once for all of them. An interval that holds 0 is a
    /// difference these episodes cannot tell from none. [0, 0] for the reference itself.
    public var scoreDifferenceIntervals: [[Double]]? = nil

    enum CodingKeys: String, CodingKey {
        case axis, results, scores, scoreDifferenceIntervals = "score_difference_ci"
    }
}

/// What `RobustnessStudy.run` found.
public struct RobustnessReport: Codable, Sendable, Equatable {
    public var environment: String
    public var models: [String]
    public var episodes: Int
    public var seed: Int
    /// The clean return of the first model (the reference, usually the teacher) and of a
    /// uniformly random policy, on the same episodes: the anchors of every normalised return.
    public var referenceMeanReturn: Double
    public var randomMeanReturn: Double
    /// Per observation value: the spread observation noise is a fraction of.
    public var observationSpread: [Float]
    public var axes: [AxisReport]

    enum CodingKeys: String, CodingKey {
        case environment, models, episodes, seed, axes
        case referenceMeanReturn = "reference_mean_return", randomMeanReturn = "random_mean_return"
        case observationSpread = "observation_spread"
    }

    /// One row per model, axis and level: what `--out` writes as `robustness.csv`.
    public var csv: String {
        var lines = ["model,perturbation,level,mean_return,ci_low,ci_high,normalized_return"]
        for a in axes {
            for (m, model) in models.enumerated() {
                for (l, level) in a.axis.levels.enumerated() {
                    let r = a.results[m][l]
                    lines.append([Self.csvField(model), a.axis.label, "\(level)", "\(r.mean)", "\(r.low)", "\(r.high)", "\(r.normalizedReturn)"]
                        .joined(separator: ","))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}

/// Why a study cannot run: one sentence each.
public enum RobustnessError: Error, CustomStringConvertible, Equatable {
    case badLevels(String)
    case noModels

    public var description: String {
        switch self {
        case .badLevels(let detail): return "The perturbation levels cannot be used: \(detail)."
        case .noModels: return "A robustness study needs at least one model."
        }
    }
}

/// Every model on the same episodes at every level of every axis (common random numbers: the
/// episodes' seeds and the noise streams are the same for each model and level).
public struct RobustnessStudy: Sendable {
    public var axes: [PerturbationAxis]
    public var episodes: Int
    /// Episode i of every evaluation starts from reset(seed: seed + i).
    public var seed: Int
    /// States the reference model visits (ε = 0.1, other seeds) to measure the observation spread.
    public var spreadStates = 2_000
    public var bootstrapSamples = 2_000

    public init(axes: [PerturbationAxis] = PerturbationAxis.defaults, episodes: Int = 20, seed: Int = 100) {
        self.axes = axes
        self.episodes = episodes
        self.seed = seed
    }

    /// Checks the levels before anything runs.
    public func validate() throws {
        for a in axes {
            guard !a.levels.isEmpty else { throw RobustnessError.badLevels("\(a.label) has no levels") }
            guard a.levels.allSatisfy(\.isFinite) else { throw RobustnessError.badLevels("\(a.label) has a level that is not a finite number") }
            switch a.kind {
            case .observationNoise:
                guard a.levels.allSatisfy({ $0 >= 0 && $0 <= 100 }) else {
                    throw RobustnessError.badLevels("observation noise levels are fractions of each value's spread, from 0 to 100 (got \(a.levels))")
                }
            case .randomActions, .stickyActions:
                guard a.levels.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
                    throw RobustnessError.badLevels("\(a.kind.rawValue) levels are probabilities from 0 to 1 (got \(a.levels))")
                }
            case .dynamics:
                guard let p = a.parameter, !p.isEmpty else { throw RobustnessError.badLevels("a dynamics axis needs a parameter name") }
            }
        }
    }

    /// Runs the study. `models` act greedily on one observation; the first is the reference.
    /// `open(nil)` gives the environment as trained; `open((name, value))` one whose parameter
    /// `name` is `value` (a dynamics level).
    public func run(models: [(name: String, act: Acting)], environment: String,
                    open: ((name: String, value: Double)?) throws -> any Environment) throws -> RobustnessReport {
        try validate()
        guard let reference = models.first else { throw RobustnessError.noModels }
        let nominal = try open(nil)
        let spread = try observationSpread(nominal, policy: reference.act)
        guard models.allSatisfy({ $0.act.isContinuous == nominal.spec.isContinuous }) else {
            throw RobustnessError.badLevels("every model must act in \(nominal.spec.name)'s action space (\(nominal.spec.isContinuous ? "continuous" : "discrete") actions)")
        }
        let clean = try evaluate(nominal, episodes: episodes, seed: seed, acting: reference.act)
        let randomReturn = try evaluate(nominal, episodes: episodes, seed: seed, acting: .random(nominal.spec, seed: seed)).mean
        func normalized(_ mean: Double) -> Double {
            EvaluationResult.normalizedReturn(mean, reference: clean.mean, random: randomReturn)
        }

        var reports: [AxisReport] = []
        for axis in axes {
            var results = [[LevelResult]](repeating: [], count: models.count)
            for level in axis.levels {
                let env: any Environment
                switch axis.kind {
                case .observationNoise: env = PerturbedEnvironment(nominal, observationNoise: spread.map { $0 * Float(level) })
                case .randomActions: env = PerturbedEnvironment(nominal, actionNoise: level)
                case .stickyActions: env = PerturbedEnvironment(nominal, actionNoise: level, sticky: true)
                case .dynamics: env = try open((axis.parameter ?? "", level))
                }
                for (m, model) in models.enumerated() {
                    let r = try evaluate(env, episodes: episodes, seed: seed, acting: model.act)
                    let (low, high) = bootstrapInterval(r.returns)
                    results[m].append(LevelResult(mean: r.mean, low: low, high: high, normalizedReturn: normalized(r.mean), returns: r.returns))
                }
            }
            let scores = results.map { Self.area(levels: axis.levels, values: $0.map(\.normalizedReturn)) }
            let differences = scoreDifferenceIntervals(levels: axis.levels, returns: results.map { $0.map(\.returns) },
                                                       normalize: normalized)
            reports.append(AxisReport(axis: axis, results: results, scores: scores, scoreDifferenceIntervals: differences))
        }
        return RobustnessReport(environment: environment, models: models.map(\.name), episodes: episodes, seed: seed,
                                referenceMeanReturn: clean.mean, randomMeanReturn: randomReturn, observationSpread: spread, axes: reports)
    }

    /// Per observation value, the population standard deviation over states `policy` visits.
    func observationSpread(_ env: any Environment, policy: Acting) throws -> [Float] {
        try Robustness.observationSpread(env, states: spreadStates, seed: seed &+ 50_000, acting: policy)
    }

    /// The 2.5th and 97.5th percentiles of the means of `bootstrapSamples` resamples (seeded).
    func bootstrapInterval(_ returns: [Double]) -> (Double, Double) {
        guard returns.count > 1 else { return (returns.first ?? 0, returns.first ?? 0) }
        var rng = SeededGenerator(seed: UInt64(seed) ^ 0xB007_5781_0000_0001)
        var means: [Double] = []
        means.reserveCapacity(bootstrapSamples)
        for _ in 0..<bootstrapSamples {
            var total = 0.0
            for _ in returns.indices { total += returns[rng.int(below: returns.count)] }
            means.append(total / Double(returns.count))
        }
        return Self.middle95(means)
    }

    /// The 2.5th and 97.5th percentiles of `values` (bootstrap statistics).
    static func middle95(_ values: [Double]) -> (Double, Double) {
        let sorted = values.sorted()
        return (sorted[Int(0.025 * Double(sorted.count))], sorted[min(sorted.count - 1, Int(0.975 * Double(sorted.count)))])
    }

    /// Per model, the 2.5th and 97.5th percentiles of (its score − the first model's) over
    /// `bootstrapSamples` resamples of the episodes, each resample the same episodes for every
    /// model and level (seeded, and drawn before any model is read: a model's interval does not
    /// depend on which others are in the study). `returns[model][level]` holds one return per episode.
    func scoreDifferenceIntervals(levels: [Double], returns: [[[Double]]], normalize: (Double) -> Double) -> [[Double]] {
        let n = returns.first?.first?.count ?? 0
        guard n > 1, returns.allSatisfy({ $0.allSatisfy { $0.count == n } }) else { return returns.map { _ in [0, 0] } }
        var rng = SeededGenerator(seed: UInt64(seed) ^ 0xD1FF_5781_0000_0002)
        var draws = [Int](repeating: 0, count: n)
        var differences = [[Double]](repeating: [], count: returns.count)
        for _ in 0..<bootstrapSamples {
            for i in 0..<n { draws[i] = rng.int(below: n) }
            let scores = returns.map { model in
                Self.area(levels: levels, values: model.map { level in normalize(draws.reduce(0.0) { $0 + level[$1] } / Double(n)) })
            }
            for m in returns.indices { differences[m].append(scores[m] - scores[0]) }
        }
        return differences.map { d in
            let (low, high) = Self.middle95(d)
            return [low, high]
        }
    }

    /// The trapezoidal area under `values` over `levels` (sorted by level), divided by the
    /// levels' span; the value itself for a single level.
    public static func area(levels: [Double], values: [Double]) -> Double {
        let points = zip(levels, values).sorted { $0.0 < $1.0 }
        guard let first = points.first, let last = points.last, last.0 > first.0 else { return values.first ?? 0 }
        var total = 0.0
        for (a, b) in zip(points, points.dropFirst()) { total += (b.0 - a.0) * (a.1 + b.1) / 2 }
        return total / (last.0 - first.0)
    }
}

/// Per observation value, the population standard deviation over `states` states `policy`
/// visits acting ε-greedily (ε = 0.1) from episodes seeded `seed`, `seed + 1`, …: the spread
/// observation noise is measured in.
public func observationSpread(_ env: any Environment, states: Int, seed: Int, acting: Acting) throws -> [Float] {
    columnSpread(try collectStates(env, count: states, seed: seed, epsilon: 0.1, acting: acting))
}
