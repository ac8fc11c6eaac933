import ArgumentParser

@main
struct DistillCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Train DQN agents in Swift against Python (Gymnasium) environments and distil them into small students.",
        subcommands: [Train.self, Eval.self, DistillCommand.self, Compare.self, Info.self, Bench.self])
}
