import Environments
import NN
import Robustness
import Runs
import Testing

/// Ten steps; the observation is (step, 1, 0); the reward is the action taken (0 or 1). It
/// records what it was given, so a test sees the actions the perturbation let through.
final class Probe: Environment {
    let spec = EnvironmentSpec(name: "Probe", observationShape: [3], actionCount: 2)
    var t = 0
    var taken: [Int] = []
    /// A dynamics parameter: added to every reward.
    var bonus = 0.0

    func reset(seed: Int?) throws -> [Float] {
        t = 0
        return [0, 1, 0]
    }

    func step(_ action: Int) throws -> Step {
        t += 1
        taken.append(action)
        return Step(observation: [Float(t), 1, 0], reward: Double(action) + bonus, terminated: t == 10, truncated: false)
    }
}

@Suite struct PerturbedEnvironmentTests {
    @Test func noiseIsScaledPerValueAndTheSameForEveryPolicyOnAnEpisodeSeed() throws {
        let a = PerturbedEnvironment(Probe(), observationNoise: [0.5, 0, 2])
        let b = PerturbedEnvironment(Probe(), observationNoise: [0.5, 0, 2])
        let first = try a.reset(seed: 7), again = try b.reset(seed: 7), other = try b.reset(seed: 8)
        #expect(first == again, "the same seed, the same noise")
        #expect(first != other)
        #expect(first[1] == 1, "a value with σ 0 is left as it is")
        // Twice the σ: twice the deviation, from the same draws (common random numbers).
        let c = PerturbedEnvironment(Probe(), observationNoise: [1, 0, 4])
        let doubled = try c.reset(seed: 7)
        #expect(abs(doubled[0] - 2 * first[0]) < 1e-6 && abs(doubled[2] - 2 * first[2]) < 1e-6)
    }

    @Test func randomActionsAtProbabilityOneIgnoreThePolicyAndZeroKeepsIt() throws {
        func actions(_ p: Double, policy: Int) throws -> [Int] {
            let probe = Probe()
            let env = PerturbedEnvironment(probe, actionNoise: p)
            _ = try env.reset(seed: 3)
            for _ in 0..<10 { _ = try env.step(policy) }
            return probe.taken
        }
        #expect(try actions(1, policy: 0) == actions(1, policy: 1), "p = 1: the random stream decides")
        #expect(Set(try actions(1, policy: 0)).count == 2)
        #expect(try actions(0, policy: 1) == [Int](repeating: 1, count: 10))
    }

    @Test func stickyActionsRepeatTheActionTaken() throws {
        let probe = Probe()
        let env = PerturbedEnvironment(probe, actionNoise: 1, sticky: true)
        _ = try env.reset(seed: 3)
        for a in [1, 0, 0, 1, 0] { _ = try env.step(a) }
        #expect(probe.taken == [1, 1, 1, 1, 1], "the first action is the policy's; then it sticks")
    }
}

