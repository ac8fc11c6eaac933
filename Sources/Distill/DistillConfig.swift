import Foundation
import DQN
import NN
import Settings

/// Where the states a student learns from come from.
public enum DataRegime: String, Sendable, CaseIterable, Codable {
    /// The teacher acts; the student imitates on the teacher's state distribution.
    case teacher
    /// The student acts and the teacher labels what it visits (DAgger).
    case student
    /// From teacher to student over `mixFraction` of the steps (DAgger's β schedule).
    case mixed
    /// A fixed set of observations from a `.npy` file; no environment while training.
    case offline
}

/// How the distillation terms' weight changes over a run (the task loss keeps its weight).
public enum DistillationSchedule: String, Sendable, CaseIterable, Codable {
    case constant
    /// Kickstarting / QDagger: falls linearly from 1 to 0 over `distillationDecayFraction` of the
    /// steps, so the student ends on its own RL loss and can outgrow its teacher.
    case linear
}

/// Every distillation setting, one plain struct; `DistillConfig.settings` is its table.
public struct DistillConfig: Configurable {
    /// Teacher model directories; several are an ensemble (their Q-values are averaged).
    public var teachers: [String] = []
    public var hiddenSizes = [16, 16]
    /// Convolutions before the student's hidden layers (image and grid observations; none: an MLP).
    public var convolutions: [ConvSpec] = []
    public var activation = Activation.relu
    /// Environment steps of data collection: each is one teacher-labelled state.
    public var steps = 20_000
    public var seed = 0
    public var regime = DataRegime.student
    /// In the mixed regime, the fraction of steps over which the chance that the teacher acts
    /// falls linearly from 1 to 0 (DAgger's β schedule).
    public var mixFraction: Float = 0.5
    /// ε of whichever policy acts while collecting.
    public var actingEpsilon: Float = 0.05
    /// For the offline regime: a .npy file of observations (N × observation size).
    public var offlineObservations: String?

    /// The weighted losses, in summation order (see `LossKind`).
    public var losses = [LossTerm(.kl)]
    /// Scale of the distillation terms over the run (kickstarting when linear).
    public var distillationSchedule = DistillationSchedule.constant
    public var distillationDecayFraction: Float = 1
    /// Softmax temperature of the KL loss.
    public var temperature: Float = 0.01
    /// Task loss: discount, Double DQN and n-step of the student's own TD target.
    public var gamma: Float = 0.99
    public var doubleDQN = false
    public var nStep = 1
    /// Gradient steps between updates of the student's own target network (task loss).
    public var targetUpdateInterval = 250
    /// Feature (hint) distillation: student hidden layer → learned projection → teacher hidden layer.
    public var featureStudentLayer: Int?
    public var featureTeacherLayer: Int?
    /// Rows of each batch used for the O(n³) angle-wise relational term.
    public var relationalAngleRows = 16

    public var learningRate: Float = 1e-3
    public var batchSize = 64
    public var bufferSize = 100_000
    /// Gradient steps per collected state.
    public var updatesPerStep = 1
    /// Extra gradient steps over the collected states once collection ends (no new labels).
    public var finalUpdates = 0
    public var maxGradNorm: Float = 10
    public var evalInterval = 2_000
    public var evalEpisodes = 10
    public var evalSeed = 10_000
    /// Labelled states between checkpoints in last/ (0: only at the end and when stopped).
    public var checkpointInterval = 10_000
    /// Successive students, each distilled from the one before (self-distillation); 1 is plain distillation.
    public var generations = 1
    /// Pruning by distillation: the fraction of each dense weight matrix set to exactly zero by the
    /// end (gradual magnitude pruning, Zhu & Gupta 2017); 0 keeps the student dense.
    public var prune: Float = 0
    /// Quantisation-aware distillation: train through the student's int8 arithmetic (then `distill quantize`).
    public var quantize = StudentQuantization.none
    /// Structured pruning: `prune` is the share of each hidden layer's units removed whole (their
    /// incoming weights, bias and outgoing weights), rather than of single weights.
    public var pruneUnits = false
    /// Robust distillation: Gaussian noise of this many spreads (per observation value, the
    /// batch's standard deviation) on the states the student sees; the labels stay the clean
    /// states' (0 = none).
    public var stateNoise: Float = 0
    /// Robust distillation: states moved within an L∞ ball of this many spreads to where the
    /// student's distillation loss is largest, labelled by the teacher there (0 = none).
    public var adversarialEpsilon: Float = 0
    /// Gradient-sign steps per adversarial state: 1 is FGSM, more is PGD.
    public var adversarialSteps = 1
    /// Robust distillation (DAgger under perturbation): collection steps through a perturbed
    /// environment — `random_actions:P` or `sticky_actions:P` (actions that slip),
    /// `observation_noise:S` (S spreads of Gaussian noise on what the acting policy sees, the
    /// teacher labelling those observations), or `dynamics:NAME=V1,V2,…` (each episode the next
    /// value of a parameter, as `distill robustness --vary` sets it), several joined by `+` —
    /// so the states labelled are those a perturbed deployment reaches (nil = none). The
    /// evaluations that pick the run's model run under the same perturbations.
    public var collectPerturbation: String?

