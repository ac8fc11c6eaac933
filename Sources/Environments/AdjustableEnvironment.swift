/// An environment whose physical parameters can be changed in place (a Gymnasium environment's
/// unwrapped attributes: CartPole's `length`, Acrobot's `LINK_MASS_1`). Robustness studies and
/// robust distillation open one environment per parameter value through `openVaried`.
public protocol AdjustableEnvironment: Environment {
    /// False when its parameters are out of reach (a Gymnasium environment in a worker process).
    var canSetParameters: Bool { get }
    /// True when `name` is a parameter that `setParameter` changes.
    func hasParameter(_ name: String) throws -> Bool
    func setParameter(_ name: String, to value: EnvironmentArgument) throws
}

/// A fresh environment of `recipe` whose parameter `name` is `value`: set in place when the
/// environment has it as a parameter, otherwise passed as a keyword to the recipe's constructor
/// (`gymnasium.make(id, name=value)`, LunarLander's `gravity`). Opening it is when a name the
/// environment does not know fails, with one sentence.
public func openVaried(_ recipe: EnvironmentRecipe, recorded: Bool, parameter name: String, value: EnvironmentArgument,
                       makeEnv: (_ recipe: EnvironmentRecipe, _ recorded: Bool) throws -> any Environment) throws -> any Environment {
    let env = try makeEnv(recipe, recorded)
    guard let adjustable = env as? AdjustableEnvironment, adjustable.canSetParameters else {
        do { return try makeEnv(recipe.with([name: value]), recorded) } catch {
            throw EnvironmentError.parameterNotSettable(env.spec.name, parameter: name)
        }
    }
    if try adjustable.hasParameter(name) {
        try adjustable.setParameter(name, to: value)
        return env
    }
    do {
        return try makeEnv(recipe.with([name: value]), recorded)
    } catch EnvironmentError.raised(_, _, let report, _) {
        throw EnvironmentError.unknownParameter(env.spec.name, parameter: name, detail: report.split(separator: "\n").last.map(String.init) ?? report)
    }
}
