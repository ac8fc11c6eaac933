import ArgumentParser
import Foundation
import Tensor

@main
struct DistillCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Train DQN agents in Swift against Python (Gymnasium) environments and distil them into small students.",
        subcommands: [Train.self, Eval.self, DistillCommand.self, CoDistill.self, Compare.self, Export.self, Tune.self, Sweep.self, Info.self, Bench.self])

    static func main() {
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
