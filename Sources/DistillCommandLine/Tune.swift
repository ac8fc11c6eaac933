import ArgumentParser
import Foundation
import PythonBridge
#if canImport(Glibc)
import Glibc
#endif

/// `distill tune` and `distill sweep`: Optuna studies and seed sweeps. They are Python (Optuna,
/// process pools, plots) in `swiftdistill.study`; these commands hand their arguments to it, run by
/// the same interpreter the binary embeds (so the same venv and packages).
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hyper-parameter search with Optuna over DQN or distillation settings (see `distill tune --help`).",
        discussion: "Runs `python -m swiftdistill.study tune ARGS` with the embedded interpreter; needs Optuna (pip install \"swiftdistill[tune]\").")

    @Argument(parsing: .captureForPassthrough, help: "Arguments for swiftdistill.study (try --help).")
    var arguments: [String] = []

    func run() throws { try PythonTool.exec(module: "swiftdistill.study", arguments: ["tune"] + arguments) }
}

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run settings × seeds and aggregate (mean ± sd, IQM, bootstrap intervals; see `distill sweep --help`).",
        discussion: "Runs `python -m swiftdistill.study sweep ARGS` with the embedded interpreter.")

    @Argument(parsing: .captureForPassthrough, help: "Arguments for swiftdistill.study sweep (try --help).")
    var arguments: [String] = []

    func run() throws { try PythonTool.exec(module: "swiftdistill.study", arguments: ["sweep"] + arguments) }
}

enum PythonTool {
    /// Replaces this process with `python -m module arguments…`, python being the interpreter the
    /// binary embeds (the venv's when one is active).
    static func exec(module: String, arguments: [String]) throws {
        let startup = try Python.initialize()
        let python: String
        if let venv = startup.virtualEnvironment, FileManager.default.isExecutableFile(atPath: venv + "/bin/python") {
            python = venv + "/bin/python"
        } else {
            python = try Python.import("sys").attr("executable").description
        }
        let argv = [python, "-m", module] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        execv(python, &cArgs)
        throw ValidationError("could not start \(python): \(String(cString: strerror(errno))).")
    }
}
