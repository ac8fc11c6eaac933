import ArgumentParser
import Checkpoint
import Foundation
import PythonBridge

/// `distill export`: a saved model in another format. `npy` writes a fresh model directory with
/// plain tensor names (`layers.0.weight.npy`, …) and nothing else; `onnx`, `torch` and `sb3` go
/// through the Python package's exporters (those libraries live in Python).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a saved model: npy (a plain model directory), onnx, torch (TorchScript) or sb3 (DQN .zip).")

    @Argument(help: "A model directory.") var model: String
    @Option(help: "Output format: npy, onnx, torch (TorchScript) or sb3 (a Stable-Baselines3 DQN .zip).") var format = "onnx"
    @Option(help: "Output file or directory (default: MODEL/model.onnx, MODEL/model.pt, MODEL/sb3_dqn.zip; required for npy).") var output: String?
    @Flag(help: "Replace an existing output.") var force = false

    func validate() throws {
        guard ["onnx", "npy", "torch", "sb3"].contains(format) else {
            throw ValidationError("--format must be npy, onnx, torch or sb3 (got \(format)).")
        }
        if format == "npy" && output == nil { throw ValidationError("--format npy needs --output DIR, a new directory.") }
    }

    func run() throws {
        if format == "npy" { try exportDirectory() } else { try exportThroughPython() }
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
                                environmentWrappers: manifest.environmentWrappers ?? [],
                                config: manifest.config, metrics: manifest.metrics)
        print("Wrote \(target.path) (model.json and \(2 * network.layers.count) plain .npy files).")
    }

    /// ONNX, TorchScript and SB3 files are written by the Python package (their libraries are Python).
    private func exportThroughPython() throws {
        let (method, file, what) = [
            "onnx": ("to_onnx", "model.onnx", "ONNX: observation → q_values, action"),
            "torch": ("to_torch", "model.pt", "TorchScript nn.Sequential: torch.jit.load, observation → Q-values"),
            "sb3": ("to_sb3", "sb3_dqn.zip", "Stable-Baselines3 DQN: DQN.load"),
        ][format]!
        var target = output ?? URL(fileURLWithPath: model).appendingPathComponent(file).path
        if format == "sb3" && !target.hasSuffix(".zip") { target += ".zip" }  // SB3 adds it when saving
        if FileManager.default.fileExists(atPath: target) && !force {
            throw ValidationError("\(target) exists; choose another --output or add --force.")
        }
        let package: PythonObject
        do { package = try Python.import("swiftdistill") } catch {
            throw ValidationError("the swiftdistill Python package is not importable in the embedded Python; run `make setup`.")
        }
        do {
            _ = try package.method("load", model).method(method, target)
        } catch let e as PythonError {
            let message = e.exception.map { "\($0.typeName.split(separator: ".").last ?? ""): \($0.message)" } ?? "\(e)"
            throw ValidationError("the model could not be exported (\(message)).")
        }
        print("Wrote \(target) (\(what)).")
    }
}
