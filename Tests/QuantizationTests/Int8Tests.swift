import Checkpoint
import Foundation
import NN
import Quantization
import Tensor
import Testing

@Suite struct Int8Tests {
    /// A ReLU network and calibration states from a seeded generator.
    func network() -> (MLP, Tensor) {
        let net = MLP(inputSize: 5, hiddenSizes: [16, 8], outputSize: 3, seed: 3)
        var rng = SeededGenerator(seed: 9)
        let states = Tensor(shape: [200, 5], scalars: (0..<1000).map { _ in rng.uniform(-2, 2) })
        return (net, states)
    }

    @Test(arguments: [1.0, 0.5, 0.123456789, 3.0e-4, 7.77e-9, 1.9])
    func fixedPointMultipliersKeepTheRatio(_ ratio: Double) {
        let (m, s) = Int8Quantizer.fixedPoint(ratio)
        #expect(m >= 1 << 30 || s == 62)
        #expect(abs(Double(m) / pow(2, Double(s)) - ratio) <= ratio * 1e-9 + 1e-18)
    }

    @Test func requantisationRoundsHalfUpAndSaturates() {
        let (m, s) = Int8Quantizer.fixedPoint(0.25)  // exactly 2^-2
        #expect(Int8Network.requantize(6, multiplier: m, shift: s) == 2)     // 1.5 → 2
        #expect(Int8Network.requantize(5, multiplier: m, shift: s) == 1)     // 1.25 → 1
        #expect(Int8Network.requantize(-40, multiplier: m, shift: s) == 0)   // ReLU
        #expect(Int8Network.requantize(100_000, multiplier: m, shift: s) == 127)
        // Against the real number for many accumulators: never more than half a step away.
        let ratio = 0.0371
        let (m2, s2) = Int8Quantizer.fixedPoint(ratio)
        for acc in stride(from: Int32(1), to: 3_000, by: 7) {
            let exact = min(127, Double(acc) * ratio)
            #expect(abs(Double(Int8Network.requantize(acc, multiplier: m2, shift: s2)) - exact) <= 0.5 + 1e-6)
        }
    }

    @Test func theInt8NetworkFollowsTheFloatOneClosely() throws {
        let (net, states) = network()
        let int8 = try Int8Quantizer.quantize(net, calibration: states)
        #expect(int8.layers.allSatisfy { $0.weight.allSatisfy { (-127...127).contains($0) } })
        let float = Policy(net)
        var agree = 0, worst: Float = 0
        let q = float.qValues(states)
        for r in 0..<200 {
            let row = Array(states.scalars[(r * 5)..<((r + 1) * 5)])
            let qi = int8.qValues(row)
            for a in 0..<3 { worst = max(worst, abs(qi[a] - q[r, a])) }
            if int8.action(row) == float.action(row) { agree += 1 }
        }
        let span = q.scalars.map(abs).max()!
        #expect(worst < 0.05 * span, "int8 Q-values stay within 5% of the float range (worst \(worst), range \(span))")
        #expect(agree >= 180)
    }

    @Test func anInt8DirectoryRoundTripsAndRefusesToBeReadAsFloat() throws {
        let (net, states) = network()
        let int8 = try Int8Quantizer.quantize(net, calibration: states)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("int8-\(UUID().uuidString)")
        try Int8Directory.save(int8, to: directory, calibrationStates: 200, environment: "X-v0", environmentArguments: [:],
                               environmentWrappers: [], config: [:], metrics: [:])
        let (read, manifest) = try Int8Directory.load(from: directory)
        #expect(read == int8 && manifest.quantization?.scheme == "int8" && manifest.formatVersion == 2)
        #expect { _ = try ModelDirectory.load(from: directory) } throws: {
            ($0 as? CheckpointError)?.description.contains("holds an int8 model") ?? false
        }
    }

    @Test func whatInt8CannotExpressIsRefused() {
        let tanh = MLP(inputSize: 2, hiddenSizes: [4], outputSize: 2, activation: .tanh, seed: 0)
        #expect(throws: QuantizationError.self) { try Int8Quantizer.quantize(tanh, calibration: Tensor(shape: [1, 2], scalars: [0, 0])) }
        let relu = MLP(inputSize: 2, hiddenSizes: [4], outputSize: 2, seed: 0)
        #expect(throws: QuantizationError.noCalibrationStates) { try Int8Quantizer.quantize(relu, calibration: Tensor(shape: [0, 2], scalars: [])) }
    }
}
