import NN
import Tensor

/// Relational knowledge distillation (Park et al., 2019): the student matches the *structure*
/// of a batch's representations rather than the representations themselves, so student and
/// teacher layers may have different widths. Each function returns the loss and its gradient
/// with respect to the student's features.
public struct RelationalLoss: DistillationLoss {
    public let kind = LossKind.relational
    /// Rows of each batch used for the O(n³) angle-wise term.
    public let angleRows: Int
    public init(angleRows: Int) { self.angleRows = angleRows }

    /// Distance-wise plus 2 × angle-wise on the last hidden layers of student and teacher (an
    /// ensemble's members each give a term; they are averaged).
    public mutating func apply(weight: Float, to context: inout LossContext) -> Float {
        let ls = context.student.layerInputs.count - 2
        let hS = context.student.hidden(ls)
        let share = weight / Float(context.teacherCount)
        var total: Float = 0
        for k in 0..<context.teacherCount {
            let hT = context.teacherHidden(context.teacherHiddenLayerCount(k) - 1, teacher: k)
            let distance = Self.distance(student: hS, teacher: hT)
            let m = min(angleRows, hS.rowCount)
            let angle = Self.angle(student: Self.firstRows(hS, m), teacher: Self.firstRows(hT, m))
            var g = distance.gradient
            for i in 0..<m { for c in 0..<hS.columnCount { g[i, c] += 2 * angle.gradient[i, c] } }
            context.addHiddenGradient(g * share, layer: ls)
            total += distance.value + 2 * angle.value
        }
        return total / Float(context.teacherCount)
    }

    static func firstRows(_ t: Tensor, _ m: Int) -> Tensor {
        Tensor(shape: [m, t.columnCount], scalars: Array(t.scalars[0..<(m * t.columnCount)]))
    }

