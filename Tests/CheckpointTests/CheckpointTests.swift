import Checkpoint
import Foundation
import NN
import PythonBridge
import Tensor
import Testing

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("swift-distill-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct NpyTests {
    let np: PythonObject
    init() throws { np = try Python.import("numpy") }

    @Test(arguments: [[Int](), [5], [3, 4], [2, 3, 2], [0, 3]])
    func swiftFilesLoadInNumPyAndMatchNumPySaveByteForByte(shape: [Int]) throws {
        let dir = try temporaryDirectory()
        let n = shape.reduce(1, *)
        let t = Tensor(shape: shape, scalars: (0..<n).map { Float($0) * 0.25 - 1 })
        let ours = dir.appendingPathComponent("ours.npy"), theirs = dir.appendingPathComponent("theirs.npy")
        try NumPyFile.write(t, to: ours)
        let loaded = try np.method("load", ours.path)
        #expect(try String(python: loaded.attr("dtype").attr("str")) == "<f4")
        #expect(try loaded.arrayShape() == shape)
        #expect(try loaded.floatArray() == t.scalars)
        // numpy.save of the same array writes the same bytes.
        try np.method("save", theirs.path, PythonObject.ndarray(t.scalars, shape: shape))
        #expect(try Data(contentsOf: ours) == Data(contentsOf: theirs))
        #expect(try Data(contentsOf: ours).count % 64 == (n * 4) % 64, "data starts at a multiple of 64")
    }

    @Test(arguments: [("float32", [1, 0]), ("float64", [1, 0]), ("float32", [2, 0]), ("float64", [3, 0])])
    func numpyFilesLoadInSwift(dtype: String, version: [Int]) throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("a.npy").path
        let save = try Python.run("""
            import numpy as np
            from numpy.lib import format as fmt
            def save(path, dtype, version):
                a = (np.arange(6, dtype=np.float64).reshape(2, 3) / 3).astype(dtype)
                with open(path, "wb") as f:
                    fmt.write_array(f, a, version=tuple(version))
                return [float(v) for v in a.astype(np.float32).ravel()]
            """).item("save")
        let expected = try [Float](python: save.call(path, dtype, version))
        let t = try NumPyFile.read(URL(fileURLWithPath: path))
        #expect(t.shape == [2, 3] && t.scalars == expected)
        for (shape, value) in [([Int](), 3.5), ([1], 2.0)] {
            let p = dir.appendingPathComponent("s\(shape.count).npy").path
            try np.method("save", p, np.method("full", shape, value, kwargs: ["dtype": "float32"]))
            let s = try NumPyFile.read(URL(fileURLWithPath: p))
            #expect(s.shape == shape && s.scalars == [Float(value)])
        }
    }

    @Test func malformedFilesGiveTheirErrors() throws {
        let dir = try temporaryDirectory()
        func write(_ name: String, _ make: String) throws -> URL {
            let p = dir.appendingPathComponent(name)
            try Python.run("import numpy as np\npath = r'''\(p.path)'''\n" + make)
            return p
        }
        let good = try Data(contentsOf: write("good.npy", "np.save(path, np.ones((4, 4), np.float32))"))
        func expectError(_ url: URL, _ check: (CheckpointError) -> Bool) {
            do {
                _ = try NumPyFile.read(url)
                Issue.record("\(url.lastPathComponent) should fail")
            } catch let e as CheckpointError {
                #expect(check(e), "\(e)")
                #expect(e.description.hasSuffix(".") && !e.description.contains("\n"))
            } catch { Issue.record("unexpected \(error)") }
        }
        let truncated = dir.appendingPathComponent("truncated.npy")
        try good.prefix(good.count - 10).write(to: truncated)
        expectError(truncated) { if case .truncated = $0 { return true }; return false }
        let badMagic = dir.appendingPathComponent("magic.npy")
        try Data("PK\u{3}\u{4} not numpy at all".utf8).write(to: badMagic)
        expectError(badMagic) { $0 == .badMagic(badMagic.path) }
        var v9 = good; v9[6] = 9
        let version = dir.appendingPathComponent("v9.npy")
        try v9.write(to: version)
        expectError(version) { if case .unsupportedVersion = $0 { return true }; return false }
        expectError(try write("int.npy", "np.save(path, np.arange(3))")) { if case .unsupportedDType(_, let d) = $0 { return d == "<i8" }; return false }
        expectError(try write("big.npy", "np.save(path, np.ones(3, dtype='>f4'))")) { if case .unsupportedDType = $0 { return true }; return false }
        expectError(try write("fortran.npy", "np.save(path, np.asfortranarray(np.ones((2, 3), np.float32)))")) { $0 == .fortranOrder(dir.appendingPathComponent("fortran.npy").path) }
        expectError(dir.appendingPathComponent("absent.npy")) { if case .missingFile = $0 { return true }; return false }
        let header = dir.appendingPathComponent("header.npy")
        var broken = good
        broken.replaceSubrange(10..<20, with: Data("[not-dict".utf8) + Data([0x20]))
        try broken.write(to: header)
        expectError(header) { if case .badHeader = $0 { return true }; return false }
    }
}

