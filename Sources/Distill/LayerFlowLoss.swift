import NN
import Tensor

/// Relational distillation *between layers*, as seed 004 describes and in the spirit of the FSP
/// ("flow of solution procedure") matrices of Yim et al. (2017): what the student copies is how
/// each layer transforms the relations the layer before it saw, not the activations themselves.
///
/// FSP compares layer-pair Gram matrices over channels, which needs equal widths. Here the
/// relations live in sample space so student and teacher may differ in width: for a batch, each
/// representation (the observations, then every hidden layer) gives K = N·Nᵀ with N its rows
/// scaled to unit length (B × B cosine similarities), and the flow from one layer to the next is
/// F = K_l · K_{l+1} / B. The loss is the mean squared difference of the student's flows from the
/// teacher's, averaged over the layer pairs (observations → hidden 0 → hidden 1 → …), so student
/// and teacher need the same number of hidden layers. It is zero when each student layer is a
/// row-wise rescaling of the teacher's.
public struct LayerFlowLoss: RegisteredLoss {
    public init() {}
    public static let registeredKind = LossKind.layerFlow
    /// Hidden layers: any teacher's.
    public static func serves(_ head: OutputHead) -> String? { "" }
    public init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) {}

    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let layers = context.student.layerInputs.count - 1  // hidden layers
        let studentReps = (0...layers).map { context.student.layerInputs[$0] }
        let share = weight / Float(context.teacherCount)
        var total: Float = 0
        for k in 0..<context.teacherCount {
            var teacherReps = [context.batch.observations]
            for l in 0..<layers { teacherReps.append(context.teacherHidden(l, teacher: k)) }
            let r = Self.compute(student: studentReps, teacher: teacherReps)
            for l in 0..<layers { context.addHiddenGradient(r.gradients[l] * share, layer: l) }
            total += r.value
        }
        return total / Float(context.teacherCount)
    }

    /// Cosine similarities of the rows, K_ij = G_ij / (|h_i|·|h_j|), from the Gram matrix
    /// G = H·Hᵀ (one matrix product; rows of length 0 give 0), with G's diagonal roots.
    static func cosineGram(_ h: Tensor) -> (k: Tensor, norms: [Float]) {
        var k = Tensor.matmul(h, h, transposeB: true)
        let n = h.rowCount
        let norms = (0..<n).map { k.scalars[$0 * n + $0].squareRoot() }
        for i in 0..<n {
            for j in 0..<n {
                let d = norms[i] * norms[j]
                k.scalars[i * n + j] = d > 1e-12 ? k.scalars[i * n + j] / d : 0
            }
        }
        return (k, norms)
    }

    /// dL/dH from dL/dK through K_ij = G_ij / (n_i n_j), n_i = √G_ii, G = H·Hᵀ.
    static func cosineGramBackward(_ dK: Tensor, k: Tensor, norms: [Float], h: Tensor) -> Tensor {
        let n = h.rowCount
        var dG = Tensor(shape: [n, n])
        var s = [Float](repeating: 0, count: n)  // Σ over K's entries that n_i divides: dK·K
        for i in 0..<n {
            for j in 0..<n {
                let d = norms[i] * norms[j]
                guard d > 1e-12 else { continue }
                let g = dK.scalars[i * n + j]
                dG.scalars[i * n + j] += g / d
                let gk = g * k.scalars[i * n + j]
                s[i] += gk
                s[j] += gk
            }
        }
        for i in 0..<n where norms[i] > 1e-12 {
            // dn_i = −s_i / n_i; n_i = √G_ii: dG_ii += dn_i / (2 n_i).
            dG.scalars[i * n + i] += -s[i] / (2 * norms[i] * norms[i])
        }
        return Tensor.matmul(dG + dG.transposed(), h)
    }

    /// The flows F_l = K_l·K_{l+1} / B of representations `reps` (the observations first).
    public static func flows(_ reps: [Tensor]) -> [Tensor] {
        let grams = reps.map { cosineGram($0).k }
        let b = Float(reps[0].rowCount)
        return (0..<(reps.count - 1)).map { Tensor.matmul(grams[$0], grams[$0 + 1]) * (1 / b) }
    }

    /// The loss and its gradient with respect to the student's hidden representations
    /// (`student[1...]`; `student[0]` and `teacher[0]` are the shared observations).
    public static func compute(student: [Tensor], teacher: [Tensor]) -> (value: Float, gradients: [Tensor]) {
        precondition(student.count == teacher.count && student.count >= 2, "student and teacher need the same layer count")
        let b = student[0].rowCount
        let bf = Float(b)
        let cosines = student.map { cosineGram($0) }
        let grams = cosines.map(\.k)
        let teacherFlows = flows(teacher)
        let pairs = student.count - 1
        var value: Float = 0
        var gramGradients = grams.map { Tensor(shape: $0.shape) }
        let scale = 1 / (bf * bf * Float(pairs))
        for l in 0..<pairs {
            let f = Tensor.matmul(grams[l], grams[l + 1]) * (1 / bf)
            let diff = f - teacherFlows[l]
            value += diff.squaredNorm() * scale
            let dF = diff * (2 * scale)
            // F = Ka·Kb / B: dKa = dF·Kbᵀ / B, dKb = Kaᵀ·dF / B.
            gramGradients[l] += Tensor.matmul(dF, grams[l + 1], transposeB: true) * (1 / bf)
            gramGradients[l + 1] += Tensor.matmul(grams[l], dF, transposeA: true) * (1 / bf)
        }
        let gradients = (1..<student.count).map {
            cosineGramBackward(gramGradients[$0], k: grams[$0], norms: cosines[$0].norms, h: student[$0])
        }
        return (value, gradients)
    }
}
