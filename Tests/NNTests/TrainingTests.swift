import Foundation
import NN
import Tensor
import Testing

@Suite struct OptimizerTests {
    @Test func adamFirstStepsMatchHandComputation() {
        var p = [Tensor(shape: [2], scalars: [1, -1])]
        var adam = Adam(learningRate: 0.1)
        let g = [Tensor(shape: [2], scalars: [0.5, -2])]
        adam.step(&p, gradients: g)
        // First step: m̂ = g, v̂ = g², so the update is lr · g/(|g| + ε) = ±0.1.
        #expect(abs(p[0].scalars[0] - 0.9) < 1e-6 && abs(p[0].scalars[1] + 0.9) < 1e-6)
        adam.step(&p, gradients: [Tensor(shape: [2], scalars: [0, 0])])
        // Second step with zero gradient: m = 0.9·0.1·g, v = 0.999·0.001·g²; bias-corrected.
        let m̂ = 0.9 * 0.1 * 0.5 / (1 - 0.81), v̂ = 0.999 * 0.001 * 0.25 / (1 - 0.998001)
        #expect(abs(Double(p[0].scalars[0]) - (0.9 - 0.1 * m̂ / (v̂.squareRoot() + 1e-8))) < 1e-6)
    }

    @Test func sgdMomentumAndRMSprop() {
        var p = [Tensor(shape: [1], scalars: [1])]
        var sgd = SGD(learningRate: 0.1, momentum: 0.9)
        sgd.step(&p, gradients: [Tensor(shape: [1], scalars: [1])])
        sgd.step(&p, gradients: [Tensor(shape: [1], scalars: [1])])
        #expect(abs(p[0].scalars[0] - (1 - 0.1 - 0.19)) < 1e-6)
        var q = [Tensor(shape: [1], scalars: [1])]
        var rms = RMSprop(learningRate: 0.01, alpha: 0.99)
        rms.step(&q, gradients: [Tensor(shape: [1], scalars: [2])])
        #expect(abs(Double(q[0].scalars[0]) - (1 - 0.01 * 2 / ((0.01 * 4).squareRoot() + 1e-8))) < 1e-6)
    }

    @Test func globalNormClipping() {
        var g = [Tensor(shape: [2], scalars: [3, 0]), Tensor(shape: [1], scalars: [4])]
        let norm = clipByGlobalNorm(&g, maxNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        let after = g.reduce(Float(0)) { $0 + $1.squaredNorm() }.squareRoot()
        #expect(abs(after - 1) < 1e-4)
        var small = [Tensor(shape: [1], scalars: [0.5])]
        clipByGlobalNorm(&small, maxNorm: 1)
        #expect(small[0].scalars == [0.5])
    }
}

@Suite struct LearningTests {
    @Test func regressionReachesATightLoss() {
        var net = MLP(inputSize: 1, hiddenSizes: [32, 32], outputSize: 1, activation: .tanh, seed: 1)
        let xs = (0..<64).map { Float($0) / 16 - 2 }
        let x = Tensor(shape: [64, 1], scalars: xs)
        let y = Tensor(shape: [64, 1], scalars: xs.map { Foundation.sin(2 * $0) })
        var adam = Adam(learningRate: 3e-3)
        var loss: Float = .infinity
        for _ in 0..<3000 {
            let cache = net.forward(x)
            let l = Loss.mse(cache.output, y)
            loss = l.value
            var params = net.parameters
            adam.step(&params, gradients: net.backward(cache, outputGradient: l.gradient).parameters)
            net.parameters = params
        }
        #expect(loss < 2e-3, "final MSE \(loss)")
    }

    @Test func classificationLearnsXOR() {
        var net = MLP(inputSize: 2, hiddenSizes: [16], outputSize: 2, seed: 2)
        var rng = SeededGenerator(seed: 5)
        let points = (0..<128).map { _ in (rng.uniform(-1, 1), rng.uniform(-1, 1)) }
        let x = Tensor(shape: [128, 2], scalars: points.flatMap { [$0.0, $0.1] })
        let labels = points.map { ($0.0 > 0) != ($0.1 > 0) ? 1 : 0 }
        var adam = Adam(learningRate: 1e-2)
        var loss: Float = .infinity
        for _ in 0..<1500 {
            let cache = net.forward(x)
            let l = Loss.crossEntropy(logits: cache.output, labels: labels)
            loss = l.value
            var params = net.parameters
            adam.step(&params, gradients: net.backward(cache, outputGradient: l.gradient).parameters)
            net.parameters = params
        }
        let accuracy = zip(net(x).argmaxRows(), labels).filter { $0 == $1 }.count
        #expect(accuracy >= 126, "accuracy \(accuracy)/128")
        #expect(loss < 0.1, "final cross-entropy \(loss)")
    }

    @Test func sameSeedSameWeights() {
        let a = MLP(inputSize: 4, hiddenSizes: [8], outputSize: 2, seed: 42)
        let b = MLP(inputSize: 4, hiddenSizes: [8], outputSize: 2, seed: 42)
        let c = MLP(inputSize: 4, hiddenSizes: [8], outputSize: 2, seed: 43)
        #expect(a == b && a != c)
        let bound = 1 / Float(4).squareRoot()
        #expect(a.layers[0].weight.scalars.allSatisfy { abs($0) <= bound })
        #expect(a.parameterCount == 4 * 8 + 8 + 8 * 2 + 2)
    }
}

@Suite struct LargeBatchInferenceTests {
    /// A batch larger than two slices goes through in L2-sized products, with the bits of one product.
    @Test func slicedInferenceEqualsOneProduct() {
        let net = MLP(inputSize: 4, hiddenSizes: [256, 256], outputSize: 2, seed: 3)
        #expect(net.rowsPerProduct == 256)
        let rows = 3 * net.rowsPerProduct + 17
        let x = Tensor(shape: [rows, 4], scalars: (0..<(rows * 4)).map { Float(sin(Double($0) * 0.37)) })
        let sliced = net(x)
        #expect(sliced.shape == [rows, 2])
        #expect(sliced.scalars == net.forward(x).output.scalars)
        #expect(x.rows(5..<9).scalars == Array(x.scalars[20..<36]))
    }
}
