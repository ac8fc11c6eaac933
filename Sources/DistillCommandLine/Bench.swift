import ArgumentParser
import Environments
import GymEnvironments
import Foundation
import NN
import PythonBridge

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print measured figures against a baseline measured in the same run.",
        subcommands: [BenchEnv.self, BenchNN.self, BenchGemm.self])
}

/// `distill bench env`: environment steps per second through the bridge versus a pure-Python
/// loop doing the same work in the same interpreter.
struct BenchEnv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Environment steps/s through the Swift bridge versus a pure-Python loop, and their ratio.")

    @Option(help: "A Gymnasium id or module:attribute.")
    var env = "CartPole-v1"
    @Option(help: "Environment steps per measurement.")
    var steps = 100_000
    @Option(help: "Measurements of each loop (alternating); medians are reported.")
    var rounds = 3
    @Option(help: "Seed for the environment and the random actions.")
    var seed = 0
    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1.") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1.") }
    }

    func run() throws {
        let environment = try GymEnvironment(env)
        var rng = SeededGenerator(seed: UInt64(seed))
        let actions = (0..<steps).map { _ in Int(rng.next() % UInt64(environment.spec.actionCount)) }
        let pythonLoop = try Python.run("""
            import time
            def loop(env, actions, seed):
                env.reset(seed=seed)
                start = time.perf_counter()
                for a in actions:
                    obs, reward, terminated, truncated, info = env.step(a)
                    if terminated or truncated:
                        env.reset()
                return time.perf_counter() - start
            """).item("loop")
        let pyActions = try actions.map { $0 + environment.actionStart }.pythonObject()

        var bridgeTimes: [Double] = [], pythonTimes: [Double] = []
        for _ in 0..<rounds {
            bridgeTimes.append(try bridgeLoop(environment, actions))
            if environment.usesOldAPI {
                throw ValidationError("the pure-Python baseline speaks Gymnasium's API; \(env) uses the old gym API.")
            }
            pythonTimes.append(try Double(python: pythonLoop.call(environment.object, pyActions, seed)))
        }
        let bridgeRate = Double(steps) / median(bridgeTimes)
        let pythonRate = Double(steps) / median(pythonTimes)
        let ratio = bridgeRate / pythonRate
        if json {
            let payload: [String: Any] = [
                "env": env, "steps": steps, "rounds": rounds,
                "bridge_steps_per_s": bridgeRate, "python_steps_per_s": pythonRate, "ratio": ratio,
            ]
            let data = try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("env \(env), \(steps) steps, median of \(rounds) rounds")
            print(String(format: "  Swift bridge (step + observation read): %10.0f steps/s  (%.2f µs/step)", bridgeRate, 1e6 / bridgeRate))
            print(String(format: "  pure-Python loop (same interpreter):    %10.0f steps/s  (%.2f µs/step)", pythonRate, 1e6 / pythonRate))
            print(String(format: "  ratio bridge / Python:                  %10.2f", ratio))
        }
    }

    private func bridgeLoop(_ env: GymEnvironment, _ actions: [Int]) throws -> Double {
        _ = try env.reset(seed: seed)
        let clock = ContinuousClock()
        var checksum: Float = 0
        let elapsed = try clock.measure {
            for a in actions {
                let s = try env.step(a)
                checksum += s.observation[0]
                if s.isDone { _ = try env.reset(seed: nil) }
            }
        }
        if checksum.isNaN { print("") }  // keep the observation read from being optimised away
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    private func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

