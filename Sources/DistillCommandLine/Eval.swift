import ArgumentParser
import Checkpoint
import DQN
import NN
import Runs
import Environments
import Foundation
import GymEnvironments

/// `distill eval`: greedy returns of a saved model.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved model's greedy policy on its environment.")

    @Argument(help: "A model directory (a run directory, or its last/ checkpoint).")
    var model: String
    @OptionGroup var evaluation: EvaluationOptions

    func run() throws {
        evaluation.isolation.apply()
        let (episodes, seed, json) = (evaluation.episodes, evaluation.seed, evaluation.json)
        // The model is read (and checked) before its environment is opened.
        let directory = URL(fileURLWithPath: model)
        let manifest: ModelManifest, inputs: Int, actions: Int, act: ([Float]) -> Int
        var continuous: Policy?
        if try ModelDirectory.readManifest(directory).quantization != nil {
            // An int8 model runs with the integer arithmetic every reader of it follows.
            let (network, m) = try Int8Directory.load(from: directory)
            (manifest, inputs, actions, act) = (m, network.inputSize, network.outputSize, network.action)
        } else {
            let (network, m) = try ModelDirectory.load(from: directory)
            let policy = Policy(network)
            (manifest, inputs, actions, act) = (m, policy.observationSize, policy.actionCount, policy.action)
            if network.head.isContinuous { continuous = policy }
        }
        let (recipe, recorded) = try evaluation.recipe(recordedIn: manifest, model: model)
        let envName = recipe.description
        let environment = try makeEnvironment(recipe, recorded: recorded)
        try checkFits(inputs: inputs, actions: actions, continuous: continuous != nil, environment)
        let r = try continuous.map { policy in
            try evaluate(environment, episodes: episodes, seed: seed, continuousPolicy: policy.continuousAction)
        } ?? evaluate(environment, episodes: episodes, seed: seed, policy: act)
        if json {
            let payload: [String: Any] = ["model": model, "env": envName, "episodes": r.episodes, "seed": seed,
                                          "mean_return": r.mean, "std_return": r.std, "min_return": r.min,
                                          "max_return": r.max, "returns": r.returns]
            print(String(decoding: try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
        } else {
            print(String(format: "%@ on %@: mean return %.2f ± %.2f (min %.1f, max %.1f) over %ld episodes, seeds %ld–%ld",
                         model, envName, r.mean, r.std, r.min, r.max, r.episodes, seed, seed + episodes - 1))
        }
    }
}
