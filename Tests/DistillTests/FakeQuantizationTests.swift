import Distill
import NN
import Tensor
import Testing

/// Quantisation-aware distillation's forward pass: weights and layer inputs on their int8 grids.
@Suite struct FakeQuantizationTests {
    @Test func weightsLandOnTheirOutputUnitsInt8Grid() {
        let net = MLP(inputSize: 5, hiddenSizes: [16], outputSize: 3, seed: 4)
        let q = FakeQuantizer.quantizedWeights(net)
        for (layer, original) in zip(q.layers, net.layers) {
            let (inputs, outputs) = (layer.inputSize, layer.outputSize)
            for j in 0..<outputs {
                let scale = (0..<inputs).map { abs(original.weight.scalars[$0 * outputs + j]) }.max()! / 127
                for i in 0..<inputs {
                    let steps = layer.weight.scalars[i * outputs + j] / scale
                    #expect(abs(steps - steps.rounded()) < 1e-3 && abs(steps) <= 127.001)
                    #expect(abs(layer.weight.scalars[i * outputs + j] - original.weight.scalars[i * outputs + j]) <= scale / 2 * 1.0001)
                }
            }
            #expect(layer.bias == original.bias, "biases stay float (int32 in the int8 model)")
        }
    }

    @Test func layerInputsLandOnTheirRangesGrid() {
        let net = FakeQuantizer.quantizedWeights(MLP(inputSize: 4, hiddenSizes: [8, 8], outputSize: 2, seed: 1))
        var rng = SeededGenerator(seed: 2)
        let x = Tensor(shape: [32, 4], scalars: (0..<128).map { _ in rng.uniform(-3, 3) })
        var quantizer = FakeQuantizer()
        var cache = MLP.Cache()
        quantizer.forward(net, x, into: &cache)
        #expect(quantizer.ranges.count == 3)
        for (k, input) in cache.layerInputs.enumerated() {
            let scale = quantizer.ranges[k] / 127
            #expect(input.scalars.allSatisfy { abs($0 / scale - ($0 / scale).rounded()) < 1e-3 }, "layer \(k)")
        }
        // The last layer's output is the plain product of its (rounded) input: what the int8 network's float scale gives.
        let expected = Tensor.linear(cache.layerInputs[2], net.layers[2].weight, net.layers[2].bias)
        #expect(cache.output == expected)
    }
}
