import Foundation
import Tensor
import Testing

@Suite struct ConvolutionTests {
    func values(_ n: Int, seed: Int) -> [Float] { (0..<n).map { Float(sin(Double($0 * 7 + seed * 13) * 0.37)) } }

    @Test func aHandWorkedConvolution() {
        // One 3×3 single-channel image, a 2×2 kernel of ones, stride 1: each output sums a 2×2 block.
        let image = Tensor(shape: [1, 3, 3, 1], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let g = ConvolutionGeometry(height: 3, width: 3, channels: 1, kernelHeight: 2, kernelWidth: 2)
        let y = Tensor.conv2d(image, weight: Tensor(shape: [2, 2, 1, 1], repeating: 1), bias: Tensor(shape: [1], scalars: [0.5]), g)
        let sums: [Float] = [12.5, 16.5, 24.5, 28.5]
        #expect(y.shape == [1, 2, 2, 1])
        #expect(y.scalars == sums)
        // Padding 1, stride 2: the four fields cover [·,·;·,1], [·,·;2,3], [·,4;·,7] and [5,6;8,9].
        let padded = ConvolutionGeometry(height: 3, width: 3, channels: 1, kernelHeight: 2, kernelWidth: 2, stride: 2, padding: 1)
        #expect(padded.outputHeight == 2 && padded.outputWidth == 2)
        let z = Tensor.conv2d(image, weight: Tensor(shape: [2, 2, 1, 1], repeating: 1), bias: Tensor(shape: [1]), padded)
        let expected: [Float] = [1, 5, 11, 28]
        #expect(z.scalars == expected)
    }

    @Test(arguments: [(1, 0), (2, 1), (1, 1), (3, 2)])
    func gradientsMatchFiniteDifferences(stride: Int, padding: Int) {
        let g = ConvolutionGeometry(height: 5, width: 6, channels: 2, kernelHeight: 3, kernelWidth: 2, stride: stride, padding: padding)
        let images = Tensor(shape: [2, 5, 6, 2], scalars: values(120, seed: 1))
        let weight = Tensor(shape: [3, 2, 2, 3], scalars: values(36, seed: 2))
        let bias = Tensor(shape: [3], scalars: [0.1, -0.2, 0.3])
        let outShape = [2, g.outputHeight, g.outputWidth, 3]
        let r = Tensor(shape: outShape, scalars: values(outShape.reduce(1, *), seed: 3))  // L = Σ y ⊙ r, so dL/dy = r
        func loss(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> Double {
            zip(Tensor.conv2d(x, weight: w, bias: b, g).scalars, r.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let grads = Tensor.conv2dBackward(images, weight: weight, outputGradient: r, g)
        let h: Float = 0.01
        func check(_ t: Tensor, _ analytic: Tensor, _ perturbed: (Tensor) -> Double) {
            for i in 0..<t.count {
                var p = t, m = t
                p.scalars[i] += h
                m.scalars[i] -= h
                let numeric = (perturbed(p) - perturbed(m)) / Double(2 * h)
                #expect(abs(Double(analytic.scalars[i]) - numeric) < 2e-3, "element \(i): \(analytic.scalars[i]) vs \(numeric)")
            }
        }
        check(images, grads.input!) { loss($0, weight, bias) }
        check(weight, grads.weight) { loss(images, $0, bias) }
        check(bias, grads.bias) { loss(images, weight, $0) }
    }

    @Test func col2imIsTheAdjointOfIm2col() {
        // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for any x and c: the backward pass's scatter is exact.
        let g = ConvolutionGeometry(height: 4, width: 4, channels: 3, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        let x = Tensor(shape: [2, 4, 4, 3], scalars: values(96, seed: 4))
        let cols = Tensor.im2col(x, g)
        let c = Tensor(shape: cols.shape, scalars: values(cols.count, seed: 5))
        let left = zip(cols.scalars, c.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = zip(x.scalars, Tensor.col2im(c, batch: 2, g).scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(left - right) < 1e-4)
    }
}
