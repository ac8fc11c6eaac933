import DQN
import NN
import Tensor

/// One distillation gradient step's loss values, by name.
public typealias LossParts = [String: Float]

/// The student, its optimiser, and what the auxiliary losses need (a feature projection, the
/// student's own target network for the task loss). `update` applies
/// L = Σ w·L_KD + w_f·L_feature + w_r·(L_distance + 2·L_angle) + λ·L_task in one backward pass.
public struct StudentLearner: Sendable {
    public private(set) var student: MLP
    public private(set) var target: MLP
    public private(set) var projection: Linear?
    public private(set) var gradientSteps = 0
    private var optimizer: Adam
    private var projectionOptimizer: Adam
    public let config: DistillConfig

    public init(student: MLP, teacher: TeacherEnsemble, config: DistillConfig) {
        self.student = student
        self.target = student
        self.config = config
        optimizer = Adam(learningRate: config.learningRate)
        projectionOptimizer = Adam(learningRate: config.learningRate)
        if config.featureWeight > 0, let ls = config.featureStudentLayer, let lt = config.featureTeacherLayer {
            var rng = SeededGenerator(seed: UInt64(config.seed) &+ 77)
            projection = Linear(inputs: student.hiddenSizes[ls], outputs: teacher.networks[0].hiddenSizes[lt], rng: &rng)
        }
    }

    public mutating func update(_ batch: TransitionBatch, teacherQ: Tensor, teacher: TeacherEnsemble) -> LossParts {
        let cache = student.forward(batch.observations)
        let q = cache.output
        var dq = Tensor(shape: q.shape)
        var parts: LossParts = [:]
        var hiddenGradients: [Int: Tensor] = [:]
        // One teacher forward serves both the feature and the relational targets.
        var teacherCache: MLP.Cache?
        func teacherHidden(_ layer: Int) -> Tensor {
            if teacherCache == nil { teacherCache = teacher.networks[0].forward(batch.observations) }
            return teacherCache!.hidden(layer)
        }
        func add(_ name: String, _ weight: Float, _ r: LossResult) {
            parts[name] = r.value
            dq += r.gradient * weight
        }
        if config.qMSEWeight > 0 { add("q_mse", config.qMSEWeight, Loss.mse(q, teacherQ)) }
        if config.klWeight > 0 {
            add("kl", config.klWeight, Loss.klDivergence(teacher: teacherQ, student: q, temperature: config.temperature))
        }
        if config.crossEntropyWeight > 0 {
            add("ce", config.crossEntropyWeight, Loss.crossEntropy(logits: q, labels: teacherQ.argmaxRows()))
        }
        if config.taskWeight > 0 {
            let y = batch.rewards + batch.bootstrapDiscounts * target(batch.nextObservations).maxRows()
            let r = Loss.huber(q.gather(columns: batch.actions), y)
            parts["task"] = r.value
            dq += Tensor.scatter(r.gradient, columns: batch.actions, shape: q.shape) * config.taskWeight
        }
        if var proj = projection, let ls = config.featureStudentLayer, let lt = config.featureTeacherLayer {
            let hS = cache.hidden(ls)
            let f = FeatureLoss.compute(studentHidden: hS, projection: proj, teacherHidden: teacherHidden(lt))
            parts["feature"] = f.value
            hiddenGradients[ls, default: Tensor(shape: hS.shape)] += f.hiddenGradient * config.featureWeight
            var params = [proj.weight, proj.bias]
            projectionOptimizer.step(&params, gradients: [f.weightGradient * config.featureWeight, f.biasGradient * config.featureWeight])
            proj.weight = params[0]
            proj.bias = params[1]
            projection = proj
        }
        if config.relationalWeight > 0 {
            let ls = student.hiddenSizes.count - 1, lt = teacher.networks[0].hiddenSizes.count - 1
            let hS = cache.hidden(ls), hT = teacherHidden(lt)
            let distance = RelationalLoss.distance(student: hS, teacher: hT)
            let m = min(config.relationalAngleRows, hS.rowCount)
            let angle = RelationalLoss.angle(student: rows(hS, m), teacher: rows(hT, m))
            parts["relational"] = distance.value + 2 * angle.value
            var g = distance.gradient
            for i in 0..<m { for c in 0..<hS.columnCount { g[i, c] += 2 * angle.gradient[i, c] } }
            hiddenGradients[ls, default: Tensor(shape: hS.shape)] += g * config.relationalWeight
        }
        var grads = student.backward(cache, outputGradient: dq, hiddenGradients: hiddenGradients)
        clipByGlobalNorm(&grads.parameters, maxNorm: config.maxGradNorm)
        optimizer.step(&student, gradients: grads)
        gradientSteps += 1
        if config.taskWeight > 0 && gradientSteps % config.targetUpdateInterval == 0 { target = student }
        return parts
    }

    private func rows(_ t: Tensor, _ m: Int) -> Tensor {
        Tensor(shape: [m, t.columnCount], scalars: Array(t.scalars[0..<(m * t.columnCount)]))
    }
}
