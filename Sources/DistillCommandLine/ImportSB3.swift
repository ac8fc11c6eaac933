import ArgumentParser
import Foundation
import NN
import PythonBridge

/// `distill import-sb3`: a Stable-Baselines3 model as a model directory, so a DQN, PPO or A2C
/// agent someone already has can be distilled. The reading lives in the Python package
/// (`swiftdistill.from_sb3`: SB3 and torch are Python libraries); this command calls it.
struct ImportSB3: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-sb3",
        abstract: "Convert a Stable-Baselines3 model (.zip) into a model directory that distil takes as a teacher.",
        discussion: """
            DQN models become Q-value models (head q); PPO and A2C models with discrete actions \
            become their actor, whose outputs are the policy's logits (head categorical): the \
            greedy action equals SB3's predict(obs, deterministic=True), and `distill distill \
            --loss kl --temperature 1` matches a student to the policy itself. Continuous-action \
            agents — SAC, TD3 and DDPG (head squashed), PPO and A2C with Box actions (head \
            gaussian) — become their deterministic actor, which `distill eval` runs. MlpPolicy networks \
            of ReLU or Tanh layers over flat observations are read; anything else is refused in a \
            sentence. An SB3 .zip does not name its environment: give it with --env (a Gymnasium \
            id) so later commands can open it. Needs stable-baselines3 and torch in the Python \
            environment (pip install "swiftdistill[sb3]").
            """)

    @Argument(help: "The .zip a Stable-Baselines3 model was saved to.") var file: String
    @Option(help: "The new model directory.") var out: String
    @Option(help: "The Gymnasium id the model acts in, recorded for later commands.") var env: String?
    @Flag(help: "Replace a model directory that exists.") var force = false

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else {
            throw ValidationError("\(file) does not exist; give the .zip a Stable-Baselines3 model was saved to.")
        }
        let package: PythonObject
        do { package = try Python.import("swiftdistill") } catch {
            throw ValidationError("the swiftdistill Python package is not importable in the embedded Python; run `make setup`.")
        }
        let model: PythonObject
        do {
            let environment: PythonObject = try env.map { try $0.pythonObject() } ?? PythonObject.none
            model = try package.method("from_sb3", file, out, kwargs: ["environment": environment, "force": force])
        } catch let e as PythonError {
            let message = e.exception.map { $0.message } ?? "\(e)"
            throw ValidationError("\(file) could not be imported: \(message)")
        }
        let head = (try? model.attr("head").as(String.self)) ?? "q"
        let described = (try? model.method("__repr__").as(String.self)) ?? out
        print("Wrote \(out): \(described), head \(head) (\(OutputHead(rawValue: head)?.phrase ?? "outputs")).")
    }
}
