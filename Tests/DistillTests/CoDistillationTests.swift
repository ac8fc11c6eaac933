import DQN
import Distill
import Environments
import Checkpoint
import Foundation
import NN
import Runs
import Settings
import Tensor
import Testing

@Suite struct CoDistillationTests {
    func teacherConfig() -> DQNConfig {
        var c = DQNConfig()
        c.totalSteps = 3_000
        c.seed = 1
        c.hiddenSizes = [32]
        c.learningRate = 1e-3
        c.learningStarts = 200
        c.trainFrequency = 4
        c.gradientSteps = 1
        c.targetUpdateInterval = 100
        c.bufferSize = 5_000
        c.batchSize = 32
        c.explorationFraction = 0.3
        c.gamma = 0.9
        c.evalInterval = 0
        return c
    }

    func studentConfig() -> DistillConfig {
        var c = DistillConfig()
        c.hiddenSizes = [8]
        c.evalInterval = 1_000
        c.evalEpisodes = 2
        c.batchSize = 32
        c.learningRate = 3e-3
        return c
    }

    @Test func theTeacherLearnsExactlyAsAloneAndTheStudentFollowsIt() throws {
        let alone = try DQNTrainer(config: teacherConfig()).train(env: Corridor(), evalEnv: nil)
        var algorithm = try CoDistillationAlgorithm(teacherConfig: teacherConfig(), studentConfig: studentConfig(), env: Corridor(),
                                                    teacherEvalEnv: Corridor(), directory: nil)
        let result = try RunLoop(directory: nil, environment: "Corridor-6").run(&algorithm, evalEnv: Corridor())
        #expect(algorithm.teacher.learner.online == alone.learner.online, "the student does not disturb the teacher's run")
        #expect(algorithm.learner.gradientSteps == algorithm.teacher.gradientSteps, "one student step per teacher step")
        #expect(algorithm.learner.gradientSteps == alone.state.gradientSteps)
        let states = Tensor(shape: [6, 6], scalars: (0..<36).map { $0 % 7 == 0 ? 1 : 0 })
        #expect(actionAgreement(algorithm.learner.student, algorithm.teacher.policy, states: states) == 1)
        #expect(result.bestEvaluation?.mean == 1 && algorithm.teacherBest?.mean == 1)
    }

    @Test func theStudentDistilsTheTeachersCurrentQValues() throws {
        // With q-mse alone and a student as large as the teacher, the student's Q-values approach
        // the final teacher's: it learns from the teacher as it is now, not as it was.
        var s = studentConfig()
        s.losses = [LossTerm(.qMSE)]
        s.hiddenSizes = [32]
        s.updatesPerStep = 4
        var algorithm = try CoDistillationAlgorithm(teacherConfig: teacherConfig(), studentConfig: s, env: Corridor(),
                                                    teacherEvalEnv: nil, directory: nil)
        _ = try RunLoop(directory: nil, environment: "Corridor-6").run(&algorithm, evalEnv: nil)
        let states = Tensor(shape: [6, 6], scalars: (0..<36).map { $0 % 7 == 0 ? 1 : 0 })
        let teacherQ = algorithm.teacher.policy(states)
        func gap(_ net: MLP) -> Float { (net(states) - teacherQ).map { abs($0) }.scalars.max() ?? .infinity }
        let initial = MLP(inputSize: 6, hiddenSizes: [32], outputSize: 2, seed: UInt64(s.seed) + 1)
        #expect(gap(algorithm.learner.student) < 0.25 * gap(initial) && gap(algorithm.learner.student) < 0.25,
                "the student ends near the final teacher's Q-values (gap \(gap(algorithm.learner.student)), at the start \(gap(initial)))")
        #expect(algorithm.learner.gradientSteps == 4 * algorithm.teacher.gradientSteps)
    }

    /// Stopped, a co-distillation's checkpoint holds both learners as they were, and the resumed
    /// run restores them (teacher networks, its Adam and state; student, its Adam) and finishes.
    @Test func aStoppedCoDistillationResumes() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("codistill-\(UUID().uuidString)")
        var run = CoDistillationRun(directory: out)
        var polls = 0
        run.hooks.shouldStop = { polls += 1; return polls > 1_200 }
        var s = studentConfig()
        s.taskWeight = 0.1
        let (stopped, _) = try run.start(teacherConfig: teacherConfig(), studentConfig: s, environment: "Corridor-6",
                                         force: false, makeEnv: { Corridor() })
        #expect(stopped.interrupted && stopped.gradientSteps > 0)
        let saved = try run.loadCheckpoint()
        #expect(saved.state.step == 1_200 && saved.state.teacher.step == 1_200 && saved.state.gradientSteps == stopped.gradientSteps)
        #expect(saved.state.teacherConfig == teacherConfig())
        let teacher = try DQNLearner(restoring: saved.reader.prefixed("teacher"), observationShape: [6], actionCount: 2,
                                     adamSteps: saved.state.teacher.adamSteps, savedConfig: teacherConfig(), config: teacherConfig())
        #expect(teacher.optimizer.state.stepCount == saved.state.teacher.adamSteps && saved.state.teacher.adamSteps > 0)
        let last = out.appendingPathComponent("last")
        let savedOnline = try teacher.online.parameterNames.map { try ModelDirectory.loadTensor("teacher.online.\($0)", from: last) }
        #expect(teacher.online.parameters == savedOnline)
        let student = try StudentLearner(restoring: saved.reader, gradientSteps: saved.state.gradientSteps,
                                         student: MLP(inputSize: 6, hiddenSizes: [8], outputSize: 2, seed: 9),
                                         teacher: TeacherEnsemble(networks: [teacher.online]), config: saved.config)
        #expect(student.student == stopped.student)
        for (name, t) in student.checkpointTensors {
            #expect(try ModelDirectory.loadTensor(name, from: last) == t, "\(name) is not restored as saved")
        }
        #expect { try CoDistillationRun(directory: out).resume(teacherChanges: [("gamma", .number(0.5))], makeEnv: { _ in Corridor() }) } throws: {
            ($0 as? SettingError)?.description.contains("cannot change when a run is resumed") ?? false
        }
        #expect { try DistillationRun(directory: out).resume(makeEnv: { _, _ in Corridor() }) } throws: {
            ($0 as? RunError)?.description.contains("holds a co-distillation; continue it with `distill codistill --out") ?? false
        }
        let (finished, teacherBest) = try CoDistillationRun(directory: out).resume(teacherChanges: [("total_steps", .int(3_500))],
                                                                                    makeEnv: { _ in Corridor() })
        #expect(!finished.interrupted && finished.gradientSteps > stopped.gradientSteps)
        let end = try CoDistillationRun(directory: out).loadCheckpoint()
        #expect(end.state.step == 3_500 && end.state.teacher.step == 3_500 && end.state.teacherConfig.totalSteps == 3_500)
        #expect(teacherBest != nil || end.state.teacherBestMeanReturn != nil)
    }
}
