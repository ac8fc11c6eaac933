import PythonBridge
import Tensor
import Testing

/// The convolution against PyTorch's (`torch.nn.functional.conv2d`, NCHW, weight (O, C, KH, KW))
/// on the same numbers, forward and backward; skipped where torch is not installed.
@Suite struct ConvolutionParityTests {
    static var torchAvailable: Bool { (try? Python.run("import torch")) != nil }

    @Test(.enabled(if: torchAvailable), arguments: [(1, 0), (2, 1)])
    func forwardAndBackwardMatchPyTorch(stride: Int, padding: Int) throws {
        let g = ConvolutionGeometry(height: 10, width: 10, channels: 4, kernelHeight: 3, kernelWidth: 3, stride: stride, padding: padding)
        let images = Tensor(shape: [3, 10, 10, 4], scalars: fixedValues(1200, seed: 1))
        let weight = Tensor(shape: [3, 3, 4, 16], scalars: fixedValues(576, seed: 2).map { $0 * 0.2 })
        let bias = Tensor(shape: [16], scalars: fixedValues(16, seed: 3))
        let y = Tensor.conv2d(images, weight: weight, bias: bias, g)
        let dy = Tensor(shape: y.shape, scalars: fixedValues(y.count, seed: 4))
        let grads = Tensor.conv2dBackward(images, weight: weight, outputGradient: dy, g)
        let reference = try Python.run("""
            import numpy as np, torch
            def conv(x, w, b, dy, stride, padding):
                # ours: x (N, H, W, C), w (KH, KW, C, O); torch: x (N, C, H, W), w (O, C, KH, KW)
                xt = torch.tensor(np.transpose(x, (0, 3, 1, 2)), dtype=torch.float64, requires_grad=True)
                wt = torch.tensor(np.transpose(w, (3, 2, 0, 1)), dtype=torch.float64, requires_grad=True)
                bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
                y = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
                y.backward(torch.tensor(np.transpose(dy, (0, 3, 1, 2)), dtype=torch.float64))
                return [np.ascontiguousarray(a, dtype=np.float32).ravel().tolist() for a in (
                    np.transpose(y.detach().numpy(), (0, 2, 3, 1)), np.transpose(wt.grad.numpy(), (2, 3, 1, 0)),
                    bt.grad.numpy(), np.transpose(xt.grad.numpy(), (0, 2, 3, 1)))]
            """).item("conv")
        func array(_ t: Tensor) throws -> PythonObject { try PythonObject.ndarray(t.scalars, shape: t.shape) }
        let results = try reference.call(array(images), array(weight), array(bias), array(dy), stride, padding)
        let expected = try (0..<4).map { try [Float](python: results.item($0)) }
        for (got, want) in zip([y, grads.weight, grads.bias, grads.input!].map(\.scalars), expected) {
            #expect(got.count == want.count)
            let worst = zip(got, want).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst < 1e-5, "largest relative difference \(worst)")
        }
    }
}
