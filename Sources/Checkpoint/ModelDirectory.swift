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
        /// "q": the output is one Q-value per action.
        public var head: String
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
    /// Training or distillation configuration.
    public var config: [String: JSONValue]
    /// Measured results (e.g. evaluation returns).
    public var metrics: [String: JSONValue]

    public static let currentFormatVersion = 1
}

/// A model on disk: a directory of `.npy` files (NumPy's format) plus `model.json`.
public enum ModelDirectory {
    public static let manifestName = "model.json"

    /// Saves `network` into `directory` atomically.
    ///
    /// Everything is first written into a staging directory. A new directory is then put in
    /// place by one rename. An existing directory (e.g. a run directory that also holds
    /// metrics.csv) gets each file renamed in, `model.json` last; `extraFiles` (e.g. a checkpoint's
    /// state.json) are written beside the tensors; every tensor's checksum is in
    /// the manifest, so a save torn between renames is detected on load rather than used.
    public static func save(_ network: MLP, to directory: URL, environment: String? = nil,
                            config: [String: JSONValue] = [:], metrics: [String: JSONValue] = [:],
                            extraTensors: [String: Tensor] = [:], extraFiles: [String: Data] = [:]) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let token = UUID().uuidString.prefix(8)
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).saving-\(token)")
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw CheckpointError.writeFailed(directory.path, detail: error.localizedDescription)
        }
        defer { try? fm.removeItem(at: staging) }

        var entries: [ModelManifest.Entry] = []
        var named: [(String, Tensor)] = []
        for (i, layer) in network.layers.enumerated() {
            named.append(("layers.\(i).weight", layer.weight))
            named.append(("layers.\(i).bias", layer.bias))
        }
        named += extraTensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (name, tensor) in named {
            let bytes = NumPyFile.encode(tensor)
            do { try bytes.write(to: staging.appendingPathComponent(name + ".npy")) } catch {
                throw CheckpointError.writeFailed(directory.path, detail: error.localizedDescription)
            }
            entries.append(.init(name: name, file: name + ".npy", shape: tensor.shape, dtype: "float32",
                                 checksum: fnv1a(bytes)))
        }
        for (name, data) in extraFiles.sorted(by: { $0.key < $1.key }) {
            do { try data.write(to: staging.appendingPathComponent(name)) } catch {
                throw CheckpointError.writeFailed(directory.path, detail: error.localizedDescription)
            }
        }
        let manifest = ModelManifest(
            formatVersion: ModelManifest.currentFormatVersion,
            layout: "h = activation(h @ layers.i.weight + layers.i.bias) for each hidden layer; q = h @ last.weight + last.bias; weight shape is (inputs, outputs)",
            architecture: .init(inputSize: network.inputSize, hiddenSizes: network.hiddenSizes,
                                activation: network.activation.rawValue, outputSize: network.outputSize, head: "q"),
            tensors: entries, environment: environment, config: config, metrics: metrics)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(manifest).write(to: staging.appendingPathComponent(manifestName))
        } catch {
            throw CheckpointError.writeFailed(directory.path, detail: error.localizedDescription)
        }
        if fm.fileExists(atPath: directory.path) {
            try moveFiles(from: staging, into: directory, last: manifestName)
        } else {
            do { try fm.moveItem(at: staging, to: directory) } catch {
                throw CheckpointError.writeFailed(directory.path, detail: error.localizedDescription)
            }
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
        guard let activation = Activation(rawValue: manifest.architecture.activation) else {
            throw CheckpointError.badManifest(directory.appendingPathComponent(manifestName).path,
                                              detail: "unknown activation '\(manifest.architecture.activation)'")
        }
        let arch = manifest.architecture
        let sizes = [arch.inputSize] + arch.hiddenSizes + [arch.outputSize]
        var byName: [String: ModelManifest.Entry] = [:]
        for e in manifest.tensors { byName[e.name] = e }
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
                loaded.append(t)
            }
            layers.append(Linear(weight: loaded[0], bias: loaded[1]))
        }
        return (MLP(layers: layers, activation: activation), manifest)
    }

    /// Bytes of the model's own tensor files (what a deployment ships), excluding extra tensors
    /// such as a checkpoint's target network.
    public static func modelBytes(_ directory: URL) throws -> Int {
        try readManifest(directory).tensors.filter { $0.name.hasPrefix("layers.") }.reduce(0) { total, e in
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
        guard let data = FileManager.default.contents(atPath: url.path) else { throw CheckpointError.missingFile(url.path) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let manifest: ModelManifest
        do { manifest = try decoder.decode(ModelManifest.self, from: data) } catch {
            throw CheckpointError.badManifest(url.path, detail: describe(error))
        }
        guard manifest.formatVersion <= ModelManifest.currentFormatVersion else {
            throw CheckpointError.badManifest(url.path, detail: "format version \(manifest.formatVersion) is newer than this program understands (\(ModelManifest.currentFormatVersion)); update swift-distill")
        }
        return manifest
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted: return "not valid JSON"
        default: return "\(error)"
        }
    }

    /// Reads one manifest entry, checking the file's checksum when the manifest has one.
    static func readEntry(_ entry: ModelManifest.Entry, in directory: URL) throws -> Tensor {
        let url = directory.appendingPathComponent(entry.file)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw CheckpointError.missingFile(url.path) }
        if let expected = entry.checksum, fnv1a(data) != expected {
            throw CheckpointError.checksumMismatch(url.path)
        }
        return try NumPyFile.decode(data, path: url.path)
    }

    /// Renames each file of `staging` into `target` (replacing files of the same name), `last` at the end.
    private static func moveFiles(from staging: URL, into target: URL, last: String) throws {
        let fm = FileManager.default
        do {
            let all = try fm.contentsOfDirectory(atPath: staging.path).sorted()
            let names = all.filter { $0 != last } + (all.contains(last) ? [last] : [])
            for name in names {
                let destination = target.appendingPathComponent(name)
                if rename(staging.appendingPathComponent(name).path, destination.path) != 0 {
                    throw CocoaError(.fileWriteUnknown)
                }
            }
        } catch {
            throw CheckpointError.writeFailed(target.path, detail: "\(error)")
        }
    }

    /// 64-bit FNV-1a, hex: a cheap integrity check, not a security measure.
    static func fnv1a(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
