/// A tiny Swift-native environment for tests and examples: a corridor of `length` cells, the
/// agent starts in cell 0, action 1 moves right and action 0 left; reaching the last cell gives
/// reward 1 and terminates. Episodes are truncated after `maxSteps`. The optimal policy is
/// "always right"; observations are one-hot positions.
public final class Corridor: Environment {
    public let spec: EnvironmentSpec
    public let length: Int
    public let maxSteps: Int
    private var position = 0
    private var steps = 0

    public init(length: Int = 6, maxSteps: Int = 30) {
        precondition(length >= 2 && maxSteps >= 1, "a corridor needs at least 2 cells and 1 step")
        self.length = length
        self.maxSteps = maxSteps
        self.spec = EnvironmentSpec(name: "Corridor-\(length)", observationShape: [length], actionCount: 2)
    }

    public func reset(seed: Int?) throws -> [Float] {
        position = 0
        steps = 0
        return observation()
    }

    public func step(_ action: Int) throws -> Step {
        guard action == 0 || action == 1 else { throw EnvironmentError.invalidAction(action, actionCount: 2) }
        steps += 1
        position = max(0, min(length - 1, position + (action == 1 ? 1 : -1)))
        let reached = position == length - 1
        return Step(observation: observation(), reward: reached ? 1 : 0,
                    terminated: reached, truncated: !reached && steps >= maxSteps)
    }

    private func observation() -> [Float] {
        var o = [Float](repeating: 0, count: length)
        o[position] = 1
        return o
    }
}

extension Corridor {
    /// `Corridor-N` (N ≥ 2 cells, 4N steps), or nil for any other name.
    public static func named(_ name: String) -> Corridor? {
        guard name.hasPrefix("Corridor-"), let n = Int(name.dropFirst("Corridor-".count)), n >= 2 else { return nil }
        return Corridor(length: n, maxSteps: 4 * n)
    }
}
