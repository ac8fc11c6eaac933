import NN
import Tensor

/// An independent Double-precision forward pass of an MLP, for finite differences.
struct DoubleMLP {
    var weights: [[Double]]  // per layer, (in × out) row-major
    var biases: [[Double]]
    var sizes: [Int]
    var activation: Activation

    init(_ net: MLP) {
        weights = net.layers.map { $0.weight.scalars.map(Double.init) }
        biases = net.layers.map { $0.bias.scalars.map(Double.init) }
        sizes = [net.inputSize] + net.layers.map(\.outputSize)
        activation = net.activation
    }

    /// Outputs (rows × out) and every hidden layer's activations.
    func forward(_ x: [[Double]]) -> (output: [[Double]], hidden: [[[Double]]]) {
        var h = x
        var hidden: [[[Double]]] = []
        for l in 0..<weights.count {
            let (nin, nout) = (sizes[l], sizes[l + 1])
            h = h.map { row in
                (0..<nout).map { j in
                    var s = biases[l][j]
                    for i in 0..<nin { s += row[i] * weights[l][i * nout + j] }
                    return s
                }
            }
            if l < weights.count - 1 {
                h = h.map { $0.map { activation == .relu ? max($0, 0) : _tanh($0) } }
                hidden.append(h)
            }
        }
        return (h, hidden)
    }
}

import Foundation
func _tanh(_ x: Double) -> Double { Foundation.tanh(x) }

func rows(_ t: Tensor) -> [[Double]] {
    (0..<t.rowCount).map { t.row($0).map(Double.init) }
}

func fixedValues(_ n: Int, seed: Int) -> [Float] {
    (0..<n).map { i in Float(Foundation.sin(Double(i * 7 + seed * 13) * 0.37)) * 1.5 }
}