@Suite struct ModelDirectoryTests {
    @Test func roundTripAndNumPyReadsTheManifest() throws {
        let dir = try temporaryDirectory().appendingPathComponent("teacher")
        let net = MLP(inputSize: 4, hiddenSizes: [16, 8], outputSize: 2, seed: 11)
        try ModelDirectory.save(net, to: dir, environment: "CartPole-v1",
                                config: ["seed": .number(11)], metrics: ["mean_return": .number(500)])
        let (loaded, manifest) = try ModelDirectory.load(from: dir)
        #expect(loaded == net)
        #expect(manifest.environment == "CartPole-v1" && manifest.architecture.hiddenSizes == [16, 8])
        #expect(manifest.metrics["mean_return"] == .number(500))
        // Python: read model.json and the .npy files with plain NumPy and json; same Q-values.
        let q = try Python.run("""
            import json, os, numpy as np
            def q_values(d, x):
                m = json.load(open(os.path.join(d, "model.json")))
                h = np.asarray(x, dtype=np.float32)
                files = [np.load(os.path.join(d, t["file"])) for t in m["tensors"]]
                for i in range(0, len(files), 2):
                    h = h @ files[i] + files[i + 1]
                    if i + 2 < len(files):
                        h = np.maximum(h, 0)
                return [float(v) for v in h.ravel()], m["architecture"]["input_size"], m["format_version"]
            """).item("q_values").call(dir.path, [[0.1, -0.2, 0.3, 0.05]]).elements()
        let x = Tensor(rows: [[0.1, -0.2, 0.3, 0.05]])
        let expected = net(x).scalars
        let got = try [Float](python: q[0])
        for (a, b) in zip(got, expected) { #expect(abs(a - b) < 1e-5) }
        #expect(try Int(python: q[1]) == 4 && Int(python: q[2]) == 1)
    }

    @Test func theHeadIsSavedAndReadBack() throws {
        // A categorical policy's network (a PPO teacher or its student) keeps its head; an
        // unknown head is refused with the ones this version runs.
        let dir = try temporaryDirectory().appendingPathComponent("policy")
        var net = MLP(inputSize: 4, hiddenSizes: [8], outputSize: 2, activation: .tanh, seed: 3)
        net.head = .categorical
        try ModelDirectory.save(net, to: dir)
        let (loaded, manifest) = try ModelDirectory.load(from: dir)
        #expect(loaded == net && loaded.head == .categorical && manifest.architecture.head == "categorical")
        let plain = try temporaryDirectory().appendingPathComponent("q")
        try ModelDirectory.save(MLP(inputSize: 4, hiddenSizes: [8], outputSize: 2, seed: 3), to: plain)
        #expect(try ModelDirectory.load(from: plain).network.head == .q)
        let file = dir.appendingPathComponent(ModelDirectory.manifestName)
        let text = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "\"categorical\"", with: "\"poisson\"")
        try text.write(to: file, atomically: true, encoding: .utf8)
        #expect {
            try ModelDirectory.load(from: dir)
        } throws: { error in
            "\(error)".contains("its head is 'poisson', and this version runs 'q' (Q-values), 'categorical'")
        }
    }

    @Test func sameSeedGivesByteIdenticalCheckpoints() throws {
        let root = try temporaryDirectory()
        for name in ["a", "b"] {
            try ModelDirectory.save(MLP(inputSize: 4, hiddenSizes: [32], outputSize: 2, seed: 5), to: root.appendingPathComponent(name))
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("a").path).sorted()
        #expect(files == ["layers.0.bias.npy", "layers.0.weight.npy", "layers.1.bias.npy", "layers.1.weight.npy", "model.json"])
        for f in files {
            #expect(try Data(contentsOf: root.appendingPathComponent("a/\(f)")) == Data(contentsOf: root.appendingPathComponent("b/\(f)")))
        }
    }

    @Test func savingIntoARunDirectoryKeepsOtherFiles() throws {
        let dir = try temporaryDirectory().appendingPathComponent("run")
        try ModelDirectory.save(MLP(inputSize: 2, hiddenSizes: [4], outputSize: 2, seed: 1), to: dir)
        try Data("step,return\n".utf8).write(to: dir.appendingPathComponent("metrics.csv"))
        let better = MLP(inputSize: 2, hiddenSizes: [4], outputSize: 2, seed: 9)
        try ModelDirectory.save(better, to: dir, extraTensors: ["target.layers.0.weight": Tensor(shape: [2, 2], repeating: 1)])
        #expect(try ModelDirectory.load(from: dir).network == better)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("metrics.csv").path))
        #expect(try ModelDirectory.loadTensor("target.layers.0.weight", from: dir) == Tensor(shape: [2, 2], repeating: 1))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.deletingLastPathComponent().path)
        #expect(leftovers == ["run"])
    }

    @Test func saveReplacesAtomicallyAndLeavesNoTemporaries() throws {
        let root = try temporaryDirectory()
        let dir = root.appendingPathComponent("model")
        try ModelDirectory.save(MLP(inputSize: 2, hiddenSizes: [4], outputSize: 2, seed: 1), to: dir)
        let second = MLP(inputSize: 2, hiddenSizes: [4], outputSize: 2, seed: 2)
        try ModelDirectory.save(second, to: dir)
        #expect(try ModelDirectory.load(from: dir).network == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["model"])
    }

    @Test func corruptDirectoriesGiveClearErrors() throws {
        let root = try temporaryDirectory()
        #expect(throws: CheckpointError.missingFile(root.appendingPathComponent("nope").path)) {
            try ModelDirectory.load(from: root.appendingPathComponent("nope"))
        }
        let dir = root.appendingPathComponent("m")
        try ModelDirectory.save(MLP(inputSize: 3, hiddenSizes: [4], outputSize: 2, seed: 1), to: dir)
        // A tensor file replaced behind the manifest's back: its checksum no longer matches.
        try NumPyFile.write(Tensor(shape: [4, 3]), to: dir.appendingPathComponent("layers.0.weight.npy"))
        #expect { try ModelDirectory.load(from: dir) } throws: {
            if case .checksumMismatch = $0 as? CheckpointError { return true }; return false
        }
        // Without checksums (a hand-made manifest), the shape check catches it.
        let manifestURL = dir.appendingPathComponent("model.json")
        let text = try String(contentsOf: manifestURL, encoding: .utf8)
        let stripped = text.split(separator: "\n").filter { !$0.contains("\"checksum\"") }.joined(separator: "\n")
        try stripped.write(to: manifestURL, atomically: true, encoding: .utf8)
        #expect { try ModelDirectory.load(from: dir) } throws: {
            if case .shapeMismatch = $0 as? CheckpointError { return true }; return false
        }
        // A missing tensor file.
        try ModelDirectory.save(MLP(inputSize: 3, hiddenSizes: [4], outputSize: 2, seed: 1), to: dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("layers.1.bias.npy"))
        #expect { try ModelDirectory.load(from: dir) } throws: {
            if case .missingFile(let p) = $0 as? CheckpointError { return p.hasSuffix("layers.1.bias.npy") }; return false
        }
        // A manifest that is not JSON.
        try Data("{oops".utf8).write(to: dir.appendingPathComponent("model.json"))
        #expect { try ModelDirectory.load(from: dir) } throws: {
            if case .badManifest(_, let d) = $0 as? CheckpointError { return d.contains("JSON") }; return false
        }
    }
}