@Suite struct RobustnessStudyTests {
    @Test func cleanLevelsEqualAPlainEvaluationAndScoresFollowTheCurve() throws {
        let study = RobustnessStudy(axes: [.init(.randomActions, levels: [0, 0.5, 1]), .init(.observationNoise, levels: [0, 1])],
                                    episodes: 6, seed: 40)
        let ones: ([Float]) -> Int = { _ in 1 }
        let zeros: ([Float]) -> Int = { _ in 0 }
        let report = try study.run(models: [("ones", .discrete(ones)), ("zeros", .discrete(zeros))], environment: "Probe") { _ in Probe() }
        #expect(report.referenceMeanReturn == 10, "the reference (first model) earns 1 a step, clean")
        let random = try evaluate(Probe(), episodes: 6, seed: 40) { _ in 0 }
        #expect(random.mean == 0)
        let actions = report.axes[0]
        #expect(actions.results[0][0].mean == 10 && actions.results[0][0].normalizedReturn == 1)
        #expect(actions.results[0][1].mean < 10 && actions.results[1][1].mean > 0, "half the actions are random")
        #expect(actions.results[0][2].returns == actions.results[1][2].returns, "p = 1: both models meet the same random actions")
        let expected = RobustnessStudy.area(levels: [0, 0.5, 1], values: actions.results[0].map(\.normalizedReturn))
        #expect(actions.scores[0] == expected && actions.scores[0] < 1 && actions.scores[0] > 0)
        // The policies here ignore observations: noise changes nothing.
        #expect(report.axes[1].results[0].map(\.mean) == [10, 10])
        for r in actions.results.joined() { #expect(r.low <= r.mean && r.mean <= r.high) }
        #expect(report.csv.split(separator: "\n").count == 1 + 2 * (3 + 2))
    }

    /// Each model's score against the reference's: a paired interval that is [0, 0] for a model
    /// acting as the reference does, below 0 for a worse one, holds the point difference, and does
    /// not depend on which other models share the study (as `--jobs` workers rely on).
    @Test func scoreDifferencesArePairedIntervals() throws {
        let study = RobustnessStudy(axes: [.init(.randomActions, levels: [0, 0.5, 1])], episodes: 8, seed: 3)
        let ones: Acting = .discrete { _ in 1 }, zeros: Acting = .discrete { _ in 0 }
        let half: Acting = .discrete { o in Int(o[0]) % 2 }
        let two = try study.run(models: [("ones", ones), ("zeros", zeros)], environment: "Probe") { _ in Probe() }
        let four = try study.run(models: [("ones", ones), ("same", ones), ("half", half), ("zeros", zeros)], environment: "Probe") { _ in Probe() }
        let a = four.axes[0], intervals = try #require(a.scoreDifferenceIntervals)
        #expect(intervals[0] == [0, 0] && intervals[1] == [0, 0], "the reference and a copy of it")
        for m in 2...3 {
            let point = a.scores[m] - a.scores[0]
            #expect(intervals[m][0] <= point && point <= intervals[m][1] && intervals[m][1] < 0, "\(intervals[m]) around \(point)")
        }
        #expect(two.axes[0].scoreDifferenceIntervals?[1] == intervals[3], "zeros' interval is its own, whoever else is measured")
    }

    @Test func dynamicsLevelsOpenTheirOwnEnvironment() throws {
        let study = RobustnessStudy(axes: [.init(.dynamics, levels: [0, 1, 2], parameter: "bonus")], episodes: 2, seed: 0)
        var opened: [Double] = []
        let report = try study.run(models: [("ones", .discrete { _ in 1 })], environment: "Probe") { change in
            let probe = Probe()
            if let change {
                #expect(change.name == "bonus")
                opened.append(change.value)
                probe.bonus = change.value
            }
            return probe
        }
        #expect(opened == [0, 1, 2])
        #expect(report.axes[0].results[0].map(\.mean) == [10, 20, 30])
    }

    @Test func areaIsTheMeanOverTheLevelsSpan() {
        #expect(RobustnessStudy.area(levels: [0, 1], values: [1, 0]) == 0.5)
        #expect(RobustnessStudy.area(levels: [0, 0.1, 0.3], values: [1, 1, 1]) == 1)
        #expect(RobustnessStudy.area(levels: [2], values: [0.7]) == 0.7)
    }

    @Test func badLevelsAreOneSentence() {
        let bad = RobustnessStudy(axes: [.init(.stickyActions, levels: [0, 1.5])])
        #expect(throws: RobustnessError.badLevels("sticky_actions levels are probabilities from 0 to 1 (got [0.0, 1.5])")) { try bad.validate() }
    }
}

/// A grid of 0/1 values, kept as bytes by replay.
final class Grid: Environment {
    let spec = EnvironmentSpec(name: "Grid", observationShape: [2, 2], actionCount: 2, observationsAreBytes: true)
    func reset(seed: Int?) throws -> [Float] { [0, 1, 1, 0] }
    func step(_ action: Int) throws -> Step { Step(observation: [1, 0, 0, 1], reward: 0, terminated: true, truncated: false) }
}

@Suite struct PerturbedSpecTests {
    @Test func noisyObservationsAreNotBytes() {
        #expect(!PerturbedEnvironment(Grid(), observationNoise: [Float](repeating: 0.1, count: 4)).spec.observationsAreBytes)
        #expect(PerturbedEnvironment(Grid(), actionNoise: 0.5).spec.observationsAreBytes, "slipping actions leave observations as they were")
    }
}

/// Collection under changed dynamics: episodes cycle through the levels by their seeds.
@Suite struct VaryingEnvironmentTests {
    /// Records the seeds it was reset with.
    final class Seeds: Environment {
        let spec: EnvironmentSpec
        var seeds: [Int?] = []
        init(actions: Int = 2) { spec = EnvironmentSpec(name: "Seeds", observationShape: [1], actionCount: actions) }
        func reset(seed: Int?) throws -> [Float] { seeds.append(seed); return [0] }
        func step(_ action: Int) throws -> Step { Step(observation: [0], reward: 0, terminated: true, truncated: false) }
    }

    @Test func episodesCycleThroughTheLevelsEachWithItsOwnSeed() throws {
        let levels = [Seeds(), Seeds(), Seeds()]
        let env = try VaryingEnvironment(levels: levels)
        _ = try env.reset(seed: 7)
        for _ in 0..<5 { _ = try env.reset(seed: nil) }
        // Episodes 7…12: level (seed mod 3), every reset seeded.
        #expect(levels[1].seeds == [7, 10] && levels[2].seeds == [8, 11] && levels[0].seeds == [9, 12])
        // A resumed collection reseeds with seed + episodes and plays the same levels and seeds.
        let again = [Seeds(), Seeds(), Seeds()]
        let resumed = try VaryingEnvironment(levels: again)
        _ = try resumed.reset(seed: 10)
        for _ in 0..<2 { _ = try resumed.reset(seed: nil) }
        #expect(again[1].seeds == [10] && again[2].seeds == [11] && again[0].seeds == [12])
    }

    @Test func levelsThatChangeTheActionsAreOneSentence() {
        #expect { try VaryingEnvironment(levels: [Seeds(), Seeds(actions: 3)]) } throws: {
            "\($0)".contains("a dynamics level changes the observations or actions")
        }
    }
}
