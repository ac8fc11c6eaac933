import NN
import Runs
import Tensor

/// The states a robust student trains on (issue 30): each state with Gaussian noise
/// (`state_noise`), or moved within an L∞ ball to where the student's loss against the teacher
/// is largest (`adversarial_epsilon`, `adversarial_steps`: FGSM for one step, PGD for more).
/// Both measure size in spreads: per observation value, the batch's standard deviation, so one
/// setting fits observations of any scale, as `distill robustness` measures noise.
enum RobustStates {
    /// Per column of `x`, the population standard deviation over the rows (`columnSpread`).
    static func spread(_ x: Tensor) -> [Float] { columnSpread(x) }

    /// A stream for gradient step `step` of a run seeded `seed`: resumed runs draw the same noise.
    static func generator(seed: Int, step: Int) -> SeededGenerator {
        SeededGenerator(seed: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(step) &* 0xC2B2_AE3D_27D4_EB4F ^ 0x5EED_0F0_0015E)
    }

    /// `x` plus `level` · spread · z per value (z standard normal).
    static func noised(_ x: Tensor, spread: [Float], level: Float, rng: inout SeededGenerator) -> Tensor {
        var out = x
        let columns = x.columnCount
        out.scalars.withUnsafeMutableBufferPointer { v in
            for i in v.indices { v[i] += level * spread[i % columns] * rng.normal() }
        }
        return out
    }

    /// Projected gradient ascent on the loss from `x`: each of `steps` steps moves every value by
    /// 2.5·ε/steps (ε alone for one step: FGSM) in the sign of the loss's input gradient, then
    /// back inside ε·spread of `x`. `gradient(z)` is dL/dz of the student's loss at z.
    static func adversarial(_ x: Tensor, spread: [Float], epsilon: Float, steps: Int, gradient: (Tensor) -> Tensor) -> Tensor {
        let columns = x.columnCount
        let stepSize = steps == 1 ? epsilon : 2.5 * epsilon / Float(steps)
        var z = x
        for _ in 0..<steps {
            let g = gradient(z)
            z.scalars.withUnsafeMutableBufferPointer { v in
                g.scalars.withUnsafeBufferPointer { d in
                    x.scalars.withUnsafeBufferPointer { origin in
                        for i in v.indices {
                            let radius = epsilon * spread[i % columns]
                            let moved = v[i] + stepSize * spread[i % columns] * (d[i] > 0 ? 1 : d[i] < 0 ? -1 : 0)
                            v[i] = min(origin[i] + radius, max(origin[i] - radius, moved))
                        }
                    }
                }
            }
        }
        return z
    }
}
