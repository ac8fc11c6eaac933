import Foundation
import NN
import Quantization
import Tensor

/// An int8 model on disk: `model.json` (format version 2, with `quantization`) and `.npy` files —
/// `layers.i.weight` int8 (inputs, outputs), `layers.i.bias` int32, `quant.layers.i.multiplier`
/// and `quant.layers.i.shift` int32 for hidden layers, `quant.output_scale` and
/// `quant.input_inverse_scale` float32; a convolutional model's `convs.i.weight` int8 in PyTorch's
/// (O, C, KH, KW) layout (as the float model's), `convs.i.bias` int32 and
/// `quant.convs.i.multiplier`/`shift`. Written whole into a new directory, as `last/` is.
public enum Int8Directory {
    public static let layout = "int8: x = rint(clamp(obs * quant.input_inverse_scale, -127, 127)) (float32, half to even; NaN to 0); per layer acc = layers.i.bias + x @ layers.i.weight (int32); hidden: x = acc <= 0 ? 0 : min(127, (acc * quant.layers.i.multiplier + 2^(shift-1)) >> quant.layers.i.shift) (int64); last: q = float32(acc) * quant.output_scale; convolutions first (x as (H, W, C), moved from (C, H, W) when input_layout is CHW): per output position acc = convs.i.bias + patch . convs.i.weight (zeros outside the image), requantised with quant.convs.i.*, flattened (y, x, c)"

