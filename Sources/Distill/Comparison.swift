import DQN
import Environments
import Foundation
import NN
import Runs
import Tensor

/// What one model costs and earns.
public struct ModelReport: Codable, Sendable {
    public var parameters: Int
    public var bytesOnDisk: Int
    public var flopsPerAction: Int
    public var inferenceMicroseconds: Double
    public var meanReturn: Double
    public var stdReturn: Double
    public var hiddenSizes: [Int]

    enum CodingKeys: String, CodingKey {
        case parameters, bytesOnDisk = "bytes_on_disk", flopsPerAction = "flops_per_action"
        case inferenceMicroseconds = "inference_us", meanReturn = "mean_return", stdReturn = "std_return"
        case hiddenSizes = "hidden_sizes"
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
    /// Fraction of held-out states where the student's greedy action equals the teacher's.
    public var actionAgreement: Double
    public var heldOutStates: Int
    public var parameterRatio: Double
    public var bytesRatio: Double
    public var flopsRatio: Double
    public var inferenceSpeedup: Double

    enum CodingKeys: String, CodingKey {
        case environment, episodes, seed, teacher, student
        case randomMeanReturn = "random_mean_return", randomStdReturn = "random_std_return"
        case normalizedReturn = "normalized_return", actionAgreement = "action_agreement", heldOutStates = "held_out_states"
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

/// States visited by `policy` acting ε-greedily from episodes seeded `seed`, `seed + 1`, …
public func collectStates(_ env: any Environment, count: Int, seed: Int, epsilon: Float,
                          policy: ([Float]) -> Int) throws -> Tensor {
    try MemoryCheck.require(MemoryCheck.bytes([count, env.spec.observationSize, 4]), for: "the held-out states",
                            key: "held_out", value: count)
    var rng = SeededGenerator(seed: UInt64(seed))
    var rows: [Float] = []
    var episode = 0
    var obs = try env.reset(seed: seed)
    for _ in 0..<count {
        rows += obs
        let action = rng.nextUnitFloat() < epsilon ? rng.int(below: env.spec.actionCount) : policy(obs)
        let s = try env.step(action)
        if s.isDone {
            episode += 1
            obs = try env.reset(seed: seed + episode)
        } else {
            obs = s.observation
        }
    }
    return Tensor(shape: [count, env.spec.observationSize], scalars: rows)
}

/// Median wall time of choosing one action for one observation (the deployed per-step path:
/// the single-observation kernel and the argmax), in microseconds.
public func inferenceMicroseconds(_ network: MLP, observation: [Float], repeats: Int = 2_000) -> Double {
    let policy = Policy(network)
    var sink = 0
    for _ in 0..<200 { sink &+= policy.action(observation) }
    var samples: [Double] = []
    for _ in 0..<9 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repeats { sink &+= policy.action(observation) }
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(repeats))
    }
    if sink == Int.min { print("") }
    return samples.sorted()[4]
}

/// Compares a teacher and a student on `env` (greedy returns over `episodes` seeded episodes, a
/// uniform random policy on the same seeds, agreement on `heldOut` states from the teacher's
/// ε-greedy distribution with other seeds, size, FLOPs and measured inference time).
public func compare(teacher: MLP, teacherBytes: Int, student: MLP, studentBytes: Int, env: any Environment,
                    episodes: Int, seed: Int, heldOut: Int = 2_000) throws -> ComparisonReport {
    let teacherPolicy = Policy(teacher), studentPolicy = Policy(student)
    try checkFits(teacherPolicy, env)
    try checkFits(studentPolicy, env)
    let t = try evaluate(teacherPolicy, env: env, episodes: episodes, seed: seed)
    let s = try evaluate(studentPolicy, env: env, episodes: episodes, seed: seed)
    var rng = SeededGenerator(seed: UInt64(seed) &+ 99)
    let random = try evaluate(env, episodes: episodes, seed: seed) { _ in rng.int(below: env.spec.actionCount) }
    let states = try collectStates(env, count: heldOut, seed: seed &+ 50_000, epsilon: 0.1) { teacherPolicy.action($0) }
    let probe = Array(states.scalars.prefix(teacher.inputSize))
    func report(_ net: MLP, _ bytes: Int, _ e: EvaluationResult) -> ModelReport {
        ModelReport(parameters: net.parameterCount, bytesOnDisk: bytes, flopsPerAction: net.flopsPerSample,
                    inferenceMicroseconds: inferenceMicroseconds(net, observation: probe),
                    meanReturn: e.mean, stdReturn: e.std, hiddenSizes: net.hiddenSizes)
    }
    let tr = report(teacher, teacherBytes, t), sr = report(student, studentBytes, s)
    let span = t.mean - random.mean
    return ComparisonReport(
        environment: env.spec.name, episodes: episodes, seed: seed, teacher: tr, student: sr,
        randomMeanReturn: random.mean, randomStdReturn: random.std,
        normalizedReturn: span != 0 ? (s.mean - random.mean) / span : 0,
        actionAgreement: actionAgreement(teacher, student, states: states), heldOutStates: heldOut,
        parameterRatio: Double(sr.parameters) / Double(tr.parameters),
        bytesRatio: Double(sr.bytesOnDisk) / Double(max(tr.bytesOnDisk, 1)),
        flopsRatio: Double(sr.flopsPerAction) / Double(tr.flopsPerAction),
        inferenceSpeedup: tr.inferenceMicroseconds / sr.inferenceMicroseconds)
}
