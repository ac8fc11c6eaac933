import Foundation
import NN
import Tensor

/// `model.json`: what a saved model is and which file holds which tensor.
public struct ModelManifest: Codable, Equatable, Sendable {
    /// Network shape, enough to rebuild it.
    public struct Architecture: Codable, Equatable, Sendable {
        public var inputSize: Int
        public var hiddenSizes: [Int]
        public var activation: String
        public var outputSize: Int
        /// What the outputs mean (`OutputHead`): "q", one Q-value per action, or "categorical",
        /// one logit per action of a categorical policy.
        public var head: String
        /// Convolutions before the hidden layers (absent for an MLP), reading the flat
        /// observation as a channels-last image of `inputShape` (height, width, channels).
        public var convolutions: [ConvSpec]?
        public var inputShape: [Int]?
        /// "CHW" when observations arrive channels-first (C, H, W) and are moved to `inputShape`'s
        /// (H, W, C) before the convolutions; "HWC" (or absent) when they arrive as `inputShape`.
        public var inputLayout: String?
        /// A continuous head's action bounds (one value per output); absent for discrete heads.
        public var actionLow: [Float]?
        public var actionHigh: [Float]?
        /// A Gaussian head's log standard deviation per output (optional: the Gaussian KL needs it).
        public var actionLogStd: [Float]?
    }

    /// One tensor file.
    public struct Entry: Codable, Equatable, Sendable {
        public var name: String
        public var file: String
        public var shape: [Int]
        public var dtype: String
        /// FNV-1a 64 of the file's bytes (hex), so a torn or damaged file is detected on load.
        public var checksum: String?
    }

    public var formatVersion: Int
    /// How to apply the weights in NumPy.
    public var layout: String
    public var architecture: Architecture
    public var tensors: [Entry]
    /// Gymnasium id or `module:attribute` the model was trained on.
    public var environment: String?
    /// Its keyword arguments, as command-line text (`{"n": "4"}`).
    public var environmentArguments: [String: String]?
    /// Gymnasium wrappers applied over it, in order.
    public var environmentWrappers: [Wrapper]?

    /// A recorded wrapper: name, `module:attribute`, keyword arguments as text, and whether the
    /// arguments could be recorded at all.
    public struct Wrapper: Codable, Equatable, Sendable {
        public var name: String
        public var entryPoint: String
        public var arguments: [String: String]?
        public var recordable: Bool?
        public init(name: String, entryPoint: String, arguments: [String: String]?, recordable: Bool?) {
            self.name = name
            self.entryPoint = entryPoint
            self.arguments = arguments
            self.recordable = recordable
        }
    }
    /// Training or distillation configuration.
    public var config: [String: JSONValue]
    /// Measured results (e.g. evaluation returns).
    public var metrics: [String: JSONValue]
    /// How many times this directory's model was replaced in place; tensor files of generation
    /// g > 0 are named `NAME.gG.npy`, so a new generation never overwrites the files the current
    /// `model.json` points to.
    public var generation: Int?
    /// Present for a quantised model (format version 2): its scheme and how it was calibrated.
    public var quantization: Quantization?

    /// How a model's numbers are stored when they are not float32.
    public struct Quantization: Codable, Equatable, Sendable {
        /// "int8": see `Int8Network` for the arithmetic every reader follows.
        public var scheme: String
        /// States the activation scales were calibrated on.
        public var calibrationStates: Int
        public init(scheme: String, calibrationStates: Int) {
            self.scheme = scheme
            self.calibrationStates = calibrationStates
        }
    }

    /// Float models are written as 1; quantised ones as 2 (readers before them refuse them).
    public static let currentFormatVersion = 2
    public static let floatFormatVersion = 1
}

/// A model on disk: a directory of `.npy` files (NumPy's format) plus `model.json`.
public enum ModelDirectory {
    public static let manifestName = "model.json"

