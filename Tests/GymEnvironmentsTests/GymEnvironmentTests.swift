import Environments
import GymEnvironments
import PythonBridge
import Testing

@Suite(.serialized) struct GymEnvironmentTests {
    init() { #expect(Fixtures.ready) }

    @Test func cartPoleTrajectoryMatchesPurePython() throws {
        let env = try GymEnvironment("CartPole-v1")
        #expect(env.spec == EnvironmentSpec(name: "CartPole-v1", observationShape: [4], actionCount: 2))
        let actions = (0..<300).map { ($0 * 7 + $0 / 3) % 2 }
        var swiftRows: [[Double]] = [try env.reset(seed: 123).map(Double.init)]
        var episodes = 0
        for a in actions {
            let s = try env.step(a)
            swiftRows.append(s.observation.map(Double.init) + [s.reward, s.terminated ? 1 : 0, s.truncated ? 1 : 0])
            if s.isDone {
                episodes += 1
                swiftRows.append(try env.reset(seed: nil).map(Double.init))
            }
        }
        #expect(episodes > 3, "the action sequence should end several episodes")
        let reference = try Python.run("""
            import gymnasium as gym
            def run(actions):
                env = gym.make("CartPole-v1")
                obs, _ = env.reset(seed=123)
                rows = [[float(x) for x in obs]]
                for a in actions:
                    obs, r, term, trunc, _ = env.step(a)
                    rows.append([float(x) for x in obs] + [float(r), float(term), float(trunc)])
                    if term or trunc:
                        obs, _ = env.reset()
                        rows.append([float(x) for x in obs])
                return rows
            """).item("run").call(actions)
        let pythonRows = try [[Double]](python: reference)
        #expect(swiftRows == pythonRows)
    }

    @Test func customClassWithActionStartAndKwargs() throws {
        let env = try GymEnvironment("fixture_envs:CountingEnv", kwargs: ["length": 3])
        #expect(env.spec.actionCount == 3 && env.spec.observationShape == [3])
        #expect(env.actionStart == -1)
        #expect(try env.reset(seed: 0) == [0, 0, 0])
        let s1 = try env.step(0)  // Python action -1
        #expect(s1.observation == [1, 0.5, -1] && s1.reward == -1 && !s1.isDone)
        #expect(try env.step(2).reward == 1)
        let s3 = try env.step(1)
        #expect(s3.terminated && !s3.truncated && s3.reward == 0)
        #expect(throws: EnvironmentError.self) { try env.step(3) }
        #expect(throws: EnvironmentError.self) { try env.step(-1) }
    }

    @Test func factoryFunctionAndFloat64Observations() throws {
        let env = try GymEnvironment("fixture_envs:make_counting", kwargs: ["length": 2])
        _ = try env.reset(seed: 1)
        #expect(try env.step(1).observation == [2, 1, -2])
        let f64 = try GymEnvironment("fixture_envs:CountingEnv", kwargs: ["dtype": "float64"])
        _ = try f64.reset(seed: 0)
        #expect(try f64.step(1).observation == [1, 0.5, -1])
        let lists = try GymEnvironment("fixture_envs:ListObsEnv")
        _ = try lists.reset(seed: 0)
        #expect(try lists.step(1).observation == [1, 0.5, -1])
    }

    @Test func oldGymAPI() throws {
        let env = try GymEnvironment("fixture_envs:OldGymEnv", kwargs: ["limit": 2])
        #expect(try env.reset(seed: 7) == [0, 7])
        #expect(env.usesOldAPI)
        let s1 = try env.step(1)
        #expect(s1.observation == [1, 1] && s1.reward == 1 && !s1.isDone)
        let s2 = try env.step(0)
        #expect(s2.truncated && !s2.terminated, "TimeLimit.truncated in info means truncation")
    }

    @Test func pythonExceptionInStepBecomesAnError() throws {
        let env = try GymEnvironment("fixture_envs:RaisingEnv")
        _ = try env.reset(seed: 0)
        _ = try env.step(1)
        _ = try env.step(1)
        do {
            _ = try env.step(1)
            Issue.record("expected the environment's exception")
        } catch let e as EnvironmentError {
            let ex = try #require(e.pythonException)
            #expect(ex.typeName == "ValueError" && ex.message == "boom at step 3")
            #expect(ex.traceback.contains("fixture_envs.py"))
            #expect(e.description.contains("raised in step"))
        }
        // Still usable after the exception.
        #expect(try env.reset(seed: 0) == [0, 0, 0])
    }

    @Test func badStepResult() throws {
        let env = try GymEnvironment("fixture_envs:BadStepEnv")
        _ = try env.reset(seed: nil)
        #expect { try env.step(0) } throws: { ($0 as? EnvironmentError)?.description.contains("expected (obs, reward") ?? false }
    }

    @Test func imageObservationsAreFlattenedRowMajorAndScaled() throws {
        let env = try GymEnvironment("fixture_envs:ImageEnv")
        #expect(env.spec.observationShape == [6, 5, 3] && env.spec.observationScale == 1 / 255)
        let first = try env.reset(seed: 0), second = try env.step(1).observation
        let reference = try Python.run("""
            import numpy as np
            from fixture_envs import ImageEnv
            def run():
                env = ImageEnv()
                a, _ = env.reset(seed=0)
                b = env.step(0)[0]
                scale = np.float32(1) / np.float32(255)
                return [(x.reshape(-1).astype(np.float32) * scale).tolist() for x in (a, b)]
            """).item("run").call()
        let expected = try [[Float]](python: reference)
        #expect(first == expected[0] && second == expected[1])
    }

    @Test(.enabled(if: (try? Python.run("import minatar")) != nil))
    func minAtarTrajectoryMatchesPurePython() throws {
        let env = try GymEnvironment("minatar.gym:BaseEnv", kwargs: ["game": "breakout", "use_minimal_action_set": true])
        #expect(env.spec.observationShape == [10, 10, 4] && env.spec.actionCount == 3 && env.spec.observationScale == 1)
        let actions = (0..<400).map { ($0 * 5 + $0 / 7) % 3 }
        var rows: [[Double]] = [try env.reset(seed: 7).map(Double.init)]
        for a in actions {
            let s = try env.step(a)
            rows.append(s.observation.map(Double.init) + [s.reward, s.terminated ? 1 : 0, s.truncated ? 1 : 0])
            if s.isDone { rows.append(try env.reset(seed: nil).map(Double.init)) }
        }
        let reference = try Python.run("""
            import numpy as np
            from minatar.gym import BaseEnv
            def run(actions):
                env = BaseEnv(game="breakout", use_minimal_action_set=True)
                obs, _ = env.reset(seed=7)
                rows = [obs.reshape(-1).astype(float).tolist()]
                for a in actions:
                    obs, r, term, trunc, _ = env.step(a)
                    rows.append(obs.reshape(-1).astype(float).tolist() + [float(r), float(term), float(trunc)])
                    if term or trunc:
                        obs, _ = env.reset()
                        rows.append(obs.reshape(-1).astype(float).tolist())
                return rows
            """).item("run").call(actions)
        #expect(rows == (try [[Double]](python: reference)))
    }

    @Test(arguments: [
        ("fixture_envs:UnboundedContinuousEnv", "need finite low < high"),
        ("fixture_envs:MatrixActionEnv", "must be a vector"),
        ("fixture_envs:DictObsEnv", "FlattenObservation"),
        ("fixture_envs:VideoEnv", "has rank 4"),
        ("fixture_envs:not_callable", "not a class or function"),
        ("fixture_envs:NoSuchThing", "has no attribute 'NoSuchThing'"),
        ("no_such_module_abc:Env", "could not be imported"),
        ("CartPol-v1", "Unknown environment id 'CartPol-v1'"),
        ("CartPole-v99", "Unknown environment id"),
    ])
    func unsupportedOrBadNamesGiveOneClearSentence(name: String, expected: String) throws {
        do {
            _ = try GymEnvironment(name)
            Issue.record("\(name) should be refused")
        } catch let e as EnvironmentError {
            #expect(e.description.contains(expected), "\(e.description)")
            #expect(!e.description.contains("Traceback"), "\(e.description)")
        }
    }

    @Test func aDiscreteObservationSpaceIsReadOneHot() throws {
        // As SB3 encodes it: observation k of Discrete(14, start=2) is a 1 at k − 2 among 14 zeros.
        let env = try GymEnvironment("fixture_envs:DiscreteObsEnv")
        #expect(env.spec.observationShape == [14] && env.spec.oneHotStart == 2 && env.spec.observationsAreBytes)
        let first = try env.reset(seed: 1)  // t = 1: observation 3
        #expect(first == (0..<14).map { $0 == 1 ? 1 : 0 })
        let s = try env.step(0)  // t = 2: observation 4
        #expect(s.observation == (0..<14).map { $0 == 2 ? 1 : 0 })
        // An observation outside the space is one sentence.
        let wide = try GymEnvironment("fixture_envs:DiscreteObsEnv", kwargs: ["out_of_range": .bool(true)])
        _ = try wide.reset(seed: 0)
        #expect { for _ in 0..<20 { _ = try wide.step(0) } } throws: {
            "\($0)".contains("is not one of the 14 values of its Discrete space (from 2)")
        }
    }

