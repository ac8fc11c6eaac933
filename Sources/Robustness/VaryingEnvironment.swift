import Environments

/// Episodes that cycle through environments differing in one parameter (a pole's length, the
/// gravity): episode e plays `levels[(s + e) mod n]`, s the seed of the last seeded reset, and
/// every episode is reset with its own seed s + e. Robust distillation collects through it
/// (`collect_perturbation dynamics:…`) so the student visits, and the teacher labels, the
/// states each variant of the plant leads to. The choice depends on the episode's seed alone,
/// so a resumed collection (reseeded with seed + episodes) plays what the uninterrupted one would.
public final class VaryingEnvironment: Environment {
    public let levels: [any Environment]
    public let spec: EnvironmentSpec
    private var nextSeed = 0
    private var current: any Environment

    /// `levels` must share the observation shape and action count (checked: one sentence).
    public init(levels: [any Environment]) throws {
        guard let first = levels.first else {
            throw EnvironmentError.badFactory("dynamics levels", detail: "no levels to vary through")
        }
        for env in levels.dropFirst() where env.spec.observationShape != first.spec.observationShape || env.spec.actionCount != first.spec.actionCount {
            throw EnvironmentError.badFactory(env.spec.name, detail: "a dynamics level changes the observations or actions (\(env.spec.observationShape), \(env.spec.actionCount) actions against \(first.spec.observationShape), \(first.spec.actionCount)); vary a parameter that keeps them")
        }
        self.levels = levels
        self.spec = first.spec
        self.current = first
    }

    public func reset(seed: Int?) throws -> [Float] {
        let episodeSeed = seed ?? nextSeed
        nextSeed = episodeSeed &+ 1
        let n = levels.count
        current = levels[((episodeSeed % n) + n) % n]
        return try current.reset(seed: episodeSeed)
    }

    public func step(_ action: Int) throws -> Step { try current.step(action) }
    public func step(continuous action: [Float]) throws -> Step { try current.step(continuous: action) }
}
