import ArgumentParser
import Environments
import GymEnvironments
import PythonBridge
import Tensor

/// `distill info [--env ID]`: which Python is embedded, which venv is active, the numeric kernels in use, and an env's spaces.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the embedded Python, the active virtual environment and (with --env) an environment's spaces.")

    @Option(help: "A Gymnasium id or module:attribute to open and describe.")
    var env: String?

    func run() throws {
        let startup = try Python.initialize()
        print("python:      \(startup.version.split(separator: "\n").first ?? "")")
        let sys = try Python.import("sys")
        // Run by the package's console script, Python is the host's: its venv is sys.prefix.
        let prefix = try String(python: sys.attr("prefix")), base = try String(python: sys.attr("base_prefix"))
        let venv = startup.virtualEnvironment ?? (startup.hosted && prefix != base ? prefix : nil)
        print("venv:        \(venv ?? "none (system site-packages)")\(startup.hosted ? " (in the swiftdistill package's Python)" : "")")
        print("executable:  \(try sys.attr("executable"))")
        for module in ["numpy", "gymnasium"] {
            let version = (try? Python.import(module).attr("__version__").description) ?? "not installed"
            print("\(module):\(String(repeating: " ", count: 12 - module.count))\(version)")
        }
        print("kernels:     \(Kernels.instructionSet) (this build: \(Kernels.availableInstructionSets.joined(separator: ", ")); SWIFT_DISTILL_KERNELS picks one)")
        let (fused, plain) = (Kernels.availableInstructionSets.filter(Kernels.fusesMultiplyAdd), Kernels.availableInstructionSets.filter { !Kernels.fusesMultiplyAdd($0) })
        if !plain.isEmpty {
            print("             \(plain.joined(separator: ", ")) multiplies and adds without fusing (no FMA in this target's baseline), so its results differ in the last bits from \(fused.isEmpty ? "a fused set's" : fused.joined(separator: " and ") + "'s, which agree")")
        }
        if let env {
            let e = try GymEnvironment(env)
            print("env:         \(e.spec.name): observation shape \(e.spec.observationShape), \(e.spec.actionCount) actions\(e.usesOldAPI ? " (old gym API)" : "")")
            e.close()
        }
    }
}
