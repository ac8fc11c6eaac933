import Checkpoint
import Foundation
import ArgumentParser
import Environments
import GymEnvironments
import Tensor

/// Where a run writes: `--out DIR [--force]`, shared by `train` and `distill`.
struct OutputOptions: ParsableArguments {
    @Option(help: "Run directory to write (a model directory: the best policy at its top level).") var out: String
    @Flag(help: "Replace a run in --out (only the files a run writes; others stay).") var force = false
    @Option(help: "Threads for large matrix products and Adam: 1 or 2 (the same results either way; default: SWIFT_DISTILL_THREADS, else 1).")
    var threads: Int?

    @OptionGroup var isolation: IsolationOptions

    /// Applies --threads to the numeric kernels and --env-isolation to environments (process-wide).
    func applyThreads() {
        if let threads { Kernels.threads = threads }
        isolation.apply()
    }

    func validate() throws {
        if let threads, threads != 1 && threads != 2 {
            throw ValidationError("--threads must be 1 or 2 (2 uses a second core for large products), not \(threads).")
        }
        guard !out.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError("--out needs a directory name, e.g. --out runs/teacher.")
        }
        guard out != "/" else { throw ValidationError("--out / would write a run into the root directory; name a directory of its own.") }
    }
}

/// Greedy evaluation episodes: `--episodes N --seed S [--env ID] [--json]`, shared by `eval` and `compare`.
struct EvaluationOptions: ParsableArguments {
    @Option(help: "Evaluation episodes (seeds seed…seed+episodes−1).") var episodes = 20
    @Option(help: "Seed of the first episode.") var seed = 100
    @Option(help: "Environment to use instead of the one recorded in model.json.") var env: String?
    @Option(name: .customLong("env-arg"), help: "Keyword argument for the environment, key=value (repeatable; adds to the recorded ones).")
    var envArgs: [String] = []
    @Option(name: .customLong("wrapper"), help: "With --env: one of Gymnasium's wrappers over it, e.g. 'FrameStackObservation(stack_size=4)' (repeatable, in order).")
    var wrappers: [String] = []
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var trust: TrustOptions
    @OptionGroup var isolation: IsolationOptions

    /// The environment to evaluate on: `--env` (with `--env-arg`), or the one `manifest` records.
    func recipe(recordedIn manifest: ModelManifest, model: String) throws -> (EnvironmentRecipe, recorded: Bool) {
        let overrides = try parseEnvArgs(envArgs)
        if let env { return (EnvironmentRecipe(name: env, arguments: overrides, wrappers: try parseWrappers(wrappers)), false) }
        guard wrappers.isEmpty else {
            throw ValidationError("--wrapper goes with --env (a model's recorded environment keeps its recorded wrappers); add --env ID or drop --wrapper.")
        }
        guard let recorded = EnvironmentRecipe(recordedIn: manifest) else {
            throw ValidationError("\(model)/model.json does not record an environment; pass --env.")
        }
        return (recorded.with(overrides), !trust.vouches(for: recorded.name))
    }

    func validate() throws {
        guard episodes >= 1 else { throw ValidationError("--episodes must be at least 1.") }
        guard seed >= 0 else { throw ValidationError("--seed must be 0 or more (got \(seed)).") }
    }
}

/// `--trust-env MODULE:ATTR`: the user vouches for Python code a model directory records. A
/// model directory is data, so a recorded `module:attribute` is otherwise never imported.
struct TrustOptions: ParsableArguments {
    @Option(name: .customLong("trust-env"),
            help: "Open this module:attribute when a model's model.json records it (repeatable); without it a recorded module is never imported.")
    var trusted: [String] = []

    /// True when the user named `environment` as trusted.
    func vouches(for environment: String) -> Bool { trusted.contains(environment) }

    /// Opens a recipe; a `recorded` one counts as the user's own when they vouched for its name.
    func open(_ recipe: EnvironmentRecipe, recorded: Bool) throws -> any Environment {
        try makeEnvironment(recipe, recorded: recorded && !vouches(for: recipe.name))
    }
}

extension EnvironmentIsolation: ExpressibleByArgument {}

/// `--env-isolation process`: each environment runs in a worker process of its own.
struct IsolationOptions: ParsableArguments {
    @Option(name: .customLong("env-isolation"),
            help: "none, or process: run the environment in a worker process, so one that crashes or exits becomes an error and the run keeps its checkpoint (for untrusted or fragile environments).")
    var isolation: EnvironmentIsolation = .none

    /// Sets the process-wide isolation every environment opened by name uses.
    func apply() { EnvironmentIsolation.current = isolation }
}
