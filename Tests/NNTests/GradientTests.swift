import Foundation
import NN
import Tensor
import Testing

@Suite struct GradientTests {
    /// dL/dθ of L = Σ c ⊙ output (+ Σ d ⊙ hidden(0)) checked against central differences in Double.
    @Test(arguments: [Activation.relu, .tanh])
    func mlpBackwardMatchesFiniteDifferences(activation: Activation) {
        let net = MLP(inputSize: 3, hiddenSizes: [5, 4], outputSize: 2, activation: activation, seed: 7)
        let x = Tensor(shape: [4, 3], scalars: fixedValues(12, seed: 1))
        let c = Tensor(shape: [4, 2], scalars: fixedValues(8, seed: 2))
        let d = Tensor(shape: [4, 5], scalars: fixedValues(20, seed: 3))
        let cache = net.forward(x)
        let grads = net.backward(cache, outputGradient: c, hiddenGradients: [0: d], needInputGradient: true)

        func loss(_ m: DoubleMLP, _ input: [[Double]]) -> Double {
            let (out, hidden) = m.forward(input)
            var s = 0.0
            for i in 0..<4 {
                for j in 0..<2 { s += out[i][j] * Double(c[i, j]) }
                for j in 0..<5 { s += hidden[0][i][j] * Double(d[i, j]) }
            }
            return s
        }
        let reference = DoubleMLP(net)
        let h = 1e-6
        for l in 0..<net.layers.count {
            for (kind, analytic) in [(0, grads.parameters[2 * l]), (1, grads.parameters[2 * l + 1])] {
                for idx in 0..<analytic.count {
                    var plus = reference, minus = reference
                    if kind == 0 { plus.weights[l][idx] += h; minus.weights[l][idx] -= h }
                    else { plus.biases[l][idx] += h; minus.biases[l][idx] -= h }
                    let numeric = (loss(plus, rows(x)) - loss(minus, rows(x))) / (2 * h)
                    #expect(abs(Double(analytic.scalars[idx]) - numeric) < 1e-3 * max(1, abs(numeric)),
                            "layer \(l) \(kind == 0 ? "weight" : "bias")[\(idx)]: \(analytic.scalars[idx]) vs \(numeric)")
                }
            }
        }
        let dx = try! #require(grads.input)
        for i in 0..<4 { for j in 0..<3 {
            var xp = rows(x), xm = rows(x)
            xp[i][j] += h; xm[i][j] -= h
            let numeric = (loss(reference, xp) - loss(reference, xm)) / (2 * h)
            #expect(abs(Double(dx[i, j]) - numeric) < 1e-3 * max(1, abs(numeric)))
        } }
    }

    /// Each loss's gradient against central differences of a Double re-implementation.
    @Test func lossGradientsMatchFiniteDifferences() {
        let pred = Tensor(shape: [3, 4], scalars: fixedValues(12, seed: 4))
        let target = Tensor(shape: [3, 4], scalars: fixedValues(12, seed: 5).map { $0 * 0.7 + 0.3 })
        let teacher = Tensor(shape: [3, 4], scalars: fixedValues(12, seed: 6))
        let probs = teacher.softmaxRows()
        let labels = [2, 0, 3]

        func logSoftmax(_ row: [Double], _ t: Double) -> [Double] {
            let z = row.map { $0 / t }, m = z.max()!
            let lse = m + Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
            return z.map { $0 - lse }
        }
        let T = 0.5
        let targets: [Double] = target.scalars.map(Double.init)
        func mse(_ p: [[Double]]) -> Double {
            var s = 0.0
            for (a, b) in zip(p.flatMap { $0 }, targets) { s += (a - b) * (a - b) }
            return s / 12
        }
        func huber(_ p: [[Double]]) -> Double {
            var s = 0.0
            for (a, b) in zip(p.flatMap { $0 }, targets) {
                let d = abs(a - b)
                s += d < 1 ? 0.5 * d * d : d - 0.5
            }
            return s / 12
        }
        func kl(_ p: [[Double]]) -> Double {
            var s = 0.0
            for i in 0..<3 {
                let lt = logSoftmax(rows(teacher)[i], T), ls = logSoftmax(p[i], T)
                for j in 0..<4 { s += Foundation.exp(lt[j]) * (lt[j] - ls[j]) }
            }
            return s / 3
        }
        func ceSoft(_ p: [[Double]]) -> Double {
            var s = 0.0
            for i in 0..<3 {
                let l = logSoftmax(p[i], 1)
                for j in 0..<4 { s -= Double(probs[i, j]) * l[j] }
            }
            return s / 3
        }
        func ceLabels(_ p: [[Double]]) -> Double {
            var s = 0.0
            for i in 0..<3 { s -= logSoftmax(p[i], 1)[labels[i]] }
            return s / 3
        }
        let cases: [(String, LossResult, ([[Double]]) -> Double)] = [
            ("mse", Loss.mse(pred, target), mse),
            ("huber", Loss.huber(pred, target, delta: 1), huber),
            ("kl", Loss.klDivergence(teacher: teacher, student: pred, temperature: Float(T)), kl),
            ("ce-soft", Loss.crossEntropy(logits: pred, targetProbabilities: probs), ceSoft),
            ("ce-labels", Loss.crossEntropy(logits: pred, labels: labels), ceLabels),
        ]
        let h = 1e-6
        for (name, result, reference) in cases {
            #expect(abs(Double(result.value) - reference(rows(pred))) < 1e-5, "\(name) value")
            for i in 0..<3 { for j in 0..<4 {
                var p = rows(pred), m = rows(pred)
                p[i][j] += h; m[i][j] -= h
                let numeric = (reference(p) - reference(m)) / (2 * h)
                #expect(abs(Double(result.gradient[i, j]) - numeric) < 1e-4, "\(name) gradient [\(i),\(j)]: \(result.gradient[i, j]) vs \(numeric)")
            } }
        }
    }
}
