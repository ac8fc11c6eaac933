import ArgumentParser
import CCrashNote
import Foundation
import Tensor

@main
struct DistillCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Train DQN agents in Swift against Python (Gymnasium) environments and distil them into small students.",
        version: DistillCLI.version,
        subcommands: [Train.self, Eval.self, DistillCommand.self, CoDistill.self, Compare.self, RobustnessCommand.self, Export.self, Quantize.self, Tune.self, Sweep.self, Info.self, Bench.self])

    /// The release: the Python package's `swiftdistill.__version__` (a test keeps them equal).
    static let version = "0.1.0"

    /// What a crash of the process prints first: most often an environment's own native code.
    nonisolated(unsafe) static let crashNote = strdup(
        "\ndistill crashed. If the environment's own code crashed (a C extension, a simulator), run it in a worker "
            + "process of its own with --env-isolation process: its crash then stops the run with one sentence and the "
            + "run keeps its last checkpoint.\n\n")

    static func main() {
        sd_install_crash_note(crashNote)
        if let problem = Kernels.requestProblem {
            FileHandleStandardError.write("Error: \(problem).\n")
            Foundation.exit(64)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

enum FileHandleStandardError {
    static func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
