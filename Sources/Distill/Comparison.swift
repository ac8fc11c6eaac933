import Checkpoint
import DQN
import Environments
import Foundation
import NN
import Quantization
import Runs
import Tensor

/// What one model costs and earns.
public struct ModelReport: Codable, Sendable {
    public var parameters: Int
    public var bytesOnDisk: Int
    /// Float operations per action; for an int8 model, its integer operations (2 per multiply-add).
    public var flopsPerAction: Int
    public var inferenceMicroseconds: Double
    public var meanReturn: Double
    public var stdReturn: Double
    public var hiddenSizes: [Int]
    /// "float32" or "int8".
    public var precision: String
    /// The share of dense weights that are exactly zero (a pruned student's).
    public var sparsity: Double
    /// Nanoseconds per action of the model exported as C, where the front end compiled and timed it.
    public var cNanosecondsPerAction: Double?

    enum CodingKeys: String, CodingKey {
        case parameters, bytesOnDisk = "bytes_on_disk", flopsPerAction = "flops_per_action"
        case inferenceMicroseconds = "inference_us", meanReturn = "mean_return", stdReturn = "std_return"
        case hiddenSizes = "hidden_sizes", precision, sparsity, cNanosecondsPerAction = "c_ns_per_action"
    }
}

/// A model `compare` measures: its sizes, its arithmetic's cost and its greedy action.
public struct ComparedModel {
    public var parameters: Int
    public var bytesOnDisk: Int
    public var flopsPerAction: Int
    public var hiddenSizes: [Int]
    public var inputSize: Int
    public var actionCount: Int
    public var precision: String
    public var sparsity: Double
    /// The greedy action for one observation.
    public var act: ([Float]) -> Int
    /// A continuous head's action for one observation (then `act` is not used); nil for discrete models.
    public var continuousAct: (([Float]) -> [Float])?

    /// How the model acts: `act`, or `continuousAct` for a continuous head.
    public var acting: Acting { continuousAct.map(Acting.continuous) ?? .discrete(act) }

    /// A float network (its single-observation kernel acts).
    public init(_ network: MLP, bytesOnDisk: Int) {
        let policy = Policy(network)
        let weights = network.layers.flatMap(\.weight.scalars)
        self.init(parameters: network.parameterCount, bytesOnDisk: bytesOnDisk, flopsPerAction: network.flopsPerSample,
                  hiddenSizes: network.hiddenSizes, inputSize: network.inputSize, actionCount: network.outputSize,
                  precision: "float32", sparsity: Double(weights.filter { $0 == 0 }.count) / Double(max(weights.count, 1)),
                  act: policy.action)
        if network.head.isContinuous { continuousAct = policy.continuousAction }
    }

    /// An int8 network (its integer arithmetic acts).
    public init(_ network: Int8Network, bytesOnDisk: Int) {
        let all = network.convolutions.map(\.layer) + network.layers
        let weights = all.flatMap(\.weight)
        self.init(parameters: all.reduce(0) { $0 + $1.weight.count + $1.bias.count }, bytesOnDisk: bytesOnDisk,
                  flopsPerAction: 2 * network.multiplyAdds, hiddenSizes: network.hiddenSizes, inputSize: network.inputSize,
                  actionCount: network.outputSize, precision: "int8",
                  sparsity: Double(weights.filter { $0 == 0 }.count) / Double(max(weights.count, 1)), act: network.action)
        if network.head.isContinuous { continuousAct = network.continuousAction }
    }

    /// The model in `directory` as compare measures it: float, or int8 (its integer arithmetic).
    public static func load(_ directory: URL) throws -> (ComparedModel, ModelManifest) {
        let bytes = try ModelDirectory.modelBytes(directory)
        if try ModelDirectory.readManifest(directory).quantization != nil {
            let (network, manifest) = try Int8Directory.load(from: directory)
            return (ComparedModel(network, bytesOnDisk: bytes), manifest)
        }
        let (network, manifest) = try ModelDirectory.load(from: directory)
        return (ComparedModel(network, bytesOnDisk: bytes), manifest)
    }

    public init(parameters: Int, bytesOnDisk: Int, flopsPerAction: Int, hiddenSizes: [Int], inputSize: Int, actionCount: Int,
                precision: String, sparsity: Double, act: @escaping ([Float]) -> Int) {
        self.parameters = parameters
        self.bytesOnDisk = bytesOnDisk
        self.flopsPerAction = flopsPerAction
        self.hiddenSizes = hiddenSizes
        self.inputSize = inputSize
        self.actionCount = actionCount
        self.precision = precision
        self.sparsity = sparsity
        self.act = act
    }
}

