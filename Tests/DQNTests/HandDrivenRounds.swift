@testable import DQN

extension DQNConfig {
    /// A small run whose rounds a test calls by hand: `advance` only collects, since learning
    /// starts far beyond the steps a test takes. Widths 20 and 33 reach the kernels' tiles and
    /// their tails.
    static func handDrivenRounds(batchSize: Int, gradientSteps: Int, bufferSize: Int) -> DQNConfig {
        var cfg = DQNConfig()
        cfg.totalSteps = 1_000
        cfg.hiddenSizes = [20, 33]
        cfg.batchSize = batchSize
        cfg.gradientSteps = gradientSteps
        cfg.bufferSize = bufferSize
        cfg.learningStarts = 10_000
        return cfg
    }
}
