import DistillCommandLine
import Glibc
import PythonBridge

extension Bindings {
    /// The package's `distill` console script: the CLI's command tree, run in this process with
    /// its Python (no second binary, no embedded libpython). It takes over the process as the
    /// executable would — signal handlers, the crash note — so it is for that script alone, not
    /// for a notebook.
    static let runCommandLine = Function(
        name: "run_cli", parameters: ["arguments"],
        doc: "Runs `distill ARGUMENTS` (a list of strings) in this process and returns its exit status (for the distill console script).",
        body: { a in
            let arguments = try a.object("arguments").elements().map { try String(python: $0) }
            // Worker processes run this Python's console-script module, not /proc/self/exe (Python).
            let python = try String(python: Python.import("sys").attr("executable"))
            DistillCLI.relaunchCommand = [python, "-m", "swiftdistill._cli"]
            let status = Python.withoutGIL { DistillCLI.main(arguments: arguments) }
            fflush(nil)
            return try Int(status).pythonObject()
        })
}
