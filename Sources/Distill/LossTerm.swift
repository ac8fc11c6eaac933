import Foundation
import Settings

/// The distillation losses, in the order they are summed (a fixed order keeps results
/// bit-for-bit reproducible whatever order the user lists them in).
public enum LossKind: String, Sendable, CaseIterable, Codable, Comparable {
    /// Output layer: MSE between student and teacher Q-values.
    case qMSE = "q-mse"
    /// Policy: KL(softmax(q_T/τ) ‖ softmax(q_S/τ)).
    case kl
    /// Policy: cross-entropy of the teacher's greedy action.
    case crossEntropy = "ce"
    /// Continuous policy: MSE between the student's and the teacher's actions (after the squash
    /// or clip into the bounds).
    case actionMSE = "action-mse"
    /// The student's own TD loss from environment rewards (λ in L = L_KD + λ·L_task).
    case task
    /// Intermediate layer (FitNets hint) through a learned projection.
    case feature
    /// Relations within a batch (RKD distance + 2 × angle) on the last hidden layers.
    case relational
    /// Relations between layers: how each layer transforms the batch's similarities (FSP-style flow).
    case layerFlow = "flow"

    /// Other accepted spellings.
    static let aliases: [String: LossKind] = [
        "mse": .qMSE, "q_mse": .qMSE, "action_mse": .actionMSE, "nll": .crossEntropy, "cross-entropy": .crossEntropy,
        "cross_entropy": .crossEntropy, "lambda": .task, "rkd": .relational,
        "fsp": .layerFlow, "layer-flow": .layerFlow, "layer_flow": .layerFlow, "layer-relational": .layerFlow,
    ]

    /// True for the losses on the student's outputs (as against its hidden layers or the task).
    public var isOutputLayer: Bool { [.qMSE, .kl, .crossEntropy, .actionMSE].contains(self) }

    /// Its column in metrics.csv and its key in progress events.
    public var metricName: String {
        switch self {
        case .qMSE: return "q_mse"
        case .actionMSE: return "action_mse"
        default: return rawValue
        }
    }

    public static func < (a: LossKind, b: LossKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One weighted term of the distillation objective.
public struct LossTerm: Equatable, Sendable, Codable {
    public var kind: LossKind
    public var weight: Float

    public init(_ kind: LossKind, weight: Float = 1) {
        self.kind = kind
        self.weight = weight
    }
}

/// Reading and writing loss specs such as `kl,q-mse:0.5,ce:1`: the one parser, used by the
/// command line, config files and Python (through the extension).
public enum LossSpec {
    static let reason = "takes q-mse, kl, ce or action-mse (and task, feature, relational, flow), comma-separated, each optionally name:weight"

    /// The terms of `spec`, in summation order; `none` (or an empty spec) is no term.
    public static func parse(_ spec: String, key: String = "loss") throws -> [LossTerm] {
        var terms: [LossTerm] = []
        for part in spec.split(separator: ",") {
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let name = pieces[0].lowercased()
            if name == "none" || name.isEmpty { continue }
            guard let kind = LossKind(rawValue: name) ?? LossKind.aliases[name] else {
                throw SettingError(key: key, template: "{\(key)} \(reason); unknown loss '\(pieces[0])'.")
            }
            var weight: Float = 1
            if pieces.count >= 2 {
                guard pieces.count == 2, let w = Float(pieces[1]), w >= 0, w.isFinite else {
                    throw SettingError(key: key, template: "{\(key)}: the weight of \(kind.rawValue) must be a number ≥ 0 (got '\(pieces.dropFirst().joined(separator: ":"))').")
                }
                weight = w
            }
            terms.removeAll { $0.kind == kind }
            terms.append(LossTerm(kind, weight: weight))
        }
        return normalised(terms)
    }

    /// Terms in summation order, without zero weights.
    public static func normalised(_ terms: [LossTerm]) -> [LossTerm] {
        terms.filter { $0.weight > 0 }.sorted { $0.kind < $1.kind }
    }

    /// `kl,q-mse:0.5` → the text that parses back to the same terms.
    public static func format(_ terms: [LossTerm]) -> String {
        terms.isEmpty ? "none" : terms.map { $0.weight == 1 ? $0.kind.rawValue : "\($0.kind.rawValue):\($0.weight)" }.joined(separator: ",")
    }
}
