import Environments
import Testing

@Suite struct CorridorTests {
    @Test func walkingRightReachesTheEndAndTerminates() throws {
        let env = Corridor(length: 4, maxSteps: 10)
        #expect(try env.reset(seed: 0) == [1, 0, 0, 0])
        var last = try env.step(1)
        #expect(last.observation == [0, 1, 0, 0] && last.reward == 0 && !last.isDone)
        last = try env.step(1)
        last = try env.step(1)
        #expect(last.observation == [0, 0, 0, 1] && last.reward == 1 && last.terminated && !last.truncated)
    }

    @Test func timeLimitTruncatesAndBadActionsAreRefused() throws {
        let env = Corridor(length: 3, maxSteps: 2)
        _ = try env.reset(seed: nil)
        _ = try env.step(0)
        let s = try env.step(0)
        #expect(s.truncated && !s.terminated && s.observation == [1, 0, 0])
        #expect { try env.step(2) } throws: { ($0 as? EnvironmentError)?.description.contains("actions 0..<2") ?? false }
    }

    @Test func namedCorridorsAndArguments() throws {
        #expect(Corridor.named("Corridor-5")?.spec.observationSize == 5)
        #expect(Corridor.named("Corridor-1") == nil && Corridor.named("CartPole-v1") == nil)
        guard case .success(let args) = parseEnvironmentArguments(["n=4", "rate=0.5", "flag=true", "name=x=y"]) else {
            Issue.record("valid pairs refused")
            return
        }
        #expect(args == ["n": .int(4), "rate": .double(0.5), "flag": .bool(true), "name": .string("x=y")])
        guard case .failure(let e) = parseEnvironmentArguments(["oops"]) else { Issue.record("accepted 'oops'"); return }
        #expect(e.description.contains("key=value"))
    }

    @Test func batchStepsEveryCopyAndResetsFinishedEpisodes() throws {
        #expect(throws: EnvironmentError.self) { _ = try EnvironmentBatch(count: 2) { i in Corridor(length: 2 + i, maxSteps: 8) } }
        #expect(throws: EnvironmentError.self) { _ = try EnvironmentBatch(count: 1) { _ in Corridor() }.step([5]) }
        let same = try EnvironmentBatch(count: 2) { _ in Corridor(length: 2, maxSteps: 8) }
        #expect(try same.reset(seed: 0) == [1, 0, 1, 0])
        let r = try same.step([1, 0])
        #expect(r.terminated == [true, false] && r.rewards == [1, 0])
        #expect(r.finalObservations[0] == [0, 1] && Array(r.observations[0..<2]) == [1, 0], "copy 0 reset in the same step")
    }
}
