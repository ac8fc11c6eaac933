import Checkpoint
import Environments
import Foundation
import NN
import Runs
import Tensor

/// Why distillation cannot start. Each text says what to do.
public enum DistillError: Error, CustomStringConvertible {
    case teacherUnreadable(String, detail: String)
    case teachersDisagree(String)
    case sizeMismatch(String)
    case noSuchLayer(String)
    case badObservations(String, detail: String)

    public var description: String {
        switch self {
        case .teacherUnreadable(let path, let detail):
            return "The teacher \(path) cannot be loaded: \(detail)"
        case .teachersDisagree(let s), .sizeMismatch(let s), .noSuchLayer(let s): return s
        case .badObservations(let path, let detail):
            return "The offline observations \(path) cannot be used: \(detail)."
        }
    }
}

/// One or more trained Q-networks that label states. An ensemble's Q-values are averaged.
public struct TeacherEnsemble: Sendable {
    public let networks: [MLP]
    /// The members as single-observation policies (labelling one state at a time).
    private let policies: [Policy]
    public let paths: [String]
    /// Environment recorded in the first teacher's manifest.
    public let environment: EnvironmentRecipe?

    /// Loads each model directory; they must agree on input and output sizes.
    public init(paths: [String]) throws {
        var nets: [MLP] = []
        var env: EnvironmentRecipe?
        for path in paths {
            do {
                let (net, manifest) = try ModelDirectory.load(from: URL(fileURLWithPath: path))
                nets.append(net)
                env = env ?? EnvironmentRecipe(recordedIn: manifest)
            } catch let e as CheckpointError {
                throw DistillError.teacherUnreadable(path, detail: e.description)
            }
        }
        guard let first = nets.first else { throw DistillError.teachersDisagree("--teacher is required: the directory of a trained model.") }
        for (net, path) in zip(nets, paths) where net.inputSize != first.inputSize || net.outputSize != first.outputSize {
            throw DistillError.teachersDisagree("The teachers disagree: \(paths[0]) maps \(first.inputSize) inputs to \(first.outputSize) actions but \(path) maps \(net.inputSize) to \(net.outputSize); an ensemble must share one environment.")
        }
        for (net, path) in zip(nets, paths) where net.head != first.head || net.actionLow != first.actionLow || net.actionHigh != first.actionHigh {
            throw DistillError.teachersDisagree("The teachers disagree: \(paths[0]) outputs \(first.head.phrase) but \(path) \(net.head.phrase); an ensemble averages its members' outputs, so they must mean the same thing.")
        }
        networks = nets
        policies = nets.map(Policy.init)
        self.paths = paths
        environment = env
    }

    public init(networks: [MLP]) {
        precondition(!networks.isEmpty, "an ensemble needs a network")
        self.networks = networks
        policies = networks.map(Policy.init)
        paths = []
        environment = nil
    }

    public var inputSize: Int { networks[0].inputSize }
    /// What the teachers' outputs mean; the student imitates them and is saved with the same head.
    public var head: OutputHead { networks[0].head }

    /// The action the teacher takes on a state it labelled: the argmax of its outputs, or for a
    /// continuous head its outputs turned into an action within its bounds.
    func continuousAction(fromLabel label: ArraySlice<Float>) -> [Float] {
        head.action(Array(label), low: networks[0].actionLow, high: networks[0].actionHigh)
    }
    public var actionCount: Int { networks[0].outputSize }

    /// Averaged Q-values for a batch.
    public func qValues(_ x: Tensor) -> Tensor {
        var sum = networks[0](x)
        for net in networks.dropFirst() { sum += net(x) }
        return networks.count == 1 ? sum : sum * (1 / Float(networks.count))
    }

    /// Averaged Q-values for one observation through each member's single-observation kernel:
    /// the batched `qValues`' values (the same sums in the same order), without batch tensors.
    public func qValues(_ observation: [Float]) -> [Float] {
        var sum = policies[0].qValues(observation)
        for policy in policies.dropFirst() {
            let q = policy.qValues(observation)
            for a in sum.indices { sum[a] += q[a] }
        }
        if policies.count > 1 {
            let share = 1 / Float(policies.count)
            for a in sum.indices { sum[a] *= share }
        }
        return sum
    }

    /// Floats in `label(_:withHidden: true)` after the Q-values: every hidden layer of every
    /// member, member by member.
    public var hiddenWidth: Int { hiddenWidth(layers: allHiddenLayers) }

    /// Every hidden layer of every member, as `label(_:layers:)` takes them.
    public var allHiddenLayers: [[Int]] { networks.map { Array($0.hiddenSizes.indices) } }

    /// Floats of the hidden layers `layers[m]` of each member m.
    public func hiddenWidth(layers: [[Int]]) -> Int {
        zip(networks, layers).reduce(0) { total, pair in total + pair.1.reduce(0) { $0 + pair.0.hiddenSizes[$1] } }
    }

    /// A state's label: the averaged Q-values, then (with `withHidden`) every member's hidden
    /// activations for the intermediate-layer losses, laid out as `LossContext` reads them.
    public func label(_ observation: [Float], withHidden: Bool) -> [Float] {
        label(observation, layers: withHidden ? allHiddenLayers : [])
    }

    /// A state's label: the averaged Q-values, then member m's hidden layers `layers[m]` (in
    /// order), member by member; only what the losses in use read is stored.
    public func label(_ observation: [Float], layers: [[Int]]) -> [Float] {
        guard layers.contains(where: { !$0.isEmpty }) else { return qValues(observation) }
        let x = Tensor(shape: [1, observation.count], scalars: observation)
        var row: [Float] = []
        var caches: [MLP.Cache] = []
        for net in networks { caches.append(net.forward(x)) }
        var sum = caches[0].output
        for c in caches.dropFirst() { sum += c.output }
        row = (networks.count == 1 ? sum : sum * (1 / Float(networks.count))).scalars
        for (m, cache) in caches.enumerated() where m < layers.count {
            for l in layers[m] { row += cache.hidden(l).scalars }
        }
        return row
    }

    /// Hidden activations of the first teacher (feature and relational targets).
    public func hidden(_ x: Tensor, layer: Int) -> Tensor {
        networks[0].forward(x).hidden(layer)
    }
}