    /// Distance-wise: pairwise distances normalised by their mean, compared with Huber (δ = 1)
    /// and averaged over the pairs i < j. Distances come from the Gram matrix G = X·Xᵀ (one
    /// matrix product, so wide teacher layers cost a product, not per-pair loops), and the
    /// gradient goes back through G: dX = (dG + dGᵀ)·X.
    public static func distance(student s: Tensor, teacher t: Tensor) -> LossResult {
        precondition(s.rowCount == t.rowCount, "student and teacher batches differ in size")
        let n = s.rowCount
        let gs = gram(s), gt = gram(t)
        let ds = distances(gs, n), dt = distances(gt, n)
        let pairs = n * (n - 1) / 2
        guard pairs > 0 else { return LossResult(value: 0, gradient: Tensor(shape: s.shape)) }
        let muS = mean(ds, n), muT = mean(dt, n)
        guard muS > 0, muT > 0 else { return LossResult(value: 0, gradient: Tensor(shape: s.shape)) }
        var value: Float = 0
        var g = [Float](repeating: 0, count: n * n)  // dL/dψ_S for i < j
        for i in 0..<n { for j in (i + 1)..<n {
            let diff = ds[i * n + j] / muS - dt[i * n + j] / muT
            value += abs(diff) < 1 ? 0.5 * diff * diff : abs(diff) - 0.5
            g[i * n + j] = (abs(diff) < 1 ? diff : (diff > 0 ? 1 : -1)) / Float(pairs)
        } }
        // ψ = D / μ with μ = ΣD / P: dL/dD_kl = g_kl / μ − (Σ g_ij D_ij) / (μ² P).
        var weighted: Float = 0
        for i in 0..<n { for j in (i + 1)..<n { weighted += g[i * n + j] * ds[i * n + j] } }
        var dG = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in (i + 1)..<n {
            let dD = g[i * n + j] / muS - weighted / (muS * muS * Float(pairs))
            addDistanceGradient(dD, i, j, distance: ds[i * n + j], n: n, to: &dG)
        } }
        return LossResult(value: value / Float(pairs), gradient: gramBackward(dG, s))
    }

    /// Angle-wise: cosines of the angles each triplet (i, j, k) makes at j, compared with Huber
    /// and averaged over ordered triplets of distinct rows. Each cosine is
    /// (G_ik − G_ij − G_kj + G_jj) / (D_ij·D_kj), all from the Gram matrix.
    public static func angle(student s: Tensor, teacher t: Tensor) -> LossResult {
        precondition(s.rowCount == t.rowCount, "student and teacher batches differ in size")
        let n = s.rowCount
        let triplets = n * (n - 1) * (n - 2)
        guard triplets > 0 else { return LossResult(value: 0, gradient: Tensor(shape: s.shape)) }
        let gs = gram(s), gt = gram(t)
        let ds = distances(gs, n, full: true), dt = distances(gt, n, full: true)
        var value: Float = 0
        var dG = [Float](repeating: 0, count: n * n)
        for j in 0..<n { for i in 0..<n where i != j { for k in 0..<n where k != j && k != i {
            let dij = ds[i * n + j], dkj = ds[k * n + j]
            guard dij > 0, dkj > 0 else { continue }
            let p = gs[i * n + k] - gs[i * n + j] - gs[k * n + j] + gs[j * n + j]
            let cosS = p / (dij * dkj)
            let tij = dt[i * n + j], tkj = dt[k * n + j]
            let cosT = tij > 0 && tkj > 0 ? (gt[i * n + k] - gt[i * n + j] - gt[k * n + j] + gt[j * n + j]) / (tij * tkj) : 0
            let diff = cosS - cosT
            value += abs(diff) < 1 ? 0.5 * diff * diff : abs(diff) - 0.5
            let g = (abs(diff) < 1 ? diff : (diff > 0 ? 1 : -1)) / Float(triplets)
            // cos = P / (D_ij D_kj): dP = g / (D_ij D_kj), dD_ij = −g cos / D_ij, dD_kj = −g cos / D_kj.
            let dP = g / (dij * dkj)
            dG[i * n + k] += dP
            dG[i * n + j] -= dP
            dG[k * n + j] -= dP
            dG[j * n + j] += dP
            addDistanceGradient(-g * cosS / dij, i, j, distance: dij, n: n, to: &dG)
            addDistanceGradient(-g * cosS / dkj, k, j, distance: dkj, n: n, to: &dG)
        } } }
        return LossResult(value: value / Float(triplets), gradient: gramBackward(dG, s))
    }

    /// G = X·Xᵀ, flat.
    static func gram(_ x: Tensor) -> [Float] { Tensor.matmul(x, x, transposeB: true).scalars }

    /// D_ij = √(G_ii + G_jj − 2·G_ij) for i < j (and j < i too when `full`), 0 on the diagonal.
    static func distances(_ g: [Float], _ n: Int, full: Bool = false) -> [Float] {
        var out = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in (full ? 0 : i + 1)..<n where j != i {
            out[i * n + j] = max(g[i * n + i] + g[j * n + j] - 2 * g[i * n + j], 0).squareRoot()
        } }
        return out
    }

    /// dD_ij into dG: D = √(G_ii + G_jj − 2 G_ij).
    static func addDistanceGradient(_ dD: Float, _ i: Int, _ j: Int, distance: Float, n: Int, to dG: inout [Float]) {
        guard distance > 0 else { return }
        let h = dD / (2 * distance)
        dG[i * n + i] += h
        dG[j * n + j] += h
        dG[i * n + j] -= 2 * h
    }

    /// dX from dL/dG (entries as the formulas used them): G = X·Xᵀ gives dX = (dG + dGᵀ)·X.
    static func gramBackward(_ dG: [Float], _ x: Tensor) -> Tensor {
        let n = x.rowCount
        let m = Tensor(shape: [n, n], scalars: dG)
        return Tensor.matmul(m + m.transposed(), x)
    }

    /// μ = Σ_{i<j} D_ij / P, as the gradient above assumes.
    private static func mean(_ dist: [Float], _ n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { for j in (i + 1)..<n { s += dist[i * n + j] } }
        return s / Float(n * (n - 1) / 2)
    }
}