    /// `collectPerturbation` read; nil when it is unset or malformed.
    public var collectPerturbations: [CollectPerturbation]? { collectPerturbation.flatMap(CollectPerturbation.parse) }
    /// Collection adds noise to observations (so they are not bytes any more).
    var collectsNoisyObservations: Bool { (collectPerturbations ?? []).contains { $0.group == 1 } }
    /// The parameter and values collection varies (`dynamics:`), if any.
    public var collectDynamics: (name: String, values: [String])? {
        for p in collectPerturbations ?? [] { if case .dynamics(let name, let values) = p { return (name, values) } }
        return nil
    }

    /// Whether `prune` applies to all dense weights together (ranked by LAMP score) or to each
    /// matrix (single-weight pruning; `pruneUnits` removes each hidden layer's share of units).
    /// Global kept 64-64 students at 90% far better: normalised 1.00, 1.01 and 0.99 on CartPole,
    /// Acrobot and LunarLander against 0.74, 0.95 and 0.55 per matrix, where a 2-action head keeps
    /// 13 of its 128 weights.
    public var pruneScope = PruneScope.global
    /// Fractions of the run over which the pruned share rises from 0 to `prune` (cubically).
    public var pruneStart: Float = 0.1
    public var pruneEnd: Float = 0.7

    /// The share of each dense weight matrix pruned after `step` of `total` labelled states:
    /// s · (1 − (1 − p)³) with p the progress through [pruneStart, pruneEnd] (Zhu & Gupta's schedule).
    public func pruneTarget(step: Int, total: Int) -> Float {
        guard prune > 0, total > 0 else { return 0 }
        let fraction = Float(step) / Float(total)
        let p = min(1, max(0, (fraction - pruneStart) / max(pruneEnd - pruneStart, 1e-6)))
        return prune * (1 - (1 - p) * (1 - p) * (1 - p))
    }

    public init() {}
    public init(from decoder: Decoder) throws { self = try Self.decoded(from: decoder) }
    public func encode(to encoder: Encoder) throws { try encodeSettings(to: encoder) }

    /// The factor on the distillation terms after `step` of `steps` collected states.
    public func distillationScale(step: Int) -> Float {
        switch distillationSchedule {
        case .constant: return 1
        case .linear: return max(0, 1 - Float(step) / (distillationDecayFraction * Float(max(steps, 1))))
        }
    }

    /// Probability that the teacher acts at `step` (1-based) under the data regime: DAgger's β.
    public func teacherShare(atStep step: Int) -> Float {
        switch regime {
        case .teacher: return 1
        case .mixed: return max(0, 1 - Float(step) / (mixFraction * Float(steps)))
        case .student, .offline: return 0
        }
    }

    /// The weight of a loss (0 when it is off).
    public func weight(of kind: LossKind) -> Float { losses.first { $0.kind == kind }?.weight ?? 0 }

    /// Sets a loss's weight (0 switches it off), keeping the summation order.
    public mutating func setWeight(_ weight: Float, of kind: LossKind) {
        losses.removeAll { $0.kind == kind }
        losses = LossSpec.normalised(losses + [LossTerm(kind, weight: weight)])
    }

    /// Names of the losses in use, e.g. ["kl", "task"].
    public var activeLosses: [String] { losses.map(\.kind.rawValue) }

