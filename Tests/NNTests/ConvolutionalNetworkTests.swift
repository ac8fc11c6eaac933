import NN
import Tensor
import Testing

/// A network with convolutions before its dense layers: gradients of every parameter and of the
/// input against central differences of the Float network (tanh keeps the function smooth, so
/// h = 1e-2 differences agree to ~1e-3), and the parameter order the optimisers rely on.
@Suite struct ConvolutionalNetworkTests {
    @Test(arguments: [Activation.tanh])
    func backwardMatchesFiniteDifferences(activation: Activation) {
        let net = MLP(observationShape: [6, 5, 2], convolutions: [ConvSpec(outputChannels: 3, kernel: 3, stride: 1, padding: 1),
                                                            ConvSpec(outputChannels: 4, kernel: 2, stride: 2)],
                      hiddenSizes: [5], outputSize: 2, activation: activation, seed: 3)
        #expect(net.inputSize == 60 && net.inputShape == [6, 5, 2] && net.layers[0].inputSize == 3 * 2 * 4)
        let x = Tensor(shape: [3, 60], scalars: fixedValues(180, seed: 4))
        let c = Tensor(shape: [3, 2], scalars: fixedValues(6, seed: 5))
        let grads = net.backward(net.forward(x), outputGradient: c, needInputGradient: true)
        func loss(_ m: MLP, _ input: Tensor) -> Double {
            zip(m(input).scalars, c.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let h: Float = 1e-2
        let params = net.parameters
        #expect(grads.parameters.map(\.shape) == params.map(\.shape), "convolutions first, then the dense layers")
        for p in params.indices {
            for idx in stride(from: 0, to: params[p].count, by: max(1, params[p].count / 12)) {
                var plus = net, minus = net
                var pp = params, pm = params
                pp[p].scalars[idx] += h
                pm[p].scalars[idx] -= h
                plus.parameters = pp
                minus.parameters = pm
                let numeric = (loss(plus, x) - loss(minus, x)) / Double(2 * h)
                #expect(abs(Double(grads.parameters[p].scalars[idx]) - numeric) < 2e-3, "parameter \(p)[\(idx)]")
            }
        }
        let dx = try! #require(grads.input)
        for idx in stride(from: 0, to: x.count, by: 7) {
            var xp = x, xm = x
            xp.scalars[idx] += h
            xm.scalars[idx] -= h
            let numeric = (loss(net, xp) - loss(net, xm)) / Double(2 * h)
            #expect(abs(Double(dx.scalars[idx]) - numeric) < 2e-3, "input[\(idx)]")
        }
    }

    @Test func aSingleObservationTakesTheBatchedPath() {
        let net = MLP(observationShape: [4, 4, 1], convolutions: [ConvSpec(outputChannels: 2, kernel: 2)], hiddenSizes: [4],
                      outputSize: 3, seed: 1)
        let obs = fixedValues(16, seed: 2)
        let batch = net(Tensor(shape: [1, 16], scalars: obs)).scalars
        #expect(Policy(net).qValues(obs) == batch)
        #expect(Policy(net).action(obs) == batch.indices.max { batch[$0] < batch[$1] })
        #expect(net.parameterCount == (2 * 2 * 1 * 2 + 2) + (3 * 3 * 2 * 4 + 4) + (4 * 3 + 3))
        #expect(net.flopsPerSample > MLP(inputSize: 18, hiddenSizes: [4], outputSize: 3, seed: 1).flopsPerSample)
    }

    /// A (C, H, W) network is the (H, W, C) network with the same weights, fed the transposed
    /// image: outputs equal, parameter gradients equal, and the input gradient is the transposed one.
    @Test func channelsFirstImagesAreTheTransposedChannelsLastOnes() {
        let specs = [ConvSpec(outputChannels: 3, kernel: 2, stride: 1, padding: 1)]
        let chw = MLP(observationShape: [2, 5, 6], convolutions: specs, hiddenSizes: [4], outputSize: 3, seed: 7)
        #expect(chw.channelsFirst && chw.inputShape == [5, 6, 2] && chw.observationShape == [2, 5, 6])
        var hwc = MLP(observationShape: [5, 6, 2], convolutions: specs, hiddenSizes: [4], outputSize: 3, seed: 8)
        #expect(!hwc.channelsFirst)
        hwc.parameters = chw.parameters
        let n = 3
        let x = Tensor(shape: [n, 60], scalars: fixedValues(n * 60, seed: 9))
        // (n, C, H, W) → (n, H, W, C) by hand.
        var t = Tensor(shape: [n, 60])
        for i in 0..<n { for c in 0..<2 { for y in 0..<5 { for w in 0..<6 {
            t.scalars[i * 60 + (y * 6 + w) * 2 + c] = x.scalars[i * 60 + (c * 5 + y) * 6 + w]
        } } } }
        #expect(chw(x) == hwc(t))
        let dy = Tensor(shape: [n, 3], scalars: fixedValues(n * 3, seed: 10))
        let g1 = chw.backward(chw.forward(x), outputGradient: dy, needInputGradient: true)
        let g2 = hwc.backward(hwc.forward(t), outputGradient: dy, needInputGradient: true)
        #expect(g1.parameters == g2.parameters)
        let d1 = try! #require(g1.input), d2 = try! #require(g2.input)
        for i in 0..<n { for c in 0..<2 { for y in 0..<5 { for w in 0..<6 {
            #expect(d1.scalars[i * 60 + (c * 5 + y) * 6 + w] == d2.scalars[i * 60 + (y * 6 + w) * 2 + c])
        } } } }
        // SB3's rule: the smallest axis first means channels first; MinAtar's grids are channels last.
        #expect(MLP.imageLooksChannelsFirst([4, 84, 84]) && !MLP.imageLooksChannelsFirst([84, 84, 4]))
        #expect(!MLP.imageLooksChannelsFirst([10, 10, 4]) && !MLP.imageLooksChannelsFirst([3, 8, 3]))
    }

    /// A channels-first network given its batch already as (N, H, W, C) images (as replay gathers
    /// it) gives the same outputs and parameter gradients as given (N, C·H·W) rows, bit for bit,
    /// and its input gradient comes back in the images' layout.
    @Test func imagesInTheConvolutionLayoutSkipTheTranspose() {
        let specs = [ConvSpec(outputChannels: 3, kernel: 2, stride: 1, padding: 1)]
        let net = MLP(observationShape: [4, 5, 6], convolutions: specs, hiddenSizes: [4], outputSize: 3, seed: 7)
        let n = 3
        let rows = Tensor(shape: [n, 120], scalars: fixedValues(n * 120, seed: 9))
        let images = rows.reshaped([n, 4, 5, 6]).movingChannelAxis(toLast: true)
        #expect(images.shape == [n, 5, 6, 4])
        for i in 0..<n { for c in 0..<4 { for y in 0..<5 { for w in 0..<6 {
            #expect(images.scalars[i * 120 + (y * 6 + w) * 4 + c] == rows.scalars[i * 120 + (c * 5 + y) * 6 + w])
        } } } }
        #expect(net(rows) == net(images))
        let dy = Tensor(shape: [n, 3], scalars: fixedValues(n * 3, seed: 10))
        var cache = MLP.Cache()
        net.forward(images, into: &cache)
        let g1 = net.backward(net.forward(rows), outputGradient: dy, needInputGradient: true)
        let g2 = net.backward(cache, outputGradient: dy, needInputGradient: true)
        #expect(g1.parameters == g2.parameters)
        let d1 = try! #require(g1.input), d2 = try! #require(g2.input)
        #expect(d1.shape == [n, 120] && d2.shape == [n, 5, 6, 4])
        #expect(d1.reshaped([n, 4, 5, 6]).movingChannelAxis(toLast: true) == d2)
        // Releasing the input lets go of the batch itself (its storage is the caller's to refill).
        cache.releaseInput()
        #expect(cache.convolutionInputs[0].count == 0)
    }

    @Test func convolutionSpecsParse() {
        #expect(ConvSpec(parsing: "16:3:1") == ConvSpec(outputChannels: 16, kernel: 3, stride: 1))
        #expect(ConvSpec(parsing: "32:8:4:2") == ConvSpec(outputChannels: 32, kernel: 8, stride: 4, padding: 2))
        #expect(ConvSpec(parsing: "16") == nil && ConvSpec(parsing: "0:3") == nil && ConvSpec(parsing: "a:b") == nil)
    }
}
