@testable import DQN
import Environments
import Testing

/// An episode cut by a time limit bootstraps from its last observation (SB3's default,
/// handle_timeout_termination=True) unless `time_limit_terminal` says to end it as a terminal
/// one. Every episode here ends by the limit: three steps cannot cross a corridor of 20 cells.
@Suite struct TimeLimitTests {
    func discounts(timeLimitTerminal: Bool) throws -> [Float] {
        var config = DQNConfig()
        config.totalSteps = 1_000
        config.learningStarts = 1_000
        config.bufferSize = 100
        config.batchSize = 4
        config.hiddenSizes = [4]
        config.timeLimitTerminal = timeLimitTerminal
        var algorithm = try DQNAlgorithm(config: config, env: Corridor(length: 20, maxSteps: 3))
        for _ in 0..<9 { try algorithm.advance(compute: { $0() }, report: { _ in }) }
        #expect(algorithm.buffer.count == 9)
        return algorithm.buffer.batch(Array(0..<9)).bootstrapDiscounts.scalars
    }

    @Test func aTimeLimitBootstrapsUnlessSaidTerminal() throws {
        let gamma = DQNConfig().gamma
        #expect(try discounts(timeLimitTerminal: false) == Array(repeating: gamma, count: 9))
        #expect(try discounts(timeLimitTerminal: true) == (0..<9).map { $0 % 3 == 2 ? 0 : gamma })
    }
}
