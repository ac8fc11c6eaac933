import Environments
import NN

/// An environment as a deployment meets it: Gaussian noise on what the policy observes, and
/// actions that slip — replaced by a random one, or (sticky, as ALE's) by the previous action
/// actually taken — with probability `actionNoise`. Continuous actions slip the same way: to a
/// uniform draw within the action bounds, or to the previous action taken.
///
/// Common random numbers: every draw comes from a stream seeded by the episode's seed, and
/// every step draws the same values whatever the levels and the policy (a standard normal per
/// observation value, a uniform and a random action), so each model and each level of a study
/// meets the same noise, scaled — differences between them are the models', not the draws'.
public final class PerturbedEnvironment: Environment {
    public let base: any Environment
    /// The base's, except that noisy observations are not bytes any more (a buffer must keep floats).
    public let spec: EnvironmentSpec
    /// Standard deviation of the noise added to each observation value (0: none).
    public let observationNoise: [Float]
    /// Probability that the action taken is not the policy's.
    public let actionNoise: Double
    /// With `actionNoise`: repeat the previous action taken rather than a random one.
    public let sticky: Bool
    private var rng = SeededGenerator(seed: 0)
    /// Keeps the noise stream apart from anything else seeded with the episode's seed.
    static let streamSalt: UInt64 = 0x0B5E_55ED_F0A1_1ED5

    private var previous: Int?
    private var previousContinuous: [Float]?

    public init(_ base: any Environment, observationNoise: [Float] = [], actionNoise: Double = 0, sticky: Bool = false) {
        precondition(observationNoise.isEmpty || observationNoise.count == base.spec.observationSize, "one noise level per observation value")
        self.base = base
        var spec = base.spec
        if observationNoise.contains(where: { $0 != 0 }) { spec.observationsAreBytes = false }
        self.spec = spec
        self.observationNoise = observationNoise
        self.actionNoise = actionNoise
        self.sticky = sticky
    }

    public func reset(seed: Int?) throws -> [Float] {
        // A stream per episode seed, apart from the environment's own (the seed's golden-ratio
        // mix); without a seed the stream goes on, as the environment's own generator does.
        if let seed { rng = SeededGenerator(seed: UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 ^ Self.streamSalt) }
        previous = nil
        previousContinuous = nil
        return perturbed(try base.reset(seed: seed))
    }

    public func step(_ action: Int) throws -> Step {
        let u = Double(rng.nextUnitFloat()), random = rng.int(below: spec.actionCount)
        var taken = action
        if u < actionNoise { taken = sticky ? (previous ?? action) : random }
        previous = taken
        var s = try base.step(taken)
        s.observation = perturbed(s.observation)
        return s
    }

    public func step(continuous action: [Float]) throws -> Step {
        let u = Double(rng.nextUnitFloat())
        let random = (spec.actionBounds ?? []).map { $0.lowerBound + rng.nextUnitFloat() * ($0.upperBound - $0.lowerBound) }
        var taken = action
        if u < actionNoise { taken = sticky ? (previousContinuous ?? action) : random }
        previousContinuous = taken
        var s = try base.step(continuous: taken)
        s.observation = perturbed(s.observation)
        return s
    }

    /// `observation` plus σ·z per value; the normals are drawn whether or not σ is 0.
    private func perturbed(_ observation: [Float]) -> [Float] {
        var out = observation
        for i in out.indices {
            let z = rng.normal()
            if i < observationNoise.count { out[i] += observationNoise[i] * z }
        }
        return out
    }
}
