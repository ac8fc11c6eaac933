@testable import DQN
import Environments
import Settings
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

/// `train_frequency_unit` episode (SB3's `train_freq=(n, "episode")`): a round is due when n
/// more episodes have finished, and with gradient_steps −1 takes as many steps as the round
/// collected.
@Suite struct EpisodeRoundTests {
    @Test(arguments: [(2, -1), (3, 5)])
    func roundsComeAtEpisodeEnds(episodes: Int, gradientSteps: Int) throws {
        var config = DQNConfig()
        config.totalSteps = 2_000
        config.learningStarts = 0
        config.bufferSize = 500
        config.batchSize = 8
        config.hiddenSizes = [4]
        config.trainFrequency = episodes
        config.trainFrequencyUnit = .episode
        config.gradientSteps = gradientSteps
        var algorithm = try DQNAlgorithm(config: config, env: Corridor(length: 6, maxSteps: 12))
        var ended = 0, sinceRound = 0, rounds = 0
        for _ in 0..<400 {
            let before = algorithm.state.gradientSteps
            var finished = 0
            try algorithm.advance(compute: { $0() }, report: { if case .episode = $0 { finished += 1 } })
            ended += finished
            sinceRound += 1
            let taken = algorithm.state.gradientSteps - before
            if ended == episodes {
                #expect(taken == (gradientSteps < 0 ? sinceRound : gradientSteps), "a round at the end of its \(episodes)th episode")
                (ended, sinceRound, rounds) = (0, 0, rounds + 1)
            } else {
                #expect(taken == 0, "no round within an episode")
            }
        }
        #expect(rounds > 5)
    }

    @Test func severalEnvironmentsAreRefusedInASentence() {
        var config = DQNConfig()
        config.trainFrequencyUnit = .episode
        config.environmentCount = 2
        #expect(throws: SettingError.self) { try config.validate() }
        do { try config.validate() } catch {
            #expect("\(error)".contains("trains after whole episodes of one environment, as SB3 does"))
        }
    }
}