    @Test func aBoxActionSpaceIsSteppedWithContinuousActions() throws {
        // The bounds come from the space; actions go to Python as float32 arrays; a discrete
        // action, a wrong length or a non-finite value is one sentence.
        let env = try GymEnvironment("fixture_envs:ContinuousEnv")
        #expect(env.spec.isContinuous && env.spec.actionCount == 1 && env.spec.actionBounds == [-1...1])
        _ = try env.reset(seed: 0)
        let s = try env.step(continuous: [0.25])
        #expect(s.reward == 0.25 && s.observation == [1, 0.5, -1])
        for (call, words) in [({ _ = try env.step(1) }, "takes continuous actions"),
                              ({ _ = try env.step(continuous: [0.1, 0.2]) }, "needs 1 finite values"),
                              ({ _ = try env.step(continuous: [.nan]) }, "needs 1 finite values")] as [(() throws -> Void, String)] {
            #expect { try call() } throws: { "\($0)".contains(words) }
        }
        let discrete = try GymEnvironment("fixture_envs:CountingEnv")
        #expect(!discrete.spec.isContinuous)
        #expect { _ = try discrete.step(continuous: [0]) } throws: { "\($0)".contains("takes discrete actions") }
    }

    @Test func batchSteppingIsContiguousAndAutoResets() throws {
        let batch = try EnvironmentBatch(count: 3) { _ in try GymEnvironment("fixture_envs:CountingEnv", kwargs: ["length": 2]) }
        let first = try batch.reset(seed: 0)
        #expect(first == [0, 0, 0, 1, 0.5, -1, 2, 1, -2])
        let r1 = try batch.step([2, 2, 2])
        #expect(r1.observations.count == 9 && r1.rewards == [1, 1, 1])
        #expect(r1.terminated == [false, true, true])  // copies 1 and 2 started at t=1 and t=2
        #expect(r1.finalObservations[1] == [2, 1, -2])
        #expect(Array(r1.observations[3..<6]) == [0, 0, 0], "copy 1 was reset in the same step")
    }

    @Test func millionBridgeCallsDoNotLeak() throws {
        let env = try GymEnvironment("fixture_envs:CountingEnv", kwargs: ["length": 1000])
        _ = try env.reset(seed: 0)
        func run(_ n: Int) throws -> Float {
            var checksum: Float = 0
            for i in 0..<n {
                let s = try env.step(i % 3)
                checksum += s.observation[2]
                if s.isDone { _ = try env.reset(seed: nil) }
            }
            return checksum
        }
        _ = try run(100_000)
        let before = residentBytes()
        _ = try run(1_000_000)
        let growth = residentBytes() - before
        #expect(growth < 5 << 20, "resident memory grew by \(growth) bytes over a million steps")
    }
}
