import NN
import Tensor

/// The dueling aggregation Q(s, a) = V(s) + A(s, a) − mean_a A(s, a) over a network whose last
/// layer outputs [V, A_1 … A_n]. It is linear in that output, so a trained dueling network
/// folds into a plain Q head (`folded`) and every loader sees an ordinary MLP.
public enum DuelingHead {
    /// Q-values (batch × n) from raw outputs (batch × (n+1)).
    public static func combine(_ raw: Tensor) -> Tensor {
        var q = Tensor(shape: [0])
        combine(raw, into: &q)
        return q
    }

    /// `combine` into `q` (storage reused).
    public static func combine(_ raw: Tensor, into q: inout Tensor) {
        let n = raw.columnCount - 1
        q.prepare(rows: raw.rowCount, columns: n)
        for i in 0..<raw.rowCount {
            var meanA: Float = 0
            for a in 0..<n { meanA += raw[i, a + 1] }
            meanA /= Float(n)
            for a in 0..<n { q[i, a] = raw[i, 0] + raw[i, a + 1] - meanA }
        }
    }

    /// dL/d(raw) from dL/dQ.
    public static func backward(_ dq: Tensor) -> Tensor {
        var raw = Tensor(shape: [0])
        backward(dq, into: &raw)
        return raw
    }

    /// `backward` into `raw` (storage reused).
    public static func backward(_ dq: Tensor, into raw: inout Tensor) {
        let n = dq.columnCount
        raw.prepare(rows: dq.rowCount, columns: n + 1)
        for i in 0..<dq.rowCount {
            var sum: Float = 0
            for a in 0..<n { sum += dq[i, a] }
            raw[i, 0] = sum
            for a in 0..<n { raw[i, a + 1] = dq[i, a] - sum / Float(n) }
        }
    }

    /// The same function as a plain MLP with n outputs (the aggregation folded into the last layer).
    public static func folded(_ network: MLP) -> MLP {
        var net = network
        let last = net.layers[net.layers.count - 1]
        let h = last.inputSize, n = last.outputSize - 1
        var w = Tensor(shape: [h, n]), b = Tensor(shape: [n])
        for r in 0..<h {
            var meanA: Float = 0
            for a in 0..<n { meanA += last.weight[r, a + 1] }
            meanA /= Float(n)
            for a in 0..<n { w[r, a] = last.weight[r, 0] + last.weight[r, a + 1] - meanA }
        }
        var meanB: Float = 0
        for a in 0..<n { meanB += last.bias.scalars[a + 1] }
        meanB /= Float(n)
        for a in 0..<n { b.scalars[a] = last.bias.scalars[0] + last.bias.scalars[a + 1] - meanB }
        net.layers[net.layers.count - 1] = Linear(weight: w, bias: b)
        return net
    }
}