    /// Saves `network` into a new directory `directory` (refused when it exists).
    public static func save(_ network: Int8Network, to directory: URL, calibrationStates: Int, environment: String?,
                            environmentArguments: [String: String], environmentWrappers: [ModelManifest.Wrapper],
                            config: [String: JSONValue], metrics: [String: JSONValue]) throws {
        var files: [(name: String, data: Data, entry: ModelManifest.Entry)] = []
        func add(_ name: String, integers: [Int32], shape: [Int], bits: Int) {
            let data = NumPyFile.encode(integers: integers, shape: shape, bits: bits)
            files.append((name, data, .init(name: name, file: name + ".npy", shape: shape, dtype: bits == 8 ? "int8" : "int32",
                                            checksum: ModelDirectory.fnv1a(data))))
        }
        func add(_ name: String, floats: [Float]) {
            let data = NumPyFile.encode(Tensor(shape: [floats.count], scalars: floats))
            files.append((name, data, .init(name: name, file: name + ".npy", shape: [floats.count], dtype: "float32",
                                            checksum: ModelDirectory.fnv1a(data))))
        }
        for (i, conv) in network.convolutions.enumerated() {
            let shape = [conv.outputChannels, conv.channels, conv.kernel, conv.kernel]
            add("convs.\(i).weight", integers: oihw(conv), shape: shape, bits: 8)
            add("convs.\(i).bias", integers: conv.layer.bias, shape: [conv.outputChannels], bits: 32)
            add("quant.convs.\(i).multiplier", integers: conv.layer.multiplier, shape: [conv.outputChannels], bits: 32)
            add("quant.convs.\(i).shift", integers: conv.layer.shift, shape: [conv.outputChannels], bits: 32)
        }
        for (i, layer) in network.layers.enumerated() {
            add("layers.\(i).weight", integers: layer.weight, shape: [layer.inputSize, layer.outputSize], bits: 8)
            add("layers.\(i).bias", integers: layer.bias, shape: [layer.outputSize], bits: 32)
            if !layer.multiplier.isEmpty {
                add("quant.layers.\(i).multiplier", integers: layer.multiplier, shape: [layer.outputSize], bits: 32)
                add("quant.layers.\(i).shift", integers: layer.shift, shape: [layer.outputSize], bits: 32)
            }
        }
        add("quant.output_scale", floats: network.outputScale)
        add("quant.input_inverse_scale", floats: [network.inputInverseScale])
        let manifest = ModelManifest(
            formatVersion: ModelManifest.currentFormatVersion, layout: layout,
            architecture: .init(inputSize: network.inputSize, hiddenSizes: network.hiddenSizes, activation: "relu",
                                outputSize: network.outputSize, head: network.head.rawValue,
                                convolutions: network.convolutions.isEmpty ? nil : network.convolutions.map {
                                    ConvSpec(outputChannels: $0.outputChannels, kernel: $0.kernel, stride: $0.stride, padding: $0.padding)
                                },
                                inputShape: network.convolutions.first.map { [$0.height, $0.width, $0.channels] },
                                inputLayout: network.convolutions.isEmpty ? nil : (network.channelsFirst ? "CHW" : "HWC"),
                                actionLow: network.head.isContinuous ? network.actionLow : nil,
                                actionHigh: network.head.isContinuous ? network.actionHigh : nil),
            tensors: files.map(\.entry), environment: environment,
            environmentArguments: environmentArguments.isEmpty ? nil : environmentArguments,
            environmentWrappers: environmentWrappers.isEmpty ? nil : environmentWrappers, config: config, metrics: metrics,
            quantization: .init(scheme: "int8", calibrationStates: calibrationStates))
        let fm = FileManager.default
        guard !fm.fileExists(atPath: directory.path) else {
            throw CheckpointError.writeFailed(directory.path, detail: "it exists; choose a new directory")
        }
        let parent = directory.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).saving-\(UUID().uuidString.prefix(8))")
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw CheckpointError.writeFailed(directory.path, detail: FileProblem.directorySentence(directory, error: error))
        }
        defer { try? fm.removeItem(at: staging) }
        for file in files { try DurableFiles.write(file.data, to: staging.appendingPathComponent(file.entry.file)) }
        try DurableFiles.write(try ModelDirectory.encode(manifest), to: staging.appendingPathComponent(ModelDirectory.manifestName))
        try DurableFiles.sync(staging)
        try DurableFiles.rename(staging, to: directory)
    }

    /// Reads an int8 model directory, checking every file against the manifest and the shapes
    /// the architecture needs, and every value against its range.
    public static func load(from directory: URL) throws -> (network: Int8Network, manifest: ModelManifest) {
        let manifest = try ModelDirectory.readManifest(directory)
        let path = directory.appendingPathComponent(ModelDirectory.manifestName).path
        func bad(_ detail: String) -> CheckpointError { .badManifest(path, detail: detail) }
        guard let q = manifest.quantization else { throw bad("it is a float model, not a quantised one") }
        guard q.scheme == "int8" else { throw bad("quantization.scheme is '\(q.scheme)'; this program reads int8") }
        let arch = manifest.architecture
        guard arch.activation == "relu" else { throw bad("an int8 model is a ReLU network") }
        guard let head = OutputHead(rawValue: arch.head) else {
            throw bad("its head is '\(arch.head)', and this version runs " + OutputHead.allCases.map { "'\($0.rawValue)'" }.joined(separator: " and "))
        }
        var byName: [String: ModelManifest.Entry] = [:]
        for e in manifest.tensors { byName[e.name] = e }
        func integers(_ name: String, shape: [Int], bits: Int, range: ClosedRange<Int32>) throws -> [Int32] {
            guard let entry = byName[name] else { throw bad("no entry for \(name)") }
            let data = try ModelDirectory.checkedBytes(entry, in: directory, itemBytes: bits / 8)
            let file = directory.appendingPathComponent(entry.file).path
            let (found, values, width) = try NumPyFile.decodeIntegers(data, path: file)
            guard found == shape, entry.shape == shape, width == bits else {
                throw CheckpointError.shapeMismatch(file, expected: shape, found: found)
            }
            guard values.allSatisfy(range.contains) else { throw bad("\(name) holds values outside \(range)") }
            return values
        }
        func floats(_ name: String, count: Int) throws -> [Float] {
            guard let entry = byName[name] else { throw bad("no entry for \(name)") }
            let data = try ModelDirectory.checkedBytes(entry, in: directory, itemBytes: 8)
            let file = directory.appendingPathComponent(entry.file)
            let t = try NumPyFile.decode(data, path: file.path)
            guard t.shape == [count], entry.shape == [count] else { throw CheckpointError.shapeMismatch(file.path, expected: [count], found: t.shape) }
            try ModelDirectory.checkFinite(t, name: name, file: file)
            return t.scalars
        }
        var convolutions: [Int8Network.Convolution] = []
        var firstInputs = arch.inputSize
        if let specs = arch.convolutions, !specs.isEmpty {
            guard let shape = arch.inputShape, shape.count == 3, shape.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }),
                  shape.reduce(1, *) == arch.inputSize else {
                throw bad("convolutions need input_shape (height, width, channels) matching input_size")
            }
            guard arch.inputLayout == nil || arch.inputLayout == "HWC" || arch.inputLayout == "CHW" else {
                throw bad("input_layout must be \"HWC\" or \"CHW\"")
            }
            var current = shape
            for (i, spec) in specs.enumerated() {
                guard spec.outputChannels > 0, spec.outputChannels <= 1 << 16, spec.kernel > 0, spec.kernel <= 1 << 10,
                      spec.stride > 0, spec.padding >= 0, spec.padding <= 1 << 10,
                      current[0] + 2 * spec.padding >= spec.kernel, current[1] + 2 * spec.padding >= spec.kernel else {
                    throw bad("convolution \(i) (\(spec)) does not fit its input \(current)")
                }
                let (o, c, k) = (spec.outputChannels, current[2], spec.kernel)
                let weight = try integers("convs.\(i).weight", shape: [o, c, k, k], bits: 8, range: -127...127)
                let layer = Int8Network.Layer(
                    inputSize: k * k * c, outputSize: o, weight: patchMajor(weight, outputs: o, channels: c, kernel: k),
                    bias: try integers("convs.\(i).bias", shape: [o], bits: 32, range: (-Int32.max / 2)...(Int32.max / 2)),
                    multiplier: try integers("quant.convs.\(i).multiplier", shape: [o], bits: 32, range: 0...Int32.max),
                    shift: try integers("quant.convs.\(i).shift", shape: [o], bits: 32, range: 1...62))
                let conv = Int8Network.Convolution(height: current[0], width: current[1], channels: c, kernel: k, stride: spec.stride,
                                                   padding: spec.padding, layer: layer)
                guard Int64(k * k * c) * 127 * 127 + Int64(Int32.max / 2) < Int64(Int32.max) * 2 else { throw bad("convolution \(i) is too wide for int32") }
                convolutions.append(conv)
                current = [conv.outputHeight, conv.outputWidth, o]
            }
            firstInputs = current.reduce(1, *)
        }
        let sizes = [firstInputs] + arch.hiddenSizes + [arch.outputSize]
        guard sizes.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else { throw bad("layer sizes \(sizes) are not usable") }
        var layers: [Int8Network.Layer] = []
        for i in 0..<(sizes.count - 1) {
            let (inputs, outputs) = (sizes[i], sizes[i + 1])
            var layer = Int8Network.Layer(
                inputSize: inputs, outputSize: outputs,
                weight: try integers("layers.\(i).weight", shape: [inputs, outputs], bits: 8, range: -127...127),
                bias: try integers("layers.\(i).bias", shape: [outputs], bits: 32, range: (-Int32.max / 2)...(Int32.max / 2)))
            if i < sizes.count - 2 {
                layer.multiplier = try integers("quant.layers.\(i).multiplier", shape: [outputs], bits: 32, range: 0...Int32.max)
                layer.shift = try integers("quant.layers.\(i).shift", shape: [outputs], bits: 32, range: 1...62)
            }
            guard Int64(inputs) * 127 * 127 + Int64(Int32.max / 2) < Int64(Int32.max) * 2 else { throw bad("layer \(i) is too wide for int32") }
            layers.append(layer)
        }
        let outputScale = try floats("quant.output_scale", count: arch.outputSize)
        let inverse = try floats("quant.input_inverse_scale", count: 1)[0]
        var network = Int8Network(inputInverseScale: inverse, convolutions: convolutions, channelsFirst: arch.inputLayout == "CHW",
                                  layers: layers, outputScale: outputScale)
        network.head = head
        if head.isContinuous {
            (network.actionLow, network.actionHigh) = try ModelDirectory.actionBounds(arch, head: head, manifestPath: path)
        }
        return (network, manifest)
    }

    /// A convolution's (KH·KW·C, O) weights in PyTorch's (O, C, KH, KW) order.
    static func oihw(_ conv: Int8Network.Convolution) -> [Int32] {
        let (o, c, k) = (conv.outputChannels, conv.channels, conv.kernel)
        var out = [Int32](repeating: 0, count: o * c * k * k)
        for ky in 0..<k { for kx in 0..<k { for ch in 0..<c { for j in 0..<o {
            out[((j * c + ch) * k + ky) * k + kx] = conv.layer.weight[((ky * k + kx) * c + ch) * o + j]
        } } } }
        return out
    }

    /// (O, C, KH, KW) weights as the (KH·KW·C, O) rows a patch multiplies.
    static func patchMajor(_ w: [Int32], outputs o: Int, channels c: Int, kernel k: Int) -> [Int32] {
        var out = [Int32](repeating: 0, count: w.count)
        for ky in 0..<k { for kx in 0..<k { for ch in 0..<c { for j in 0..<o {
            out[((ky * k + kx) * c + ch) * o + j] = w[((j * c + ch) * k + ky) * k + kx]
        } } } }
        return out
    }
}