    public var qMSEWeight: Float { get { weight(of: .qMSE) } set { setWeight(newValue, of: .qMSE) } }
    public var klWeight: Float { get { weight(of: .kl) } set { setWeight(newValue, of: .kl) } }
    public var crossEntropyWeight: Float { get { weight(of: .crossEntropy) } set { setWeight(newValue, of: .crossEntropy) } }
    /// λ in L = L_KD + λ·L_task.
    public var taskWeight: Float { get { weight(of: .task) } set { setWeight(newValue, of: .task) } }
    public var featureWeight: Float { get { weight(of: .feature) } set { setWeight(newValue, of: .feature) } }
    public var relationalWeight: Float { get { weight(of: .relational) } set { setWeight(newValue, of: .relational) } }
    public var flowWeight: Float { get { weight(of: .layerFlow) } set { setWeight(newValue, of: .layerFlow) } }
    /// Whether a loss reads the teacher's hidden layers (they are then stored with each label).
    public var usesTeacherHiddenLayers: Bool { featureWeight > 0 || relationalWeight > 0 || flowWeight > 0 }

    /// The hidden layers of each member of `teacher` the losses in use read (stored with each
    /// label, so a gradient step need not run the teacher): the feature layer, the last (relational), or all (flow).
    public func storedTeacherLayers(_ teacher: TeacherEnsemble) -> [[Int]] {
        teacher.networks.map { net in
            let count = net.hiddenSizes.count
            var layers = Set<Int>()
            if flowWeight > 0 { layers.formUnion(0..<count) }
            if relationalWeight > 0, count > 0 { layers.insert(count - 1) }
            if featureWeight > 0, let l = featureTeacherLayer, l < count { layers.insert(l) }
            return layers.sorted()
        }
    }
}

