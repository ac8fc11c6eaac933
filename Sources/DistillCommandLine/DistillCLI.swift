import ArgumentParser
import CCrashNote
import Foundation
import Tensor

/// The `distill` command tree. The executable (Sources/distill) and the Python package's console
/// script (through the extension module) both run it with `main(arguments:)`.
public struct DistillCLI: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Train DQN agents in Swift against Python (Gymnasium) environments and distil them into small students.",
        version: DistillCLI.version,
        subcommands: [Train.self, Eval.self, DistillCommand.self, CoDistill.self, Compare.self, RobustnessCommand.self, Export.self, ImportSB3.self, Quantize.self, Tune.self, Sweep.self, Info.self, Bench.self])

    /// The release: the Python package's `swiftdistill.__version__` (a test keeps them equal).
    static let version = "0.1.0"

    /// How to run this tool again in a worker process (`distill robustness --jobs`): this
    /// executable, or — set by the package's console script, whose process is Python — that
    /// Python with `-m swiftdistill._cli`.
    nonisolated(unsafe) public static var relaunchCommand = [URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path]

    /// What a crash of the process prints first: most often an environment's own native code.
    nonisolated(unsafe) static let crashNote = strdup(
        "\ndistill crashed. If the environment's own code crashed (a C extension, a simulator), run it in a worker "
            + "process of its own with --env-isolation process: its crash then stops the run with one sentence and the "
            + "run keeps its last checkpoint.\n\n")

    public init() {}

    /// Parses `arguments` (without the program name) and runs the command; returns the exit
    /// status, having printed what ArgumentParser's `exit(withError:)` prints (help and version
    /// on stdout, errors with the usage on stderr), so a host process decides how to exit.
    public static func main(arguments: [String]) -> Int32 {
        sd_install_crash_note(crashNote)
        if let problem = Kernels.requestProblem {
            FileHandleStandardError.write("Error: \(problem).\n")
            return 64
        }
        var command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            return report(error)
        }
        do {
            try command.run()
            return 0
        } catch let refusal as ValidationError {
            // A refusal while running (a model, a file or a combination the command cannot use):
            // the sentence alone. The usage lines belong to errors in the arguments' syntax.
            FileHandleStandardError.write("Error: \(refusal.message)\n")
            return exitCode(for: refusal).rawValue
        } catch {
            return report(error)
        }
    }

    /// Prints what ArgumentParser prints for `error` and returns its exit status.
    static func report(_ error: Error) -> Int32 {
        let code = exitCode(for: error), message = fullMessage(for: error)
        if !message.isEmpty {
            if code == .success { print(message) } else { FileHandleStandardError.write(message + "\n") }
        }
        return code.rawValue
    }
}

enum FileHandleStandardError {
    static func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
