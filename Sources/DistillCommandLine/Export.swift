import ArgumentParser
import Checkpoint
import CodeExport
import Foundation
import NN
import PythonBridge

/// `distill export`: a saved model in another format. `npy` writes a fresh model directory with
/// plain tensor names (`layers.0.weight.npy`, …) and nothing else; `onnx`, `torch` and `sb3` go
/// through the Python package's exporters (those libraries live in Python).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a saved model: npy (a plain model directory), onnx, torch (TorchScript), sb3 (DQN .zip), or code: c (NAME.h and NAME.c) or swift (one file).",
        discussion: """
            c and swift write the network as dependency-free code with the weights inside: \
            NAME_q_values(observation, q_values) and NAME_act(observation) in C99 (link with -lm; \
            no allocation, re-entrant), a struct NAME with qValues(_:) and act(_:) in Swift. Both give \
            the core's Q-values bit for bit. NAME is --name, by default the model directory's name.
            """)

    @Argument(help: "A model directory.") var model: String
    @Option(help: "Output format: npy, onnx, torch (TorchScript), sb3 (a Stable-Baselines3 DQN .zip), c or swift.") var format = "onnx"
    @Option(help: "Output file or directory (default: MODEL/model.onnx, MODEL/model.pt, MODEL/sb3_dqn.zip; required for npy and c (a directory) and swift (a .swift file)).") var output: String?
    @Option(help: "c and swift: the name the code's symbols start with (default: the model directory's name).") var name: String?
    @Flag(help: "Replace an existing output.") var force = false

    func validate() throws {
        guard ["onnx", "npy", "torch", "sb3", "c", "swift"].contains(format) else {
            throw ValidationError("--format must be npy, onnx, torch, sb3, c or swift (got \(format)).")
        }
        if format == "npy" && output == nil { throw ValidationError("--format npy needs --output DIR, a new directory.") }
        if format == "c" && output == nil { throw ValidationError("--format c needs --output DIR, the directory for NAME.h and NAME.c.") }
        if format == "swift" && output == nil { throw ValidationError("--format swift needs --output FILE.swift.") }
        if name != nil && format != "c" && format != "swift" { throw ValidationError("--name goes with --format c or swift.") }
    }

    func run() throws {
        switch format {
        case "npy": try exportDirectory()
        case "c", "swift": try exportCode()
        default: try exportThroughPython()
        }
    }

    /// C or Swift source with the weights inside (see `CodeExport`).
    private func exportCode() throws {
        let language = CodeExport.Language(rawValue: format)!
        let written = try CodeExport.export(model: URL(fileURLWithPath: model), language: language,
                                            output: URL(fileURLWithPath: output!), name: name, force: force)
        let head = (try? ModelDirectory.readManifest(URL(fileURLWithPath: model)))?.architecture.head
        let continuous = head.flatMap(OutputHead.init(rawValue:))?.isContinuous ?? false
        let usage = language == .c
            ? "C99: NAME_q_values, \(continuous ? "NAME_action (the continuous action)" : "NAME_act"); compile with cc -O2 -c, link with -lm"
            : "a struct with qValues(_:) and \(continuous ? "action(_:), the continuous action" : "act(_:)")"
        print("Wrote \(written.map(\.path).joined(separator: " and ")) (\(usage)).")
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