extension DistillConfig {
    /// The table of distillation settings: the only list of their names, kinds, ranges and help.
    public static var settings: SettingsTable<DistillConfig> {
        SettingsTable([
            .stringList("teachers", \.teachers, flag: "teacher", aliases: ["teacher"],
                        help: "Teacher model directory (repeat for an ensemble)."),
            .sizes("hidden_sizes", \.hiddenSizes, example: "16,16", flag: "hidden", aliases: ["hidden"], help: "Student hidden sizes, e.g. 16,16."),
            ConvSpec.setting(\.convolutions, help: "Student convolutions before its hidden layers (image/grid observations): OUT:KERNEL[:STRIDE[:PADDING]],… or minatar, nature, none."),
            .choice("activation", \.activation, help: "Non-linearity between the student's hidden layers."),
            .int("steps", \.steps, min: 1, max: DQNConfig.maxCount, help: "Teacher-labelled states to collect (environment steps)."),
            .int("seed", \.seed, min: 0, help: "Seed for the student, sampling and the environment."),
            .choice("regime", \.regime, help: "Who acts while states are collected: student (DAgger), teacher, mixed or offline."),
            .float("mix_fraction", \.mixFraction, .fractionExcludingZero,
                   help: "Mixed regime: fraction of steps over which the teacher's share falls from 1 to 0."),
            .float("acting_epsilon", \.actingEpsilon, .fraction, flag: "epsilon", aliases: ["epsilon"], help: "ε of the acting policy while collecting."),
            .optionalString("offline_observations", \.offlineObservations, help: "Observations (N × obs .npy) for the offline regime."),
            lossSpec,
            weight(.qMSE, "q_mse_weight", help: "Weight of the q-mse loss (also set by loss)."),
            weight(.kl, "kl_weight", help: "Weight of the kl loss (also set by loss)."),
            weight(.crossEntropy, "cross_entropy_weight", aliases: ["ce_weight"], help: "Weight of the ce loss (also set by loss)."),
            weight(.task, "task_weight", flag: "lambda", aliases: ["lambda"], help: "Weight λ of the student's own TD (task) loss."),
            weight(.feature, "feature_weight", help: "Weight of the feature loss (1 when feature_layer is given)."),
            weight(.relational, "relational_weight", help: "Weight of the relational (RKD distance + angle) loss on the last hidden layers."),
            weight(.layerFlow, "flow_weight", aliases: ["fsp_weight", "layer_relational_weight"],
                   help: "Weight of the layer-relational loss: the flow of batch similarities from layer to layer (FSP-style; same depth as the teacher)."),
            .float("temperature", \.temperature, .positive, help: "Softmax temperature of the kl loss."),
            .choice("distillation_schedule", \.distillationSchedule, aliases: ["lambda_schedule"],
                    help: "Weight of the distillation terms over the run: constant, or linear from 1 to 0 (kickstarting; needs --lambda)."),
            .float("distillation_decay_fraction", \.distillationDecayFraction, .fractionExcludingZero,
                   help: "Linear schedule: fraction of the steps over which the distillation weight falls to 0."),
            .float("gamma", \.gamma, .fractionExcludingZero, help: "Task loss: discount factor γ."),
            .bool("double_dqn", \.doubleDQN, help: "Task loss: Double DQN targets."),
            .int("n_step", \.nStep, min: 1, max: 1_000, help: "Task loss: n-step returns."),
            .int("target_update_interval", \.targetUpdateInterval, min: 1, max: DQNConfig.maxCount, help: "Task loss: gradient steps between target-network copies."),
            featureLayer,
            .optionalInt("feature_student_layer", \.featureStudentLayer, min: 0, help: "Feature loss: the student's hidden layer (from 0)."),
            .optionalInt("feature_teacher_layer", \.featureTeacherLayer, min: 0, help: "Feature loss: the teacher's hidden layer (from 0)."),
            .int("relational_angle_rows", \.relationalAngleRows, min: 3, max: 1 << 20, help: "Rows of each batch used for the angle-wise relational term."),
            .float("learning_rate", \.learningRate, .positive, aliases: ["lr"], help: "Adam learning rate of the student."),
            .int("batch_size", \.batchSize, min: 1, max: 1 << 20, help: "States per gradient step."),
            .int("buffer_size", \.bufferSize, min: 1, max: DQNConfig.maxCount, help: "Capacity of the labelled-state buffer."),
            .int("updates_per_step", \.updatesPerStep, min: 0, max: 10_000, help: "Gradient steps per collected state."),
            .int("final_updates", \.finalUpdates, min: 0, max: 100_000_000, help: "Extra gradient steps after collection (no new labels)."),
            .float("max_grad_norm", \.maxGradNorm, .positive, help: "Clip gradients to this global L2 norm."),
            .int("eval_interval", \.evalInterval, min: 0, max: DQNConfig.maxCount, help: "Steps between evaluations that keep the best student (0 = keep the final one)."),
            .int("eval_episodes", \.evalEpisodes, min: 1, max: 1_000_000, help: "Episodes per evaluation."),
            .int("eval_seed", \.evalSeed, min: 0, help: "Seed of the first evaluation episode."),
            .int("checkpoint_interval", \.checkpointInterval, min: 0, max: DQNConfig.maxCount, help: "Labelled states between checkpoints that --resume continues from (0 = only at the end and when stopped)."),
            .float("prune", \.prune, .fraction, flag: "prune",
                   help: "Pruning by distillation: the share of the dense weights set to exactly zero by the end (e.g. 0.9; 0 = dense)."),
            .choice("quantize", \.quantize, help: "Quantisation-aware distillation: int8 trains through int8-rounded weights and activations (straight-through gradients); then run distill quantize."),
            .bool("prune_units", \.pruneUnits, help: "Pruning: remove whole hidden units (incoming weights, bias, outgoing weights) instead of single weights."),
            .float("state_noise", \.stateNoise, .nonNegative,
                   help: "Robust distillation: the student sees states plus Gaussian noise of this many spreads per value and matches the teacher's labels on the clean ones (0 = none)."),
            .float("adversarial_epsilon", \.adversarialEpsilon, .nonNegative,
                   help: "Robust distillation: states moved within this many spreads (L-infinity) to maximise the student's loss, labelled by the teacher there (0 = none)."),
            .int("adversarial_steps", \.adversarialSteps, min: 1, max: 100, help: "Robust distillation: gradient-sign steps per adversarial state (1 = FGSM, more = PGD)."),
            .optionalString("collect_perturbation", \.collectPerturbation,
                            help: "Robust distillation: collect through a perturbed environment, random_actions:P, sticky_actions:P, observation_noise:S or dynamics:NAME=V1,V2,... (each episode the next value of an environment parameter), joined by + (the student visits what a perturbed deployment reaches; the evaluations that keep the best student run under it too)."),
            .choice("prune_scope", \.pruneScope, help: "Pruning single weights: global ranks all dense weights together by LAMP score (small layers keep more); layer prunes each matrix to the share."),
            .float("prune_start", \.pruneStart, .fraction, help: "Pruning: fraction of the run at which it starts."),
            .float("prune_end", \.pruneEnd, .fraction, help: "Pruning: fraction of the run by which the share is reached."),
            .int("generations", \.generations, min: 1, max: 100,
                 help: "Self-distillation: students distilled in sequence, each from the one before, into DIR/generation-G."),
        ], crossChecks: [
            { c in c.quantize == .int8 && c.activation != .relu
                ? SettingError(key: "quantize", template: "{quantize} int8 trains ReLU students (not tanh), the ones distill quantize converts.") : nil },
            { c in c.prune >= 1
                ? SettingError(key: "prune", template: "{prune} is the share of weights pruned, in (0, 1) (0 keeps the student dense); got \(c.prune).") : nil },
            { c in c.adversarialEpsilon > 0 && (c.featureWeight > 0 || c.relationalWeight > 0 || c.flowWeight > 0)
                ? SettingError(key: "adversarial_epsilon", template: "{adversarial_epsilon} relabels moved states by the teacher's outputs only; the feature, relational and flow losses compare hidden layers stored for the clean states, so use output losses (kl, ce, q-mse) with it.") : nil },
            { c in c.collectPerturbation != nil && c.collectPerturbations == nil
                ? SettingError(key: "collect_perturbation", template: "{collect_perturbation} takes random_actions:P or sticky_actions:P with P from 0 to 1, observation_noise:S with S spreads from 0 to 100, or dynamics:NAME=V1,V2,… (at most one of each kind, joined by +); got '\(c.collectPerturbation!)'.") : nil },
            { c in c.collectPerturbation != nil && c.regime == .offline
                ? SettingError(key: "collect_perturbation", template: "{collect_perturbation} changes how states are collected; the offline regime collects none.") : nil },
            { c in c.stateNoise > 100 || c.adversarialEpsilon > 100
                ? SettingError(key: "state_noise", template: "{state_noise} and {adversarial_epsilon} are measured in spreads of each observation value; keep them at most 100 (e.g. 0.1).") : nil },
            { c in c.prune > 0 && c.pruneStart >= c.pruneEnd
                ? SettingError(key: "prune_start", template: "{prune_start} (\(c.pruneStart)) must come before {prune_end} (\(c.pruneEnd)).") : nil },
            { c in c.teachers.isEmpty ? SettingError(key: "teachers", template: "{teachers} is required: the directory of a trained model (repeat it for an ensemble).") : nil },
            { c in c.regime == .offline && c.offlineObservations == nil
                ? SettingError(key: "regime", template: "{regime} offline needs {offline_observations} FILE.npy.") : nil },
            { c in c.regime == .offline && c.taskWeight > 0
                ? SettingError(key: "task_weight", template: "the task loss ({task_weight}) needs rewards, which the offline regime does not have.") : nil },
            { c in c.losses.isEmpty
                ? SettingError(key: "loss", template: "no loss is switched on; give {loss} (q-mse, kl, ce) or a positive {task_weight}, {feature_weight}, {relational_weight} or {flow_weight}.") : nil },
            { c in c.distillationSchedule == .linear && c.taskWeight == 0
                ? SettingError(key: "distillation_schedule", template: "{distillation_schedule} linear needs the task loss ({task_weight} > 0): once the distillation weight reaches 0 nothing else would train the student.") : nil },
            { c in c.batchSize > c.bufferSize
                ? SettingError(key: "batch_size", template: "{batch_size} (\(c.batchSize)) must be at most {buffer_size} (\(c.bufferSize)): a batch is drawn from the collected states.") : nil },
            { c in c.featureWeight > 0 && (c.featureStudentLayer == nil || c.featureTeacherLayer == nil)
                ? SettingError(key: "feature_weight", template: "{feature_weight} needs {feature_layer} STUDENT:TEACHER (hidden-layer indices, from 0).") : nil },
        ], normalise: { c in
            if c.offlineObservations != nil && c.regime == .student { c.regime = .offline }
        })
    }