/// Teacher versus student, measured in one run.
public struct ComparisonReport: Codable, Sendable {
    public var environment: String
    public var episodes: Int
    public var seed: Int
    public var teacher: ModelReport
    public var student: ModelReport
    public var randomMeanReturn: Double
    public var randomStdReturn: Double
    /// (student − random) / (teacher − random).
    public var normalizedReturn: Double
    /// Fraction of held-out states where the student's greedy action equals the teacher's
    /// (discrete actions).
    public var actionAgreement: Double?
    /// For continuous actions instead: the mean Euclidean distance between the student's and the
    /// teacher's actions on the held-out states, and that distance over the action box's diagonal.
    public var meanActionDistance: Double?
    public var relativeActionDistance: Double?
    public var heldOutStates: Int
    public var parameterRatio: Double
    public var bytesRatio: Double
    public var flopsRatio: Double
    public var inferenceSpeedup: Double
    /// The held-out states (not written to JSON): what a front end times exported code on.
    public var heldOut: Tensor?

    enum CodingKeys: String, CodingKey {
        case environment, episodes, seed, teacher, student
        case randomMeanReturn = "random_mean_return", randomStdReturn = "random_std_return"
        case normalizedReturn = "normalized_return", actionAgreement = "action_agreement", heldOutStates = "held_out_states"
        case meanActionDistance = "mean_action_distance", relativeActionDistance = "relative_action_distance"
        case parameterRatio = "parameter_ratio", bytesRatio = "bytes_ratio", flopsRatio = "flops_ratio"
        case inferenceSpeedup = "inference_speedup"
    }
}

/// Fraction of rows of `states` on which two networks choose the same greedy action.
public func actionAgreement(_ a: MLP, _ b: MLP, states: Tensor) -> Double {
    guard states.rowCount > 0 else { return 0 }
    let x = Policy(a).actions(states), y = Policy(b).actions(states)
    return Double(zip(x, y).filter { $0 == $1 }.count) / Double(states.rowCount)
}

/// Median wall time of choosing one action for one observation (the deployed per-step path:
/// the single-observation kernel and the argmax), in microseconds.
public func inferenceMicroseconds(_ network: MLP, observation: [Float], repeats: Int = 2_000) -> Double {
    inferenceMicroseconds(Policy(network).action, observation: observation, repeats: repeats)
}

/// Median wall time of `act` on one observation, in microseconds.
public func inferenceMicroseconds(_ act: ([Float]) -> Int, observation: [Float], repeats: Int = 2_000) -> Double {
    var sink = 0
    for _ in 0..<200 { sink &+= act(observation) }
    var samples: [Double] = []
    for _ in 0..<9 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repeats { sink &+= act(observation) }
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(repeats))
    }
    if sink == Int.min { print("") }
    return samples.sorted()[4]
}

/// How closely one model acts as another on the same states: the share of equal greedy actions
/// (discrete), or the mean Euclidean distance between the actions and that distance over the
/// action box's diagonal (continuous). `compare` and `distill quantize` report it.
public struct ActionMatch {
    public var agreement: Double?
    public var meanDistance: Double?
    public var relativeDistance: Double?

    /// `a` against `b` on each row of `states`; `bounds`: the action box of a continuous space.
    public init(_ a: ComparedModel, _ b: ComparedModel, on states: Tensor, bounds: [ClosedRange<Float>]?) {
        let (rows, n) = (states.rowCount, states.columnCount)
        var agree = 0, distance = 0.0
        for r in 0..<rows {
            let row = Array(states.scalars[(r * n)..<((r + 1) * n)])
            if let actA = a.continuousAct, let actB = b.continuousAct {
                distance += zip(actA(row), actB(row)).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }.squareRoot()
            } else if a.act(row) == b.act(row) {
                agree += 1
            }
        }
        if a.continuousAct != nil {
            let diagonal = (bounds ?? []).reduce(0.0) { $0 + Double(($1.upperBound - $1.lowerBound) * ($1.upperBound - $1.lowerBound)) }.squareRoot()
            meanDistance = rows > 0 ? distance / Double(rows) : 0
            relativeDistance = meanDistance! / max(diagonal, 1e-12)
        } else {
            agreement = rows > 0 ? Double(agree) / Double(rows) : 0
        }
    }
}

