import ArgumentParser
import Foundation
import PythonBridge

/// `distill export`: a saved model in another format, through the Python package's exporters
/// (the formats' own libraries live in Python).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a saved model (ONNX: input `observation`, outputs `q_values` and `action`).")

    @Argument(help: "A model directory.") var model: String
    @Option(help: "Output format: onnx.") var format = "onnx"
    @Option(help: "Output file (default: MODEL/model.onnx).") var output: String?

    func validate() throws {
        guard format == "onnx" else { throw ValidationError("--format must be onnx (got \(format)); PyTorch and SB3 exports are not built yet.") }
    }

    func run() throws {
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
