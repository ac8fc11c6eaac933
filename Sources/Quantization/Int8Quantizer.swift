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

/// Post-training int8 quantisation of a ReLU network: symmetric int8 weights with one scale per
/// output unit or channel (its largest |weight| maps to 127), and symmetric int8 activations
/// with one scale per layer input, calibrated as the largest |value| that input takes on
/// `calibration` (the observation, then each convolution's and hidden layer's ReLU output, of
/// the float network).
public enum Int8Quantizer {
    /// `ranges`: the largest |value| of each layer input (convolutions' first), as a
    /// quantisation-aware distillation recorded them; then `calibration` is not used.
    public static func quantize(_ network: MLP, calibration: Tensor, ranges given: [Float]? = nil) throws -> Int8Network {
        guard network.activation == .relu else {
            throw QuantizationError.unsupported("its activation is \(network.activation.rawValue); int8 needs ReLU (tanh has no integer form here)")
        }
        let ranges: [Double]
        if let given {
            guard given.count == network.convolutions.count + network.layers.count, given.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw QuantizationError.badCalibrationStates("the recorded ranges (\(given.count)) do not fit the network's \(network.convolutions.count + network.layers.count) layer inputs")
            }
            ranges = given.map(Double.init)
        } else {
            guard calibration.rowCount > 0 else { throw QuantizationError.noCalibrationStates }
            guard calibration.rank == 2, calibration.columnCount == network.inputSize else {
                throw QuantizationError.badCalibrationStates("expected shape (N, \(network.inputSize)), got \(calibration.shape)")
            }
            guard calibration.scalars.allSatisfy(\.isFinite) else {
                throw QuantizationError.badCalibrationStates("they hold NaN or infinite values")
            }
            // The largest |value| of each layer's input over the calibration states: the
            // convolutions' inputs, then the dense layers'.
            let cache = network.forward(calibration)
            ranges = (cache.convolutionInputs + cache.layerInputs).map { input in
                Double(input.scalars.reduce(Float(0)) { max($0, abs($1)) })
            }
        }
        let inputScales = ranges.map { $0 > 0 ? $0 / 127 : 1 }
        var convolutions: [Int8Network.Convolution] = []
        for (k, conv) in network.convolutions.enumerated() {
            let g = conv.geometry
            let (layer, _) = try quantizeLayer(name: "convolution \(k)", weight: conv.weight.scalars, bias: conv.bias.scalars,
                                               inputs: g.patchSize, outputs: conv.outputChannels,
                                               inputScale: inputScales[k], nextScale: inputScales[k + 1])
            convolutions.append(.init(height: g.height, width: g.width, channels: g.channels, kernel: g.kernelHeight,
                                      stride: g.stride, padding: g.padding, layer: layer))
        }
        var layers: [Int8Network.Layer] = []
        var outputScale: [Float] = []
        let c = convolutions.count
        for (k, linear) in network.layers.enumerated() {
            let last = k == network.layers.count - 1
            let (layer, scales) = try quantizeLayer(name: "layer \(k)", weight: linear.weight.scalars, bias: linear.bias.scalars,
                                                    inputs: linear.inputSize, outputs: linear.outputSize,
                                                    inputScale: inputScales[c + k], nextScale: last ? nil : inputScales[c + k + 1])
            layers.append(layer)
            if last { outputScale = scales.map { Float($0) } }
        }
        var int8 = Int8Network(inputInverseScale: Float(1 / inputScales[0]), convolutions: convolutions,
                               channelsFirst: network.channelsFirst, layers: layers, outputScale: outputScale)
        (int8.head, int8.actionLow, int8.actionHigh) = (network.head, network.actionLow, network.actionHigh)
        return int8
    }

    /// One layer of (inputs, outputs) row-major float weights in int8, with its int32 bias and,
    /// when `nextScale` is given, the requantisation to that scale; also each output's
    /// accumulator scale (input scale × weight scale).
    static func quantizeLayer(name: String, weight w: [Float], bias b: [Float], inputs: Int, outputs: Int, inputScale: Double,
                              nextScale: Double?) throws -> (Int8Network.Layer, [Double]) {
        var weight = [Int32](repeating: 0, count: inputs * outputs)
        var bias = [Int32](repeating: 0, count: outputs)
        var multiplier: [Int32] = [], shift: [Int32] = [], accumulatorScales: [Double] = []
        for j in 0..<outputs {
            var largest: Float = 0
            for i in 0..<inputs { largest = max(largest, abs(w[i * outputs + j])) }
            let weightScale = largest > 0 ? Double(largest) / 127 : 1
            for i in 0..<inputs {
                let q = (Double(w[i * outputs + j]) / weightScale).rounded(.toNearestOrEven)
                weight[i * outputs + j] = Int32(min(127, max(-127, q)))
            }
            let accumulatorScale = inputScale * weightScale
            accumulatorScales.append(accumulatorScale)
            let q = (Double(b[j]) / accumulatorScale).rounded(.toNearestOrEven)
            bias[j] = Int32(min(Double(Int32.max / 2), max(Double(-Int32.max / 2), q)))
            if let next = nextScale {
                let (m, s) = fixedPoint(accumulatorScale / next)
                multiplier.append(m)
                shift.append(s)
            }
        }
        // Every accumulator must stay inside int32: 127 · 127 per input, plus the bias.
        let bound = Int64(inputs) * 127 * 127 + Int64(bias.map { abs(Int64($0)) }.max() ?? 0)
        guard bound < Int64(Int32.max) else {
            throw QuantizationError.unsupported("\(name) has \(inputs) inputs, too many for an int32 accumulator")
        }
        return (.init(inputSize: inputs, outputSize: outputs, weight: weight, bias: bias, multiplier: multiplier, shift: shift),
                accumulatorScales)
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
