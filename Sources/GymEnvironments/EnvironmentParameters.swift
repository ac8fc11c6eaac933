import Environments
import PythonBridge

/// Physical parameters of a Gymnasium environment that a robustness study changes: an attribute
/// of the unwrapped environment, set in place (CartPole's `length`, Acrobot's `LINK_MASS_1`), or
/// otherwise a `gymnasium.make` keyword (LunarLander's `gravity`).
public enum EnvironmentParameters {
    /// A parameter and levels per environment id, the first the environment's own value:
    /// `distill robustness --preset`.
    public static let presets: [String: (name: String, levels: [String])] = [
        "CartPole-v1": ("length", ["0.5", "0.75", "1.0", "1.5", "2.0"]),
        "CartPole-v0": ("length", ["0.5", "0.75", "1.0", "1.5", "2.0"]),
        "Acrobot-v1": ("LINK_MASS_1", ["1.0", "1.25", "1.5", "2.0"]),
        "MountainCar-v0": ("force", ["0.001", "0.0009", "0.0008", "0.0007"]),
        "LunarLander-v2": ("gravity", ["-10.0", "-8.0", "-6.0", "-11.5"]),
        "LunarLander-v3": ("gravity", ["-10.0", "-8.0", "-6.0", "-11.5"]),
    ]

    /// The unwrapped Python environment of `env`; nil for one that is not a Gymnasium object in
    /// this process (a built-in, or one isolated in a worker process).
    static func unwrapped(_ env: any Environment) throws -> PythonObject? {
        guard let gym = env as? GymEnvironment else { return nil }
        return try Python.withGIL { try gym.object.attr("unwrapped") }
    }

    /// True when `env` has an attribute `name` that can be set in place.
    public static func isAttribute(_ name: String, of env: any Environment) throws -> Bool {
        guard let u = try unwrapped(env) else { return false }
        return try Python.withGIL { try u.hasAttr(name) }
    }

    /// Sets attribute `name` of `env`'s unwrapped environment. CartPole keeps `total_mass` and
    /// `polemass_length` derived from its masses and length at construction: they follow here,
    /// so changing `length` or `masspole` changes the dynamics as constructing with it would.
    public static func set(_ name: String, to value: EnvironmentArgument, on env: any Environment) throws {
        guard let u = try unwrapped(env) else {
            throw EnvironmentError.parameterNotSettable(env.spec.name, parameter: name)
        }
        try Python.withGIL {
            try u.setAttr(name, value)
            let derived = ["masspole", "masscart", "length", "total_mass", "polemass_length"]
            if try derived.allSatisfy({ try u.hasAttr($0) }) {
                let masspole = try Double(python: u.attr("masspole")), masscart = try Double(python: u.attr("masscart"))
                let length = try Double(python: u.attr("length"))
                try u.setAttr("total_mass", masspole + masscart)
                try u.setAttr("polemass_length", masspole * length)
            }
        }
    }

    /// What a robustness study opens per dynamics level: `nominal` for none; otherwise a fresh
    /// environment with the parameter set in place or passed as a `gymnasium.make` keyword
    /// (`openVaried`). `texts` holds each parameter's levels as the user wrote them, so a
    /// keyword gets an int where an int was written.
    public static func opener(recipe: EnvironmentRecipe, recorded: Bool, nominal: any Environment,
                              texts: [String: [String]]) -> ((name: String, value: Double)?) throws -> any Environment {
        { change in
            guard let change else { return nominal }
            let text = texts[change.name]?.first { Double($0) == change.value } ?? "\(change.value)"
            return try openVaried(recipe, recorded: recorded, parameter: change.name, value: EnvironmentArgument(parsing: text),
                                  makeEnv: { try makeEnvironment($0, recorded: $1) })
        }
    }
}

extension GymEnvironment: AdjustableEnvironment {
    public var canSetParameters: Bool { EnvironmentIsolation.current != .process }
    public func hasParameter(_ name: String) throws -> Bool { try EnvironmentParameters.isAttribute(name, of: self) }
    public func setParameter(_ name: String, to value: EnvironmentArgument) throws { try EnvironmentParameters.set(name, to: value, on: self) }
}
