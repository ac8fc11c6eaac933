/// Every distillation setting, one plain struct. Loss weights of 0 switch a loss off.
public struct DistillConfig: Codable, Equatable, Sendable {
    /// Teacher model directories; several are an ensemble (their Q-values are averaged).
    public var teachers: [String] = []
    public var hiddenSizes = [16, 16]
    public var activation = "relu"
    /// Environment steps of data collection: each is one teacher-labelled state.
    public var steps = 20_000
    public var seed = 0
    /// "teacher", "student", "mixed" or "offline".
    public var regime = "student"
    /// In the mixed regime, the fraction of steps over which the chance that the teacher acts
    /// falls linearly from 1 to 0 (DAgger's β schedule).
    public var mixFraction: Float = 0.5
    /// ε of whichever policy acts while collecting.
    public var actingEpsilon: Float = 0.05
    /// For the offline regime: a .npy file of observations (N × observation size).
    public var offlineObservations: String?

    /// Output-layer distillation: MSE between student and teacher Q-values.
    public var qMSEWeight: Float = 0
    /// Policy distillation: KL(softmax(q_T/τ) ‖ softmax(q_S/τ)).
    public var klWeight: Float = 1
    public var temperature: Float = 0.01
    /// Cross-entropy of the teacher's greedy action.
    public var crossEntropyWeight: Float = 0
    /// λ in L = L_KD + λ·L_task: the student's own DQN TD loss from environment rewards.
    public var taskWeight: Float = 0
    public var gamma: Float = 0.99
    /// Gradient steps between updates of the student's own target network (task loss).
    public var targetUpdateInterval = 250

    /// Feature (hint) distillation: student hidden layer → learned linear projection → teacher hidden layer.
    public var featureWeight: Float = 0
    public var featureStudentLayer: Int?
    public var featureTeacherLayer: Int?
    /// Relational distillation (RKD) on the last hidden layers: distance-wise plus 2 × angle-wise.
    public var relationalWeight: Float = 0
    /// Rows of each batch used for the O(n³) angle-wise term.
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

    public init() {}

    /// snake_case names, as in manifests and Python keyword arguments.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case teachers, hiddenSizes = "hidden_sizes", activation, steps, seed, regime
        case mixFraction = "mix_fraction", actingEpsilon = "acting_epsilon", offlineObservations = "offline_observations"
        case qMSEWeight = "q_mse_weight", klWeight = "kl_weight", temperature, crossEntropyWeight = "cross_entropy_weight"
        case taskWeight = "task_weight", gamma, targetUpdateInterval = "target_update_interval"
        case featureWeight = "feature_weight", featureStudentLayer = "feature_student_layer"
        case featureTeacherLayer = "feature_teacher_layer", relationalWeight = "relational_weight"
        case relationalAngleRows = "relational_angle_rows", learningRate = "learning_rate", batchSize = "batch_size"
        case bufferSize = "buffer_size", updatesPerStep = "updates_per_step", finalUpdates = "final_updates"
        case maxGradNorm = "max_grad_norm", evalInterval = "eval_interval", evalEpisodes = "eval_episodes", evalSeed = "eval_seed"
    }

    /// Names of the losses in use, e.g. ["kl", "task"].
    public var activeLosses: [String] {
        var out: [String] = []
        if qMSEWeight > 0 { out.append("q-mse") }
        if klWeight > 0 { out.append("kl") }
        if crossEntropyWeight > 0 { out.append("ce") }
        if taskWeight > 0 { out.append("task") }
        if featureWeight > 0 { out.append("feature") }
        if relationalWeight > 0 { out.append("relational") }
        return out
    }

    /// A sentence naming the first invalid setting, or nil.
    public func validationError() -> String? {
        if teachers.isEmpty { return "--teacher is required: the directory of a trained model (repeat it for an ensemble)." }
        if hiddenSizes.isEmpty || hiddenSizes.contains(where: { $0 < 1 }) { return "--hidden takes positive sizes, e.g. 16,16." }
        if steps < 1 { return "--steps must be at least 1 (got \(steps))." }
        if !["teacher", "student", "mixed", "offline"].contains(regime) {
            return "--regime must be teacher, student, mixed or offline (got \(regime))."
        }
        if regime == "offline" && offlineObservations == nil { return "--regime offline needs --offline-observations FILE.npy." }
        if regime == "offline" && taskWeight > 0 { return "the task loss (--lambda) needs rewards, which the offline regime does not have." }
        if activeLosses.isEmpty { return "no loss is switched on; give --loss (q-mse, kl, ce) or a positive --lambda, --feature-weight or --relational-weight." }
        if !(temperature > 0) || !temperature.isFinite { return "--temperature must be positive (got \(temperature))." }
        for (w, f) in [(qMSEWeight, "q-mse weight"), (klWeight, "kl weight"), (crossEntropyWeight, "ce weight"), (taskWeight, "lambda"),
                       (featureWeight, "feature-weight"), (relationalWeight, "relational-weight")] where !(w >= 0 && w.isFinite) {
            return "the \(f) must be 0 or more (got \(w))."
        }
        if featureWeight > 0 && (featureStudentLayer == nil || featureTeacherLayer == nil) {
            return "--feature-weight needs --feature-layer STUDENT:TEACHER (hidden-layer indices, from 0)."
        }
        if !(actingEpsilon >= 0 && actingEpsilon <= 1) { return "--epsilon must be in [0, 1] (got \(actingEpsilon))." }
        if !(mixFraction > 0 && mixFraction <= 1) { return "--mix-fraction must be in (0, 1] (got \(mixFraction))." }
        if learningRate <= 0 { return "--learning-rate must be positive (got \(learningRate))." }
        if batchSize < 1 || bufferSize < 1 || updatesPerStep < 0 || finalUpdates < 0 || evalEpisodes < 1 || evalInterval < 0 {
            return "--batch-size, --buffer-size and --eval-episodes must be at least 1; --updates-per-step, --final-updates and --eval-interval 0 or more."
        }
        if !(gamma > 0 && gamma <= 1) { return "--gamma must be in (0, 1] (got \(gamma))." }
        if relationalAngleRows < 3 { return "--relational-angle-rows must be at least 3." }
        return nil
    }
}
