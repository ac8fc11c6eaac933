import ArgumentParser
import Checkpoint
import Foundation
import PythonBridge

/// `distill export`: a saved model in another format. `npy` writes a fresh model directory with
/// plain tensor names (`layers.0.weight.npy`, …) and nothing else; `onnx` goes through the Python
/// package's exporter (ONNX's own library lives in Python).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a saved model: npy (a plain model directory) or onnx (observation → q_values, action).")

    @Argument(help: "A model directory.") var model: String
    @Option(help: "Output format: npy or onnx.") var format = "onnx"
    @Option(help: "Output file or directory (default: MODEL/model.onnx for onnx; required for npy).") var output: String?
    @Flag(help: "Replace an existing output.") var force = false

    func validate() throws {
        guard format == "onnx" || format == "npy" else {
            throw ValidationError("--format must be npy or onnx (got \(format)); PyTorch and SB3 exports are not built yet.")
        }
        if format == "npy" && output == nil { throw ValidationError("--format npy needs --output DIR, a new directory.") }
    }

    func run() throws {
        if format == "npy" { try exportDirectory() } else { try exportONNX() }
    }

    /// The policy network, manifest and environment, without checkpoint tensors or run files.
    private func exportDirectory() throws {
        let target = URL(fileURLWithPath: output!)
        let (network, manifest) = try ModelDirectory.load(from: URL(fileURLWithPath: model))
        if FileManager.default.fileExists(atPath: target.path) {
            guard force else { throw ValidationError("\(target.path) exists; choose a new directory or add --force.") }
            guard (try? ModelDirectory.readManifest(target)) != nil else {
                throw ValidationError("\(target.path) exists and is not a model directory; --force only replaces a model.")
            }
            try FileManager.default.removeItem(at: target)
        }
        try ModelDirectory.save(network, to: target, environment: manifest.environment,
                                environmentArguments: manifest.environmentArguments ?? [:],
                                config: manifest.config, metrics: manifest.metrics)
        print("Wrote \(target.path) (model.json and \(2 * network.layers.count) plain .npy files).")
    }

    private func exportONNX() throws {
        let target = output ?? URL(fileURLWithPath: model).appendingPathComponent("model.onnx").path
        let package: PythonObject
        do { package = try Python.import("swiftdistill") } catch {
            throw ValidationError("the swiftdistill Python package is not importable in the embedded Python; run `make setup`.")
        }
        do {
            _ = try package.method("load", model).method("to_onnx", target)
        } catch let e as PythonError {
            let message = e.exception.map { "\($0.typeName.split(separator: ".").last ?? ""): \($0.message)" } ?? "\(e)"
            throw ValidationError("the model could not be exported (\(message)).")
        }
        print("Wrote \(target) (ONNX: observation → q_values, action).")
    }
}