    /// `loss`: the spec (`kl,q-mse:0.5`). Output-layer losses it does not name are switched off;
    /// task, feature and relational terms are kept unless it names them.
    static var lossSpec: Setting<DistillConfig> {
        Setting(key: "loss", kind: .string, help: "Losses: q-mse, kl, ce (and task, feature, relational, flow), comma-separated, each optionally name:weight.",
                aliases: ["losses"],
                read: { .string(LossSpec.format($0.losses)) },
                write: { c, v in
                    let terms: [LossTerm]
                    switch v {
                    case .string(let s): terms = try LossSpec.parse(s)
                    case .list(let items): terms = try LossSpec.parse(items.map(\.description).joined(separator: ","))
                    default: throw SettingError(key: "loss", template: "{loss} \(LossSpec.reason) (got \(v)).")
                    }
                    let outputLayer: Set<LossKind> = [.qMSE, .kl, .crossEntropy]
                    c.losses = LossSpec.normalised(c.losses.filter { !outputLayer.contains($0.kind) && !terms.map(\.kind).contains($0.kind) } + terms)
                })
    }

    /// A view of one loss's weight as its own setting (not stored: `loss` holds it).
    static func weight(_ kind: LossKind, _ key: String, flag: String? = nil, aliases: [String] = [], help: String) -> Setting<DistillConfig> {
        Setting(key: key, kind: .float, help: help, flag: flag, aliases: aliases, isStored: false,
                read: { .float($0.weight(of: kind)) },
                write: { c, v in
                    let w = try number(v, key)
                    guard w >= 0, w.isFinite else { throw SettingError(key: key, reason: "must be 0 or more", got: w) }
                    c.setWeight(w, of: kind)
                })
    }

