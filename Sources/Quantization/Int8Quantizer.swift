import Foundation
import NN
import Tensor

/// Why a network cannot be quantised: one sentence each.
public enum QuantizationError: Error, CustomStringConvertible, Equatable {
    case unsupported(String)
    case noCalibrationStates
    case badCalibrationStates(String)

    public var description: String {
        switch self {
        case .unsupported(let detail): return "This model cannot be quantised to int8: \(detail)."
        case .noCalibrationStates:
            return "Quantising needs calibration states the student visits, to scale its activations; give at least one (--calibration-states N)."
        case .badCalibrationStates(let detail): return "The calibration states cannot be used: \(detail)."
        }
    }
}

/// Post-training int8 quantisation of a ReLU MLP: symmetric int8 weights with one scale per
/// output unit (its largest |weight| maps to 127), and symmetric int8 activations with one scale
/// per layer input, calibrated as the largest |value| that input takes on `calibration` (the
/// observation, then each hidden layer's ReLU output, of the float network).
public enum Int8Quantizer {
    public static func quantize(_ network: MLP, calibration: Tensor) throws -> Int8Network {
        guard network.convolutions.isEmpty else {
            throw QuantizationError.unsupported("it has convolutions; int8 covers MLP students so far")
        }
        guard network.activation == .relu else {
            throw QuantizationError.unsupported("its activation is \(network.activation.rawValue); int8 needs ReLU (tanh has no integer form here)")
        }
        guard calibration.rowCount > 0 else { throw QuantizationError.noCalibrationStates }
        guard calibration.rank == 2, calibration.columnCount == network.inputSize else {
            throw QuantizationError.badCalibrationStates("expected shape (N, \(network.inputSize)), got \(calibration.shape)")
        }
        guard calibration.scalars.allSatisfy(\.isFinite) else {
            throw QuantizationError.badCalibrationStates("they hold NaN or infinite values")
        }
        // The largest |value| of each layer's input over the calibration states.
        let cache = network.forward(calibration)
        let ranges: [Double] = cache.layerInputs.map { input in
            Double(input.scalars.reduce(Float(0)) { max($0, abs($1)) })
        }
        let inputScales = ranges.map { $0 > 0 ? $0 / 127 : 1 }
        var layers: [Int8Network.Layer] = []
        var outputScale: [Float] = []
        for (k, linear) in network.layers.enumerated() {
            let (inputs, outputs) = (linear.inputSize, linear.outputSize)
            var weight = [Int32](repeating: 0, count: inputs * outputs)
            var bias = [Int32](repeating: 0, count: outputs)
            var multiplier: [Int32] = [], shift: [Int32] = []
            let last = k == network.layers.count - 1
            for j in 0..<outputs {
                var largest: Float = 0
                for i in 0..<inputs { largest = max(largest, abs(linear.weight.scalars[i * outputs + j])) }
                let weightScale = largest > 0 ? Double(largest) / 127 : 1
                for i in 0..<inputs {
                    let q = (Double(linear.weight.scalars[i * outputs + j]) / weightScale).rounded(.toNearestOrEven)
                    weight[i * outputs + j] = Int32(min(127, max(-127, q)))
                }
                let accumulatorScale = inputScales[k] * weightScale
                let b = (Double(linear.bias.scalars[j]) / accumulatorScale).rounded(.toNearestOrEven)
                bias[j] = Int32(min(Double(Int32.max / 2), max(Double(-Int32.max / 2), b)))
                if last {
                    outputScale.append(Float(accumulatorScale))
                } else {
                    let (m, s) = fixedPoint(accumulatorScale / inputScales[k + 1])
                    multiplier.append(m)
                    shift.append(s)
                }
            }
            // Every accumulator must stay inside int32: 127 · 127 per input, plus the bias.
            let bound = Int64(inputs) * 127 * 127 + Int64(bias.map { abs(Int64($0)) }.max() ?? 0)
            guard bound < Int64(Int32.max) else {
                throw QuantizationError.unsupported("layer \(k) has \(inputs) inputs, too many for an int32 accumulator")
            }
            layers.append(.init(inputSize: inputs, outputSize: outputs, weight: weight, bias: bias, multiplier: multiplier, shift: shift))
        }
        return Int8Network(inputInverseScale: Float(1 / inputScales[0]), layers: layers, outputScale: outputScale)
    }

    /// `ratio` as multiplier · 2^−shift with the multiplier in 2^30…2^31 − 1 (rounded), shift ≤ 62.
    public static func fixedPoint(_ ratio: Double) -> (Int32, Int32) {
        guard ratio > 0, ratio.isFinite else { return (0, 1) }
        var shift = 0
        var scaled = ratio
        while scaled < Double(1 << 30) && shift < 62 { scaled *= 2; shift += 1 }
        while scaled >= Double(1 << 31) && shift > 1 { scaled /= 2; shift -= 1 }
        var m = scaled.rounded(.toNearestOrEven)
        if m >= Double(1 << 31) { m /= 2; shift -= 1 }
        return (Int32(min(m, Double(Int32.max))), Int32(max(shift, 1)))
    }
}
