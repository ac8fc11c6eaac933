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

    /// Wide convolutions never build their whole columns: without padding and with outputs a
    /// multiple of 16 the tiles read the images in place, otherwise the columns are built a strip
    /// of rows at a time (and the input gradient's columns are scattered back a strip at a time).
    /// Either way the same products, so the bits of the whole columns' products, forward, weight
    /// and input gradients, on every instruction set — over many strips and
    /// column panels, with padding (strips), a Nature first layer's field (8×8/4 over 4 channels),
    /// outputs that fill no whole panel (48) or no whole vector (24: strips), and a last partial
    /// strip of rows.
    @Test(arguments: [(20, 20, 4, 8, 4, 0, 32), (9, 9, 32, 3, 1, 1, 16), (10, 10, 7, 3, 1, 0, 64), (36, 36, 4, 8, 4, 0, 32),
                      (9, 9, 32, 4, 2, 0, 48), (10, 10, 5, 3, 1, 0, 24)])
    func stripsGiveTheWholeColumnsBits(size: Int, width: Int, channels: Int, kernel: Int, stride: Int, padding: Int, outputs: Int) {
        let g = ConvolutionGeometry(height: size, width: width, channels: channels, kernelHeight: kernel, kernelWidth: kernel,
                                    stride: stride, padding: padding)
        let batch = 20
        let images = Tensor(shape: [batch, size, width, channels], scalars: values(batch * size * width * channels, seed: 6).map { max($0, 0) })
        let weight = Tensor(shape: [kernel, kernel, channels, outputs], scalars: values(g.patchSize * outputs, seed: 7))
        let bias = Tensor(shape: [outputs], scalars: values(outputs, seed: 8))
        let rows = batch * g.outputHeight * g.outputWidth
        let dy = Tensor(shape: [batch, g.outputHeight, g.outputWidth, outputs], scalars: values(rows * outputs, seed: 9))
        let cols = Tensor.im2col(images, g)
        #expect(rows * g.patchSize > 2 * 16_384, "several strips of columns")
        for set in Kernels.availableInstructionSets {
            _ = Kernels.with(instructionSet: set) {
                let whole = Tensor.linear(cols, weight.reshaped([g.patchSize, outputs]), bias, compact: false)
                let wholeGradient = Tensor.matmul(cols, dy.reshaped([rows, outputs]), transposeA: true, compact: false)
                let y = Tensor.conv2d(images, weight: weight, bias: bias, g)
                let grads = Tensor.conv2dBackward(images, weight: weight, outputGradient: dy, g)
                // The input gradient: the whole columns' gradient dY·Wᵀ on the tiles (Wᵀ made first), then col2im.
                let columnsGradient = Tensor.matmul(dy.reshaped([rows, outputs]), weight.reshaped([g.patchSize, outputs]).transposed(),
                                                    compact: false)
                let wholeInput = Tensor.col2im(columnsGradient, batch: batch, g)
                let sameInput = grads.input.map { $0.shape == images.shape && $0.scalars.map(\.bitPattern) == wholeInput.scalars.map(\.bitPattern) }
                #expect(sameInput == true, "\(set): the input gradient differs from col2im of the whole columns' gradient")
                let sameForward = y.scalars.map(\.bitPattern) == whole.scalars.map(\.bitPattern)
                // Through a ReLU as the kernels store: a separate pass's bits (+0 for negatives, -0 stays).
                let rectified = Tensor.conv2d(images, weight: weight, bias: bias, g, relu: true)
                let sameReLU = rectified.scalars.map(\.bitPattern) == whole.scalars.map { ($0 < 0 ? 0 : $0).bitPattern }
                #expect(sameReLU, "\(set): the forward pass through a ReLU differs from a separate ReLU pass")
                let sameGradient = grads.weight.shape == weight.shape
                    && grads.weight.scalars.map(\.bitPattern) == wholeGradient.scalars.map(\.bitPattern)
                #expect(sameForward, "\(set): the forward pass differs from the whole columns' product")
                #expect(sameGradient, "\(set): the weight gradient differs from the whole columns' product")
            }
        }
    }

    /// A convolution over a ReLU's outputs: neighbouring positions share their inactive channels,
    /// so each strip of six positions runs its chains over only the patch indices where one of
    /// them is not zero — and gives the whole columns' product's bits, on every instruction set:
    /// strips with a few live channels, strips of an all-zero image (the bias alone, through the
    /// ReLU), and a last partial strip; and so does its backward pass over a sparse gradient.
    @Test(arguments: [false, true])
    func sparseActivationsGiveTheWholeColumnsBits(relu: Bool) {
        let g = ConvolutionGeometry(height: 12, width: 12, channels: 32, kernelHeight: 4, kernelWidth: 4, stride: 2, padding: 0)
        let batch = 21, outputs = 64
        var pixels = values(batch * 12 * 12 * 32, seed: 3).map { abs($0) }
        for b in 0..<batch {
            for y in 0..<12 {
                for x in 0..<12 {
                    for ch in 0..<32 where b == 3 || !(ch < 6 || (y < 3 && x < 5)) { pixels[((b * 12 + y) * 12 + x) * 32 + ch] = 0 }
                }
            }
        }
        let images = Tensor(shape: [batch, 12, 12, 32], scalars: pixels)
        let weight = Tensor(shape: [4, 4, 32, outputs], scalars: values(g.patchSize * outputs, seed: 4))
        let bias = Tensor(shape: [outputs], scalars: values(outputs, seed: 5))
        let cols = Tensor.im2col(images, g)
        for set in Kernels.availableInstructionSets {
            _ = Kernels.with(instructionSet: set) {
                let whole = Tensor.linear(cols, weight.reshaped([g.patchSize, outputs]), bias, relu: relu, compact: false)
                let y = Tensor.conv2d(images, weight: weight, bias: bias, g, relu: relu)
                #expect(y.scalars.elementsEqual(whole.scalars) { $0.bitPattern == $1.bitPattern }, "\(set): a sparse convolution differs from the whole columns' product")
            }
        }
        // Its backward pass with a gradient that came through a ReLU: whole positions off (their
        // terms skipped in the weight gradient) and channels off in runs of positions (skipped in
        // the input gradient's products) — the bits of the whole columns' products, but for the
        // sign of a zero.
        let rows = batch * g.outputHeight * g.outputWidth
        var dyValues = values(rows * outputs, seed: 6)
        for r in 0..<rows {
            for o in 0..<outputs where r % 3 != 0 || (o % 4 != 0 && r / 12 % 2 == 0) { dyValues[r * outputs + o] = 0 }
        }
        let dy = Tensor(shape: [batch, g.outputHeight, g.outputWidth, outputs], scalars: dyValues)
        func sameOrZeros(_ x: Float, _ y: Float) -> Bool { x.bitPattern == y.bitPattern || (x == 0 && y == 0) }
        for set in Kernels.availableInstructionSets {
            _ = Kernels.with(instructionSet: set) {
                let grads = Tensor.conv2dBackward(images, weight: weight, outputGradient: dy, g)
                let wholeGradient = Tensor.matmul(cols, dy.reshaped([rows, outputs]), transposeA: true, compact: false)
                let columnsGradient = Tensor.matmul(dy.reshaped([rows, outputs]), weight.reshaped([g.patchSize, outputs]).transposed(),
                                                    compact: false)
                let wholeInput = Tensor.col2im(columnsGradient, batch: batch, g)
                #expect(grads.weight.scalars.elementsEqual(wholeGradient.scalars, by: sameOrZeros),
                        "\(set): the weight gradient over the live positions differs from the whole columns' product")
                #expect(grads.input?.scalars.elementsEqual(wholeInput.scalars, by: sameOrZeros) == true,
                        "\(set): the input gradient over the live channels differs from col2im of the whole columns' gradient")
            }
        }
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
