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
    /// and averaged over the pairs i < j.
    public static func distance(student s: Tensor, teacher t: Tensor) -> LossResult {
        precondition(s.rowCount == t.rowCount, "student and teacher batches differ in size")
        let n = s.rowCount
        let ds = pairwiseDistances(s), dt = pairwiseDistances(t)
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
        let d = s.columnCount
        var grad = Tensor(shape: s.shape)
        for i in 0..<n { for j in (i + 1)..<n {
            let dist = ds[i * n + j]
            guard dist > 0 else { continue }
            let dD = g[i * n + j] / muS - weighted / (muS * muS * Float(pairs))
            for c in 0..<d {
                let u = (s[i, c] - s[j, c]) / dist * dD
                grad[i, c] += u
                grad[j, c] -= u
            }
        } }
        return LossResult(value: value / Float(pairs), gradient: grad)
    }

    /// Angle-wise: cosines of the angles each triplet (i, j, k) makes at j, compared with Huber
    /// and averaged over ordered triplets of distinct rows.
    public static func angle(student s: Tensor, teacher t: Tensor) -> LossResult {
        precondition(s.rowCount == t.rowCount, "student and teacher batches differ in size")
        let n = s.rowCount, d = s.columnCount
        let triplets = n * (n - 1) * (n - 2)
        guard triplets > 0 else { return LossResult(value: 0, gradient: Tensor(shape: s.shape)) }
        // Flat storage (no per-pair arrays): the same arithmetic in the same order, far fewer allocations.
        let (us, normS) = unitDifferences(s), (ut, _) = unitDifferences(t)
        let dT = t.columnCount
        var value: Float = 0
        var grad = [Float](repeating: 0, count: n * d)
        for j in 0..<n { for i in 0..<n where i != j { for k in 0..<n where k != j && k != i {
            let ni = normS[i * n + j], nk = normS[k * n + j]
            guard ni > 0, nk > 0 else { continue }
            let ei = (i * n + j) * d, ek = (k * n + j) * d
            var cosS: Float = 0
            for c in 0..<d { cosS += us[ei + c] * us[ek + c] }
            var cosT: Float = 0
            let ti = (i * n + j) * dT, tk = (k * n + j) * dT
            for c in 0..<dT { cosT += ut[ti + c] * ut[tk + c] }
            let diff = cosS - cosT
            value += abs(diff) < 1 ? 0.5 * diff * diff : abs(diff) - 0.5
            let g = (abs(diff) < 1 ? diff : (diff > 0 ? 1 : -1)) / Float(triplets)
            for c in 0..<d {
                let dxi = (us[ek + c] - cosS * us[ei + c]) / ni * g
                let dxk = (us[ei + c] - cosS * us[ek + c]) / nk * g
                grad[i * d + c] += dxi
                grad[k * d + c] += dxk
                grad[j * d + c] -= dxi + dxk
            }
        } } }
        return LossResult(value: value / Float(triplets), gradient: Tensor(shape: s.shape, scalars: grad))
    }

    private static func pairwiseDistances(_ x: Tensor) -> [Float] {
        let n = x.rowCount, d = x.columnCount
        var out = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in (i + 1)..<n {
            var s: Float = 0
            for c in 0..<d { let v = x[i, c] - x[j, c]; s += v * v }
            out[i * n + j] = s.squareRoot()
        } }
        return out
    }

    /// μ = Σ_{i<j} D_ij / P, as the gradient above assumes.
    private static func mean(_ dist: [Float], _ n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { for j in (i + 1)..<n { s += dist[i * n + j] } }
        return s / Float(n * (n - 1) / 2)
    }

    /// For each ordered pair (i, j): the unit vector from x_j to x_i (at (i·n + j)·d) and the
    /// distance (at i·n + j), in flat arrays.
    private static func unitDifferences(_ x: Tensor) -> (units: [Float], norms: [Float]) {
        let n = x.rowCount, d = x.columnCount
        let xs = x.scalars
        var units = [Float](repeating: 0, count: n * n * d), norms = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n where i != j {
            let base = (i * n + j) * d
            var squares: Float = 0
            for c in 0..<d {
                let v = xs[i * d + c] - xs[j * d + c]
                units[base + c] = v
                squares = squares + v * v
            }
            let norm = squares.squareRoot()
            if norm > 0 { for c in 0..<d { units[base + c] = units[base + c] / norm } }
            norms[i * n + j] = norm
        } }
        return (units, norms)
    }
}
