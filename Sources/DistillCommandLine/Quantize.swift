import ArgumentParser
import Checkpoint
import Distill
import Environments
import Foundation
import GymEnvironments
import NN
import Quantization
import Runs
import Tensor

/// `distill quantize`: post-training int8 quantisation of a ReLU student (dense or convolutional), calibrated on
/// states it visits, with the float and int8 students compared side by side.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantise a ReLU student to int8 (weights per output unit or channel, activations calibrated on states it visits).",
        discussion: """
            The student acts greedily (ε = 0.1) in its recorded environment for --calibration-states \
            states (seeds from 10,000); each layer input's int8 scale is its largest |value| there. The \
            int8 model runs with integer arithmetic only (int32 accumulators, fixed-point \
            requantisation), the same in distill eval, the NumPy loader (sd.load) and export --format c. \
            Prints float and int8 returns, action agreement on held-out states, and bytes.
            """)

    @Argument(help: "The float student's model directory.") var model: String
    @Option(help: "Directory for the int8 model (new, or an int8 model with --force).") var out: String
    @Option(name: .customLong("calibration-states"), help: "States the student visits that calibrate the activation scales.")
    var calibrationStates = 10_000
    @Option(name: .customLong("held-out"), help: "States (other seeds) on which the float and int8 actions are compared.")
    var heldOut = 2_000
    @Flag(help: "Replace an int8 model in --out.") var force = false
    @Flag(help: "Calibrate on visited states even when the model records the ranges it was trained with (--quantize int8).")
    var recalibrate = false
    @OptionGroup var evaluation: EvaluationOptions

    func validate() throws {
        guard (1...10_000_000).contains(calibrationStates) else {
            throw ValidationError("--calibration-states must be between 1 and 10,000,000 (got \(calibrationStates)); the activation scales need states the student visits.")
        }
        guard (1...10_000_000).contains(heldOut) else { throw ValidationError("--held-out must be between 1 and 10,000,000 (got \(heldOut)).") }
    }

    func run() throws {
        evaluation.isolation.apply()
        let source = URL(fileURLWithPath: model), target = URL(fileURLWithPath: out)
        let (network, manifest) = try ModelDirectory.load(from: source)
        let (recipe, recorded) = try evaluation.recipe(recordedIn: manifest, model: model)
        let environment = try makeEnvironment(recipe, recorded: recorded)
        // A quantisation-aware student trained on its own int8 grid: keep it, unless told otherwise.
        let trained = recalibrate ? nil : manifest.quantizerRanges
        let int8 = try quantizeForDeployment(network, env: environment, calibrationStates: calibrationStates, trainedRanges: trained)
        if FileManager.default.fileExists(atPath: target.path) {
            guard force else { throw ValidationError("\(out) exists; choose a new --out or add --force.") }
            guard (try? ModelDirectory.readManifest(target))?.quantization != nil else {
                throw ValidationError("\(out) exists and is not an int8 model; --force only replaces one.")
            }
            try FileManager.default.removeItem(at: target)
        }
        var config = manifest.config
        config["quantized_from"] = .string(source.standardizedFileURL.path)
        config["scales_from"] = .string(trained != nil ? "quantizer_ranges" : "calibration")
        try Int8Directory.save(int8, to: target, calibrationStates: trained != nil ? 0 : calibrationStates, environment: manifest.environment,
                               environmentArguments: manifest.environmentArguments ?? [:],
                               environmentWrappers: manifest.environmentWrappers ?? [], config: config, metrics: [:])
        // Side by side: returns on the same episodes, agreement (or action distance) on held-out states, bytes.
        let (episodes, seed) = (evaluation.episodes, evaluation.seed)
        let float = ComparedModel(network, bytesOnDisk: 0), quantized = ComparedModel(int8, bytesOnDisk: 0)
        let floatResult = try evaluate(environment, episodes: episodes, seed: seed, acting: float.acting)
        let intResult = try evaluate(environment, episodes: episodes, seed: seed, acting: quantized.acting)
        let states = try collectStates(environment, count: heldOut, seed: seed &+ 50_000, epsilon: 0.1, acting: float.acting)
        let match = ActionMatch(float, quantized, on: states, bounds: environment.spec.actionBounds)
        let floatBytes = 4 * network.parameterCount
        var report: [String: Any] = [
            "float": ["mean_return": floatResult.mean, "std_return": floatResult.std, "weight_bytes": floatBytes],
            "int8": ["mean_return": intResult.mean, "std_return": intResult.std, "weight_bytes": int8.bytes,
                     "int8_weight_bytes": int8.weightCount],
            "held_out_states": heldOut, "calibration_states": calibrationStates, "episodes": episodes, "out": target.path,
        ]
        if let agreement = match.agreement { report["action_agreement"] = agreement }
        if let distance = match.meanDistance { report["mean_action_distance"] = distance }
        if let relative = match.relativeDistance { report["relative_action_distance"] = relative }
        if evaluation.json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
            return
        }
        print("Wrote \(target.path): int8 weights, int32 biases (calibrated on \(calibrationStates) states).")
        print("         mean return ± std over \(episodes) episodes   bytes of weights")
        print(String(format: "float    %10.2f ± %-8.2f                       %8ld", floatResult.mean, floatResult.std, floatBytes))
        print(String(format: "int8     %10.2f ± %-8.2f                       %8ld (%ld of them int8 weights)",
                     intResult.mean, intResult.std, int8.bytes, int8.weightCount))
        if let agreement = match.agreement {
            print(String(format: "the int8 student takes the float student's action on %.1f%% of %ld held-out states", 100 * agreement, heldOut))
        } else if let distance = match.meanDistance, let relative = match.relativeDistance {
            print(String(format: "the int8 student's actions are %.4g from the float student's on average over %ld held-out states (%.2f%% of the action box's diagonal)",
                         distance, heldOut, 100 * relative))
        }
    }
}