/// Compares a teacher and a student on `env` (greedy returns over `episodes` seeded episodes, a
/// uniform random policy on the same seeds, agreement on `heldOut` states from the teacher's
/// ε-greedy distribution with other seeds, size, FLOPs and measured inference time).
public func compare(teacher: MLP, teacherBytes: Int, student: MLP, studentBytes: Int, env: any Environment,
                    episodes: Int, seed: Int, heldOut: Int = 2_000) throws -> ComparisonReport {
    try compare(teacher: ComparedModel(teacher, bytesOnDisk: teacherBytes), student: ComparedModel(student, bytesOnDisk: studentBytes),
                env: env, episodes: episodes, seed: seed, heldOut: heldOut)
}

/// `compare` of any two models (float or int8): each acts through its own arithmetic.
public func compare(teacher: ComparedModel, student: ComparedModel, env: any Environment,
                    episodes: Int, seed: Int, heldOut: Int = 2_000) throws -> ComparisonReport {
    let continuous = teacher.continuousAct != nil
    guard (student.continuousAct != nil) == continuous else {
        throw RunError.invalidSetting("the teacher acts with \(continuous ? "continuous" : "discrete") actions and the student with \(continuous ? "discrete" : "continuous") ones; compare models of one action space.")
    }
    try checkFits(inputs: teacher.inputSize, actions: teacher.actionCount, continuous: continuous, env)
    try checkFits(inputs: student.inputSize, actions: student.actionCount, continuous: continuous, env)
    var rng = SeededGenerator(seed: UInt64(seed) &+ 99)
    let t: EvaluationResult, s: EvaluationResult, random: EvaluationResult, states: Tensor
    if let teacherAct = teacher.continuousAct, let studentAct = student.continuousAct {
        let bounds = env.spec.actionBounds ?? []
        t = try evaluate(env, episodes: episodes, seed: seed, continuousPolicy: teacherAct)
        s = try evaluate(env, episodes: episodes, seed: seed, continuousPolicy: studentAct)
        random = try evaluate(env, episodes: episodes, seed: seed) { _ in
            bounds.map { $0.lowerBound + rng.nextUnitFloat() * ($0.upperBound - $0.lowerBound) }
        }
        states = try collectStates(env, count: heldOut, seed: seed &+ 50_000, epsilon: 0.1, continuousPolicy: teacherAct)
    } else {
        t = try evaluate(env, episodes: episodes, seed: seed, policy: teacher.act)
        s = try evaluate(env, episodes: episodes, seed: seed, policy: student.act)
        random = try evaluate(env, episodes: episodes, seed: seed) { _ in rng.int(below: env.spec.actionCount) }
        states = try collectStates(env, count: heldOut, seed: seed &+ 50_000, epsilon: 0.1, policy: teacher.act)
    }
    let n = teacher.inputSize
    let probe = Array(states.scalars.prefix(n))
    func report(_ m: ComparedModel, _ e: EvaluationResult) -> ModelReport {
        let microseconds = m.continuousAct.map { act in inferenceMicroseconds({ act($0).count }, observation: probe) }
            ?? inferenceMicroseconds(m.act, observation: probe)
        return ModelReport(parameters: m.parameters, bytesOnDisk: m.bytesOnDisk, flopsPerAction: m.flopsPerAction,
                           inferenceMicroseconds: microseconds,
                           meanReturn: e.mean, stdReturn: e.std, hiddenSizes: m.hiddenSizes, precision: m.precision, sparsity: m.sparsity)
    }
    let tr = report(teacher, t), sr = report(student, s)
    let match = ActionMatch(teacher, student, on: states, bounds: env.spec.actionBounds)
    return ComparisonReport(
        environment: env.spec.name, episodes: episodes, seed: seed, teacher: tr, student: sr,
        randomMeanReturn: random.mean, randomStdReturn: random.std,
        normalizedReturn: EvaluationResult.normalizedReturn(s.mean, reference: t.mean, random: random.mean),
        actionAgreement: match.agreement, meanActionDistance: match.meanDistance, relativeActionDistance: match.relativeDistance,
        heldOutStates: heldOut,
        parameterRatio: Double(sr.parameters) / Double(tr.parameters),
        bytesRatio: Double(sr.bytesOnDisk) / Double(max(tr.bytesOnDisk, 1)),
        flopsRatio: Double(sr.flopsPerAction) / Double(tr.flopsPerAction),
        inferenceSpeedup: tr.inferenceMicroseconds / sr.inferenceMicroseconds, heldOut: states)
}