/// A version-1.0 .npy file with the given header dict and data bytes.
func npyFile(_ dict: String, data: Data) -> Data {
    var header = dict
    header += String(repeating: " ", count: 64 - (10 + header.utf8.count + 1) % 64) + "\n"
    var file = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
    file.append(Data(header.utf8))
    file.append(data)
    return file
}

@Suite struct NpyHeaderLimitsTests {
    @Test func aShapeLargerThanTheFileIsRefusedNotTrapped() throws {
        let file = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", data: Data(count: 8))
        #expect { try NumPyFile.decode(file, path: "big.npy") } throws: {
            ($0 as? CheckpointError)?.description.contains("holds more values than the file has bytes") ?? false
        }
    }

    @Test func float64FilesNarrowByteForByte() throws {
        var data = Data()
        for v in [1.5, -2.25, 1e-3] { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        let file = npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data: data)
        #expect(try NumPyFile.decode(file).scalars == [1.5, -2.25, Float(1e-3)])
    }
}

@Suite struct ConvolutionalModelTests {
    @Test func aConvolutionalNetworkRoundTripsWithPyTorchLayoutWeights() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let net = MLP(observationShape: [10, 10, 4], convolutions: [ConvSpec(outputChannels: 16, kernel: 3, stride: 1)],
                      hiddenSizes: [8], outputSize: 3, seed: 5)
        try ModelDirectory.save(net, to: dir)
        let (loaded, manifest) = try ModelDirectory.load(from: dir)
        #expect(loaded == net)
        #expect(manifest.architecture.convolutions == [ConvSpec(outputChannels: 16, kernel: 3, stride: 1)])
        #expect(manifest.architecture.inputShape == [10, 10, 4] && manifest.architecture.inputSize == 400)
        let entry = try #require(manifest.tensors.first { $0.name == "convs.0.weight" })
        #expect(entry.shape == [16, 4, 3, 3], "PyTorch's (out, in, kh, kw)")
        let stored = try NumPyFile.read(dir.appendingPathComponent(entry.file))
        // (o, c, ky, kx) in the file is (ky, kx, c, o) in the network.
        let (o, c, ky, kx) = (5, 2, 1, 0)
        let inFile: Int = ((o * 4 + c) * 3 + ky) * 3 + kx
        let inNetwork: Int = ((ky * 3 + kx) * 4 + c) * 16 + o
        #expect(stored.scalars[inFile] == net.convolutions[0].weight.scalars[inNetwork])
    }
}