    /// How `save` replaces a model that is already there.
    public enum Replacement: Sendable {
        /// The directory holds only the model (a checkpoint's last/): a complete new directory
        /// is written beside it and exchanged with it in one atomic rename.
        case wholeDirectory
        /// The directory also holds other files (a run directory's top level): new tensor files
        /// of a new generation are written and synced, then `model.json` is atomically replaced,
        /// then the previous generation's files are removed.
        case modelFilesOnly
    }

    /// Saves `network` (and `extraTensors`, `extraFiles`) into `directory` so that a crash at any
    /// instant leaves either the previous model or the new one, complete and loadable.
    public static func save(_ network: MLP, to directory: URL, environment: String? = nil,
                            environmentArguments: [String: String] = [:], environmentWrappers: [ModelManifest.Wrapper] = [],
                            config: [String: JSONValue] = [:], metrics: [String: JSONValue] = [:],
                            extraTensors: [String: Tensor] = [:], extraFiles: [String: Data] = [:],
                            replacing requested: Replacement? = nil) throws {
        let mode = requested ?? (holdsOnlyAModel(directory) ? .wholeDirectory : .modelFilesOnly)
        var named: [(String, Tensor)] = []
        for (i, conv) in network.convolutions.enumerated() {
            named.append(("convs.\(i).weight", conv.weightOIHW))
            named.append(("convs.\(i).bias", conv.bias))
        }
        for (i, layer) in network.layers.enumerated() {
            named.append(("layers.\(i).weight", layer.weight))
            named.append(("layers.\(i).bias", layer.bias))
        }
        named += extraTensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (name, tensor) in named { try checkFinite(tensor, name: name, file: directory) }
        var manifest = ModelManifest(
            formatVersion: ModelManifest.floatFormatVersion,
            layout: "h = activation(h @ layers.i.weight + layers.i.bias) for each hidden layer; q = h @ last.weight + last.bias; weight shape is (inputs, outputs)",
            architecture: .init(inputSize: network.inputSize, hiddenSizes: network.hiddenSizes,
                                activation: network.activation.rawValue, outputSize: network.outputSize, head: network.head.rawValue,
                                convolutions: network.convolutions.isEmpty ? nil : network.convolutions.map(\.spec),
                                inputShape: network.convolutions.isEmpty ? nil : network.inputShape,
                                inputLayout: network.convolutions.isEmpty ? nil : (network.channelsFirst ? "CHW" : "HWC"),
                                actionLow: network.head.isContinuous ? network.actionLow : nil,
                                actionHigh: network.head.isContinuous ? network.actionHigh : nil,
                                actionLogStd: network.head == .gaussian && !network.actionLogStd.isEmpty ? network.actionLogStd : nil),
            tensors: [], environment: environment,
            environmentArguments: environmentArguments.isEmpty ? nil : environmentArguments,
            environmentWrappers: environmentWrappers.isEmpty ? nil : environmentWrappers, config: config, metrics: metrics)
        let fm = FileManager.default
        if mode == .modelFilesOnly, fm.fileExists(atPath: directory.path) {
            guard extraFiles.isEmpty else {
                throw CheckpointError.writeFailed(directory.path, detail: "a model with extra files (\(extraFiles.keys.sorted().joined(separator: ", "))) needs a directory of its own")
            }
            try replaceModelFiles(in: directory, named: named, manifest: &manifest)
            return
        }
        let parent = directory.deletingLastPathComponent()
        do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw CheckpointError.writeFailed(directory.path, detail: FileProblem.directorySentence(directory, error: error))
        }
        removeLeftovers(of: directory)
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).saving-\(UUID().uuidString.prefix(8))")
        do { try fm.createDirectory(at: staging, withIntermediateDirectories: false) } catch {
            throw CheckpointError.writeFailed(directory.path, detail: FileProblem.directorySentence(directory, error: error))
        }
        defer { try? fm.removeItem(at: staging) }
        manifest.tensors = try writeTensors(named, into: staging, suffix: "")
        for (name, data) in extraFiles.sorted(by: { $0.key < $1.key }) {
            try DurableFiles.write(data, to: staging.appendingPathComponent(name))
        }
        try DurableFiles.write(try encode(manifest), to: staging.appendingPathComponent(manifestName))
        try DurableFiles.sync(staging)
        if !fm.fileExists(atPath: directory.path) {
            try DurableFiles.rename(staging, to: directory)
            return
        }
        guard holdsOnlyAModel(directory) else {
            throw CheckpointError.writeFailed(directory.path, detail: "it exists and holds files that are not a saved model; choose another directory")
        }
        if try !DurableFiles.exchange(staging, directory) {
            // No atomic exchange on this filesystem: move the old one aside, then the new one in.
            let old = parent.appendingPathComponent(".\(directory.lastPathComponent).old-\(UUID().uuidString.prefix(8))")
            try DurableFiles.rename(directory, to: old)
            try DurableFiles.rename(staging, to: directory)
            try DurableFiles.remove(old)
        }
        // `staging` now holds the previous version; the deferred removal deletes it.
    }

    /// Files a run's checkpoint (last/) keeps beside its model: its state, and a replay buffer
    /// when the run keeps one (see DQN's `ReplaySnapshot`).
    public static let checkpointFileNames: Set<String> = ["state.json", "replay.json", "replay.frames.npy", "replay.frame_ids.npy",
                                                          "replay.actions.npy", "replay.rewards.npy", "replay.discounts.npy",
                                                          "replay.priorities.npy"]

    /// True when `directory` is missing, empty, or holds a saved model and nothing else (its
    /// manifest's files, a checkpoint's state.json, leftovers of killed saves).
    static func holdsOnlyAModel(_ directory: URL) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return true }
        let own = Set((try? readManifest(directory))?.tensors.map(\.file) ?? []).union([manifestName]).union(checkpointFileNames)
        return names.allSatisfy { own.contains($0) || isTensorFileName($0) || $0.hasPrefix(".\(manifestName).saving-") }
    }

    /// Staging and moved-aside copies of `directory` that a killed save left beside it.
    static func removeLeftovers(of directory: URL) {
        let parent = directory.deletingLastPathComponent(), name = directory.lastPathComponent
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
        where entry.hasPrefix(".\(name).saving-") || entry.hasPrefix(".\(name).old-") {
            try? FileManager.default.removeItem(at: parent.appendingPathComponent(entry))
        }
    }

    /// The in-place replacement of `modelFilesOnly`.
    static func replaceModelFiles(in directory: URL, named: [(String, Tensor)], manifest: inout ModelManifest) throws {
        let previous = try? readManifest(directory)
        let generation = previous.map { ($0.generation ?? 0) + 1 } ?? 0
        manifest.generation = generation
        manifest.tensors = try writeTensors(named, into: directory, suffix: generation == 0 ? "" : ".g\(generation)")
        try DurableFiles.sync(directory)
        let temporary = directory.appendingPathComponent(".\(manifestName).saving-\(UUID().uuidString.prefix(8))")
        try DurableFiles.write(try encode(manifest), to: temporary)
        try DurableFiles.rename(temporary, to: directory.appendingPathComponent(manifestName))
        // The previous generation, and files of saves that were killed before their manifest.
        // Only files of this writer's names and generations: a user's file of another name stays.
        let keep = Set(manifest.tensors.map(\.file)), names = Set(manifest.tensors.map(\.name))
        let previousFiles = Set(previous?.tensors.map(\.file).filter(isPlainFileName) ?? [])
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where !keep.contains(entry) && (previousFiles.contains(entry) || isTensorFile(entry, ofNames: names, generationAtMost: generation)
                                        || entry.hasPrefix(".\(manifestName).saving-")) {
            try DurableFiles.remove(directory.appendingPathComponent(entry))
        }
    }

    /// Names this writer gives tensor files: `layers.I.weight.npy`, and any `NAME.gG.npy` of a
    /// later generation (which a killed save may leave unreferenced).
    public static func isTensorFileName(_ name: String) -> Bool {
        guard name.hasSuffix(".npy") else { return false }
        let parts = name.dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
        if let last = parts.last, parts.count >= 2, last.hasPrefix("g"), Int(last.dropFirst()) != nil { return true }
        return parts.count == 3 && parts[0] == "layers" && Int(parts[1]) != nil && (parts[2] == "weight" || parts[2] == "bias")
    }

    /// True for `NAME.npy` or `NAME.gG.npy` with NAME one of `names` and G at most `generationAtMost`:
    /// a file this writer gives a tensor of that name in some generation.
    public static func isTensorFile(_ file: String, ofNames names: Set<String>, generationAtMost limit: Int) -> Bool {
        guard file.hasSuffix(".npy") else { return false }
        var stem = Substring(file.dropLast(4)), generation = 0
        if let dot = stem.lastIndex(of: "."), stem[stem.index(after: dot)...].hasPrefix("g"),
           let g = Int(stem[stem.index(dot, offsetBy: 2)...]), g > 0 {
            generation = g
            stem = stem[..<dot]
        }
        return names.contains(String(stem)) && generation <= limit
    }

    static func writeTensors(_ named: [(String, Tensor)], into directory: URL, suffix: String) throws -> [ModelManifest.Entry] {
        var entries: [ModelManifest.Entry] = []
        for (name, tensor) in named {
            let bytes = NumPyFile.encode(tensor)
            let file = name + suffix + ".npy"
            try DurableFiles.write(bytes, to: directory.appendingPathComponent(file))
            entries.append(.init(name: name, file: file, shape: tensor.shape, dtype: "float32", checksum: fnv1a(bytes)))
        }
        return entries
    }

    static func encode(_ manifest: ModelManifest) throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { return try encoder.encode(manifest) } catch {
            throw CheckpointError.writeFailed(manifestName, detail: "the manifest does not encode: \(error)")
        }
    }

    /// Extra tensors saved beside the network (e.g. a training state's target network).
    public static func loadTensor(_ name: String, from directory: URL) throws -> Tensor {
        let manifest = try readManifest(directory)
        guard let entry = manifest.tensors.first(where: { $0.name == name }) else {
            throw CheckpointError.badManifest(directory.appendingPathComponent(manifestName).path, detail: "no entry for \(name)")
        }
        return try readEntry(entry, in: directory)
    }

    /// Loads a model directory, checking every file against the manifest.
    public static func load(from directory: URL) throws -> (network: MLP, manifest: ModelManifest) {
        let manifest = try readManifest(directory)
        if let q = manifest.quantization {
            throw CheckpointError.quantized(directory.path, scheme: q.scheme)
        }
        guard let activation = Activation(rawValue: manifest.architecture.activation) else {
            throw CheckpointError.badManifest(directory.appendingPathComponent(manifestName).path,
                                              detail: "unknown activation '\(manifest.architecture.activation)'")
        }
        let arch = manifest.architecture
        guard let head = OutputHead(rawValue: arch.head) else {
            let named = OutputHead.allCases.map { "'\($0.rawValue)' (\($0.phrase))" }
            let known = named.dropLast().joined(separator: ", ") + " and " + named.last!
            throw CheckpointError.badManifest(directory.appendingPathComponent(manifestName).path,
                                              detail: "its head is '\(arch.head)', and this version runs \(known); a newer swift-distill may read it")
        }
        var byName: [String: ModelManifest.Entry] = [:]
        for e in manifest.tensors { byName[e.name] = e }
        let manifestPath = directory.appendingPathComponent(manifestName).path
        // Convolutions first (weights stored in PyTorch's (O, C, KH, KW) layout), then the dense layers.
        var convolutions: [Conv2D] = []
        if let specs = arch.convolutions, !specs.isEmpty {
            guard let shape = arch.inputShape, shape.count == 3, shape.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }),
                  shape.reduce(1, *) == arch.inputSize else {
                throw CheckpointError.badManifest(manifestPath, detail: "convolutions need input_shape (height, width, channels) matching input_size")
            }
            guard arch.inputLayout == nil || arch.inputLayout == "HWC" || arch.inputLayout == "CHW" else {
                throw CheckpointError.badManifest(manifestPath, detail: "input_layout is '\(arch.inputLayout!)'; it must be \"HWC\" or \"CHW\"")
            }
            var current = shape
            for (i, spec) in specs.enumerated() {
                guard spec.outputChannels > 0, spec.outputChannels <= 1 << 16, spec.kernel > 0, spec.stride > 0, spec.padding >= 0,
                      current[0] + 2 * spec.padding >= spec.kernel, current[1] + 2 * spec.padding >= spec.kernel else {
                    throw CheckpointError.badManifest(manifestPath, detail: "convolution \(i) (\(spec)) does not fit its input \(current)")
                }
                let g = ConvolutionGeometry(height: current[0], width: current[1], channels: current[2], kernelHeight: spec.kernel,
                                            kernelWidth: spec.kernel, stride: spec.stride, padding: spec.padding)
                let w = try tensor(named: "convs.\(i).weight", shape: [spec.outputChannels, current[2], spec.kernel, spec.kernel],
                                   in: directory, byName: byName)
                let b = try tensor(named: "convs.\(i).bias", shape: [spec.outputChannels], in: directory, byName: byName)
                let conv = Conv2D(weight: Conv2D.weight(fromOIHW: w), bias: b, geometry: g)
                convolutions.append(conv)
                current = conv.outputShape
            }
        }
        let firstInputs = convolutions.last.map { $0.outputShape.reduce(1, *) } ?? arch.inputSize
        let sizes = [firstInputs] + arch.hiddenSizes + [arch.outputSize]
        var layers: [Linear] = []
        for i in 0..<(sizes.count - 1) {
            let expected = [("weight", [sizes[i], sizes[i + 1]]), ("bias", [sizes[i + 1]])]
            var loaded: [Tensor] = []
            for (kind, shape) in expected {
                let name = "layers.\(i).\(kind)"
                guard let entry = byName[name] else {
                    throw CheckpointError.badManifest(directory.appendingPathComponent(manifestName).path, detail: "no entry for \(name)")
                }
                let path = directory.appendingPathComponent(entry.file)
                let t = try readEntry(entry, in: directory)
                guard t.shape == shape, entry.shape == shape else {
                    throw CheckpointError.shapeMismatch(path.path, expected: shape, found: t.shape == shape ? entry.shape : t.shape)
                }
                try checkFinite(t, name: name, file: path)
                loaded.append(t)
            }
            layers.append(Linear(weight: loaded[0], bias: loaded[1]))
        }
        var network = MLP(convolutions: convolutions, layers: layers, activation: activation, channelsFirst: arch.inputLayout == "CHW")
        network.head = head
        if head.isContinuous {
            (network.actionLow, network.actionHigh) = try actionBounds(arch, head: head, manifestPath: manifestPath)
        }
        if let logStd = arch.actionLogStd {
            guard head == .gaussian, logStd.count == arch.outputSize, logStd.allSatisfy({ $0.isFinite }) else {
                throw CheckpointError.badManifest(manifestPath, detail: "action_log_std belongs to a 'gaussian' head and needs \(arch.outputSize) finite values")
            }
            network.actionLogStd = logStd
        }
        return (network, manifest)
    }

    /// A continuous head's bounds from `arch`, checked: one finite value per output, low < high.
    static func actionBounds(_ arch: ModelManifest.Architecture, head: OutputHead, manifestPath: String) throws -> (low: [Float], high: [Float]) {
        guard let low = arch.actionLow, let high = arch.actionHigh, low.count == arch.outputSize, high.count == arch.outputSize,
              zip(low, high).allSatisfy({ $0.isFinite && $1.isFinite && $0 < $1 }) else {
            throw CheckpointError.badManifest(manifestPath, detail: "a '\(head.rawValue)' head needs action_low and action_high: \(arch.outputSize) finite values each, low < high")
        }
        return (low, high)
    }

    /// Refuses a tensor holding NaN or infinity, read or about to be written: a model with one
    /// cannot act, and saving one would replace a usable model with it.
    static func checkFinite(_ tensor: Tensor, name: String, file: URL) throws {
        let finite = tensor.scalars.withUnsafeBufferPointer { values in values.allSatisfy { $0.isFinite } }
        guard finite else { throw CheckpointError.nonFinite(file.path, tensor: name) }
    }

    /// A tensor the manifest must list, checked against the shape the architecture needs.
    static func tensor(named name: String, shape: [Int], in directory: URL, byName: [String: ModelManifest.Entry]) throws -> Tensor {
        guard let entry = byName[name] else {
            throw CheckpointError.badManifest(directory.appendingPathComponent(manifestName).path, detail: "no entry for \(name)")
        }
        let t = try readEntry(entry, in: directory)
        guard t.shape == shape, entry.shape == shape else {
            throw CheckpointError.shapeMismatch(directory.appendingPathComponent(entry.file).path, expected: shape,
                                                found: t.shape == shape ? entry.shape : t.shape)
        }
        try checkFinite(t, name: name, file: directory.appendingPathComponent(entry.file))
        return t
    }

    /// Bytes of the model's own tensor files (what a deployment ships), excluding extra tensors
    /// such as a checkpoint's target network.
    public static func modelBytes(_ directory: URL) throws -> Int {
        try readManifest(directory).tensors.filter { $0.name.hasPrefix("layers.") || $0.name.hasPrefix("convs.") }.reduce(0) { total, e in
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(e.file).path)
            return total + ((attributes?[.size] as? Int) ?? 0)
        }
    }

    /// Reads and decodes `model.json`.
    public static func readManifest(_ directory: URL) throws -> ModelManifest {
        let url = directory.appendingPathComponent(manifestName)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw CheckpointError.missingFile(directory.path)
        }
        if !FileManager.default.fileExists(atPath: url.path), let index = MultiTaskDirectory.index(directory) {
            throw CheckpointError.multiTask(directory.path, tasks: index.tasks.map(\.name))
        }
        try checkRegularFile(url, atMost: 16 << 20)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw CheckpointError.missingFile(url.path) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let manifest: ModelManifest
        do { manifest = try decoder.decode(ModelManifest.self, from: data) } catch {
            throw CheckpointError.badManifest(url.path, detail: describe(error, data: data))
        }
        guard manifest.formatVersion <= ModelManifest.currentFormatVersion else {
            throw CheckpointError.badManifest(url.path, detail: "format version \(manifest.formatVersion) is newer than this program understands (\(ModelManifest.currentFormatVersion)); update swift-distill")
        }
        return manifest
    }

    /// A decoding error worded with the file's own JSON path (`architecture.hidden_sizes[1]`),
    /// not the reader's Swift names.
    static func describe(_ error: Error, data: Data? = nil) -> String {
        func path(_ keys: [CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue { text += "[\(index)]"; continue }
                text += (text.isEmpty ? "" : ".") + snakeCase(key.stringValue)
            }
            return text
        }
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            let parent = path(ctx.codingPath)
            return "missing key '\(snakeCase(key.stringValue))'" + (parent.isEmpty ? "" : " in \(parent)")
        case DecodingError.typeMismatch(let type, let ctx), DecodingError.valueNotFound(let type, let ctx):
            let at = path(ctx.codingPath)
            return (at.isEmpty ? "the file" : at) + " is not " + kind(type)
        case DecodingError.dataCorrupted(let ctx):
            let at = path(ctx.codingPath)
            if !at.isEmpty { return "\(at) is out of range or not of the right kind" }
            return data.flatMap(nonInteger(in:)).map { "\($0) is not an integer of a usable size" } ?? "not valid JSON"
        default: return "\(error)"
        }
    }

    /// Keys whose values (or list items) the manifest holds as integers.
    static let integerKeys: Set<String> = ["format_version", "generation", "input_size", "output_size", "hidden_sizes", "shape",
                                           "input_shape", "output_channels", "kernel", "stride", "padding"]

    /// The JSON path of the first value under an integer key that is not an integer Swift can
    /// hold (1e30, 6.5): valid JSON that the decoder refuses without saying where.
    static func nonInteger(in data: Data) -> String? {
        guard let root = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        func isInteger(_ value: Any) -> Bool {
            guard let n = value as? NSNumber, !(value is Bool) else { return true }  // other kinds: the type check's business
            let d = n.doubleValue
            return d == d.rounded() && abs(d) < 9.0e18
        }
        func walk(_ value: Any, _ at: String, integer: Bool) -> String? {
            if let object = value as? [String: Any] {
                for key in object.keys.sorted() {
                    if let found = walk(object[key]!, at.isEmpty ? key : at + "." + key, integer: integerKeys.contains(key)) { return found }
                }
            } else if let list = value as? [Any] {
                for (i, item) in list.enumerated() {
                    if let found = walk(item, at + "[\(i)]", integer: integer) { return found }
                }
            } else if integer && !isInteger(value) {
                return at
            }
            return nil
        }
        return walk(root, "", integer: false)
    }

    /// `hiddenSizes` → `hidden_sizes`, as the file spells the key.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for c in name {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }

    private static func kind(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }

    /// Reads one manifest entry: the file must be a regular file directly inside the directory,
    /// no larger than its shape needs, and match the manifest's checksum.
    static func readEntry(_ entry: ModelManifest.Entry, in directory: URL) throws -> Tensor {
        let data = try checkedBytes(entry, in: directory, itemBytes: 8)
        return try NumPyFile.decode(data, path: directory.appendingPathComponent(entry.file).path)
    }

    /// The bytes of a manifest entry's file: a regular file directly inside the directory, no
    /// larger than its shape needs at `itemBytes` a value, matching the manifest's checksum.
    static func checkedBytes(_ entry: ModelManifest.Entry, in directory: URL, itemBytes: Int) throws -> Data {
        let manifestPath = directory.appendingPathComponent(manifestName).path
        guard isPlainFileName(entry.file) else {
            throw CheckpointError.badManifest(manifestPath, detail: "tensor \(entry.name) names '\(entry.file)', which is not a file inside the model directory")
        }
        let url = directory.appendingPathComponent(entry.file)
        var count = 1
        for dimension in entry.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow, product < Int.max / 16 else {
                throw CheckpointError.badManifest(manifestPath, detail: "tensor \(entry.name) has an impossible shape \(entry.shape)")
            }
            count = product
        }
        try checkRegularFile(url, atMost: count * itemBytes + 65_600)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw CheckpointError.missingFile(url.path) }
        if let expected = entry.checksum, fnv1a(data) != expected {
            throw CheckpointError.checksumMismatch(url.path)
        }
        return data
    }

    /// A name of a file directly inside a directory: no separators, no `..`, not empty.
    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }

    /// The bytes of `name`, a regular file directly inside `directory` of at most `limit` bytes
    /// (a checkpoint's own files beside its tensors), or nil when there is no such entry.
    public static func readOwnFile(_ name: String, in directory: URL, atMost limit: Int) throws -> Data? {
        precondition(isPlainFileName(name), "a file directly inside the directory")
        let url = directory.appendingPathComponent(name)
        guard (try? FileManager.default.attributesOfItem(atPath: url.path)) != nil else { return nil }
        try checkRegularFile(url, atMost: limit)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw CheckpointError.missingFile(url.path) }
        return data
    }

    /// Refuses anything but a regular file (symbolic links, devices, FIFOs, directories) and
    /// files larger than `limit` bytes, before reading a byte of it.
    static func checkRegularFile(_ url: URL, atMost limit: Int) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              let type = attributes[.type] as? FileAttributeType else {
            throw CheckpointError.missingFile(url.path)
        }
        guard type == .typeRegular else {
            throw CheckpointError.notARegularFile(url.path)
        }
        if let size = (attributes[.size] as? NSNumber)?.intValue, size > limit {
            throw CheckpointError.tooLarge(url.path, bytes: size, limit: limit)
        }
    }

    /// 64-bit FNV-1a, hex: a cheap integrity check, not a security measure.
    public static func fnv1a(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { bytes in  // not Data's iterator: byte by byte through it costs ~10× more
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
        }
        return String(hash, radix: 16)
    }
}
