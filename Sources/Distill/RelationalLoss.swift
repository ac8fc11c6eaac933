import NN
import Tensor

/// Relational knowledge distillation (Park et al., 2019): the student matches the *structure*
/// of a batch's representations rather than the representations themselves, so student and
/// teacher layers may have different widths. Each function returns the loss and its gradient
/// with respect to the student's features.
public struct RelationalLoss: RegisteredLoss {
    /// Rows of each batch used for the O(n³) angle-wise term.
    public let angleRows: Int
    public init(angleRows: Int) { self.angleRows = angleRows }
    public static let registeredKind = LossKind.relational
    /// Hidden layers: any teacher's.
    public static func serves(_ head: OutputHead) -> String? { "" }
    public init(config: DistillConfig, student: MLP, teacher: TeacherEnsemble) { self.init(angleRows: config.relationalAngleRows) }

    /// Distance-wise plus 2 × angle-wise on the last hidden layers of student and teacher (an
    /// ensemble's members each give a term; they are averaged). One Gram matrix per side serves
    /// both terms (the angle term reads its first `angleRows` rows' block), and their gradients
    /// go back through one product.
    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let ls = context.student.layerInputs.count - 2
        let hS = context.student.hidden(ls)
        let n = hS.rowCount, m = min(angleRows, n)
        let gs = Self.gram(hS)
        let share = weight / Float(context.teacherCount)
        var total: Float = 0
        var dG = [Float](repeating: 0, count: n * n)
        for k in 0..<context.teacherCount {
            let gt = Self.gram(context.teacherHidden(context.teacherHiddenLayerCount(k) - 1, teacher: k))
            total += Self.distanceTerm(gs, gt, n: n, scale: share, into: &dG)
            total += 2 * Self.angleTerm(gs, gt, stride: n, rows: m, scale: 2 * share, into: &dG)
        }
        context.addHiddenGradient(Self.gramBackward(dG, hS), layer: ls)
        return total / Float(context.teacherCount)
    }

    /// Distance-wise: pairwise distances normalised by their mean, compared with Huber (δ = 1)
    /// and averaged over the pairs i < j. Distances come from the Gram matrix G = X·Xᵀ (one
    /// matrix product, so wide teacher layers cost a product, not per-pair loops), and the
    /// gradient goes back through G: dX = (dG + dGᵀ)·X.
    public static func distance(student s: Tensor, teacher t: Tensor) -> LossResult {
        precondition(s.rowCount == t.rowCount, "student and teacher batches differ in size")
        let n = s.rowCount
        var dG = [Float](repeating: 0, count: n * n)
        let value = distanceTerm(gram(s), gram(t), n: n, scale: 1, into: &dG)
        return LossResult(value: value, gradient: gramBackward(dG, s))
    }

    /// Angle-wise: cosines of the angles each triplet (i, j, k) makes at j, compared with Huber
    /// and averaged over ordered triplets of distinct rows. Each cosine is
    /// (G_ik − G_ij − G_kj + G_jj) / (D_ij·D_kj), all from the Gram matrix.
    /// `rows` limits the triplets to the first rows (all by default); the gradient keeps every row (0 beyond them).
    public static func angle(student s: Tensor, teacher t: Tensor, rows: Int? = nil) -> LossResult {
        precondition(s.rowCount == t.rowCount, "student and teacher batches differ in size")
        let n = s.rowCount
        var dG = [Float](repeating: 0, count: n * n)
        let value = angleTerm(gram(s), gram(t), stride: n, rows: min(rows ?? n, n), scale: 1, into: &dG)
        return LossResult(value: value, gradient: gramBackward(dG, s))
    }

    /// The distance-wise loss from the Gram matrices (n × n); adds `scale` × dL/dG into `dG`.
    /// (ψ = D / μ with μ the mean distance, D = √(G_ii + G_jj − 2 G_ij); the loops are a C kernel.)
    static func distanceTerm(_ gs: [Float], _ gt: [Float], n: Int, scale: Float, into dG: inout [Float]) -> Float {
        Kernels.relationalDistance(studentGram: gs, teacherGram: gt, n: n, scale: scale, into: &dG)
    }

    /// The angle-wise loss over the first `rows` rows, reading the Gram matrices (row stride
    /// `stride`); adds `scale` × dL/dG into `dG`. The cosine at j is symmetric in i and k, so
    /// each unordered pair {i, k} is computed once for both orders (a C kernel).
    static func angleTerm(_ gs: [Float], _ gt: [Float], stride n: Int, rows m: Int, scale: Float, into dG: inout [Float]) -> Float {
        Kernels.relationalAngle(studentGram: gs, teacherGram: gt, n: n, rows: m, scale: scale, into: &dG)
    }

    /// G = X·Xᵀ, flat.
    static func gram(_ x: Tensor) -> [Float] { Tensor.matmul(x, x, transposeB: true).scalars }

    /// dX from dL/dG (entries as the formulas used them): G = X·Xᵀ gives dX = (dG + dGᵀ)·X.
    static func gramBackward(_ dG: [Float], _ x: Tensor) -> Tensor {
        let n = x.rowCount
        return Tensor.matmul(Tensor(shape: [n, n], scalars: Kernels.symmetrized(dG, n: n)), x)
    }
}
