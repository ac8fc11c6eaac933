import ArgumentParser
import Checkpoint
import DQN
import NN
import Runs
import Foundation

/// `distill eval`: greedy returns of a saved model.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved model's greedy policy on its environment.")

    @Argument(help: "A model directory (a run directory, or its last/ checkpoint).")
    var model: String
    @Option(help: "Episodes to run.") var episodes = 20
    @Option(help: "Seed of the first episode (episode i uses seed + i).") var seed = 100
    @Option(help: "Environment to use instead of the one recorded in model.json.") var env: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard episodes >= 1 else { throw ValidationError("--episodes must be at least 1.") }
    }

    func run() throws {
        let (network, manifest) = try ModelDirectory.load(from: URL(fileURLWithPath: model))
        guard let envName = env ?? manifest.environment else {
            throw ValidationError("\(model)/model.json does not record an environment; pass --env.")
        }
        let environment = try openEnvironment(envName)
        guard environment.spec.observationSize == network.inputSize, environment.spec.actionCount == network.outputSize else {
            throw ValidationError("the model takes \(network.inputSize) inputs and \(network.outputSize) actions, but \(envName) has \(environment.spec.observationSize) and \(environment.spec.actionCount).")
        }
        let r = try evaluate(Policy(network), env: environment, episodes: episodes, seed: seed)
        if json {
            let payload: [String: Any] = ["model": model, "env": envName, "episodes": r.episodes, "seed": seed,
                                          "mean_return": r.mean, "std_return": r.std, "min_return": r.min,
                                          "max_return": r.max, "returns": r.returns]
            print(String(decoding: try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
        } else {
            print(String(format: "%@ on %@: mean return %.2f ± %.2f (min %.1f, max %.1f) over %d episodes, seeds %d–%d",
                         model, envName, r.mean, r.std, r.min, r.max, r.episodes, seed, seed + episodes - 1))
        }
    }
}