    /// `feature_layer`: `S:T` sets both feature layers (and weight 1 unless one is given).
    static var featureLayer: Setting<DistillConfig> {
        Setting(key: "feature_layer", kind: .string, help: "Feature distillation layers STUDENT:TEACHER (hidden-layer indices from 0).",
                isStored: false,
                read: { c in
                    guard let s = c.featureStudentLayer, let t = c.featureTeacherLayer else { return .null }
                    return .string("\(s):\(t)")
                },
                write: { c, v in
                    let parts = v.description.split(separator: ":").map { Int($0) }
                    guard parts.count == 2, let s = parts[0], let t = parts[1], s >= 0, t >= 0 else {
                        throw SettingError(key: "feature_layer", template: "{feature_layer} takes STUDENT:TEACHER hidden-layer indices, e.g. 0:1 (got '\(v)').")
                    }
                    c.featureStudentLayer = s
                    c.featureTeacherLayer = t
                    if c.featureWeight == 0 { c.featureWeight = 1 }
                })
    }
}

/// One way `collect_perturbation` perturbs the collecting environment.
public enum CollectPerturbation: Equatable, Sendable {
    /// With probability P a random action replaces the acting policy's.
    case randomActions(Double)
    /// With probability P the previous action repeats.
    case stickyActions(Double)
    /// Gaussian noise of S spreads per observation value on what the acting policy sees.
    case observationNoise(Double)
    /// Episode e of collection plays the environment with parameter `name` at `values[e mod n]`
    /// (as written: a keyword gets an int where an int was written).
    case dynamics(name: String, values: [String])

    /// Perturbations joined by `+`, at most one of actions, observations and dynamics; nil
    /// when a part is malformed or a kind repeats.
    public static func parse(_ text: String) -> [CollectPerturbation]? {
        var parsed: [CollectPerturbation] = []
        for part in text.split(separator: "+", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let pieces = part.split(separator: ":", maxSplits: 1).map(String.init)
            guard pieces.count == 2 else { return nil }
            let (kind, argument) = (pieces[0], pieces[1])
            if kind == "dynamics" {
                let assignment = argument.split(separator: "=", maxSplits: 1).map(String.init)
                guard assignment.count == 2, !assignment[0].isEmpty, assignment[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
                let values = assignment[1].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard !values.contains(where: \.isEmpty) else { return nil }
                parsed.append(.dynamics(name: assignment[0], values: values))
                continue
            }
            guard let level = Double(argument), level >= 0 else { return nil }
            switch kind {
            case "random_actions" where level <= 1: parsed.append(.randomActions(level))
            case "sticky_actions" where level <= 1: parsed.append(.stickyActions(level))
            case "observation_noise" where level <= 100: parsed.append(.observationNoise(level))
            default: return nil
            }
        }
        let kinds = parsed.map(\.group)
        return Set(kinds).count == kinds.count ? parsed : nil
    }

    /// Perturbations of one group cannot be combined (one action rule, one noise, one parameter).
    var group: Int {
        switch self {
        case .randomActions, .stickyActions: return 0
        case .observationNoise: return 1
        case .dynamics: return 2
        }
    }
}
