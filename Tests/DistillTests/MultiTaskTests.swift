import Checkpoint
import DQN
import Distill
import Environments
import Foundation
import NN
import Runs
import Tensor
import Testing

@Suite struct MultiTaskTests {
    /// A labelled batch of `rows` random observations of size `width`, labelled by `teacher`.
    func batch(_ teacher: MLP, rows: Int, seed: UInt64) -> (TransitionBatch, Tensor, Tensor?) {
        var rng = SeededGenerator(seed: seed)
        var buffer = ReplayBuffer(capacity: rows, observationSize: teacher.inputSize)
        for _ in 0..<rows {
            let o = (0..<teacher.inputSize).map { _ in rng.uniform(-1, 1) }
            buffer.add(Transition(observation: o, action: 0, reward: 0, nextObservation: o, terminated: true, discount: 0))
        }
        let b = buffer.batch(Array(0..<rows))
        let obs = b.observations
        return (b, teacher(obs), nil)
    }

    func config() -> DistillConfig {
        var c = DistillConfig()
        c.teachers = ["a=(in memory)", "b=(in memory)"]
        c.hiddenSizes = [8, 8]
        c.maxGradNorm = 1e9  // no clipping: it would couple the tasks' steps
        return c
    }

    @Test func aTasksInputLayerAndHeadLearnOnlyFromItsOwnBatch() {
        let teachers = [TeacherEnsemble(networks: [MLP(inputSize: 6, hiddenSizes: [5], outputSize: 2, seed: 1)]),
                        TeacherEnsemble(networks: [MLP(inputSize: 3, hiddenSizes: [7], outputSize: 4, seed: 2)])]
        let student = MultiTaskNetwork(inputSizes: [6, 3], hiddenSizes: [8, 8], outputSizes: [2, 4], seed: 3)
        let a = batch(teachers[0].networks[0], rows: 16, seed: 10)
        var first = MultiTaskLearner(student: student, teachers: teachers, config: config())
        var second = first
        _ = first.update([a, batch(teachers[1].networks[0], rows: 16, seed: 20)], teachers: teachers)
        _ = second.update([a, batch(teachers[1].networks[0], rows: 16, seed: 30)], teachers: teachers)
        #expect(first.student.inputLayers[0] == second.student.inputLayers[0], "task a's input layer saw only task a's batch")
        #expect(first.student.heads[0] == second.student.heads[0], "task a's head saw only task a's batch")
        #expect(first.student.heads[1] != second.student.heads[1] && first.student.trunk != second.student.trunk)
    }

    @Test func gradientsCombineAsTheTasksNetworksGive() {
        let net = MultiTaskNetwork(inputSizes: [6, 3], hiddenSizes: [4, 5], outputSizes: [2, 3], seed: 4)
        var rng = SeededGenerator(seed: 5)
        let perTask = (0..<2).map { k in
            net.network(task: k).parameters.map { p in Tensor(shape: p.shape, scalars: (0..<p.count).map { _ in rng.uniform(-1, 1) }) }
        }
        let combined = net.combine(perTask, scale: 0.5)
        #expect(combined.map(\.shape) == net.parameters.map(\.shape))
        #expect(combined[0] == perTask[0][0] * 0.5 && combined[2] == perTask[1][0] * 0.5, "input layers: their own task's only")
        #expect(combined[4] == (perTask[0][2] + perTask[1][2]) * 0.5, "trunk: the sum over tasks")
        #expect(combined[6] == perTask[0][4] * 0.5 && combined[9] == perTask[1][5] * 0.5, "heads: their own task's only")
        #expect(net.parameterCount == net.parameters.reduce(0) { $0 + $1.count })
        #expect(net.network(task: 1).parameterCount == 3 * 4 + 4 + 4 * 5 + 5 + 5 * 3 + 3)
    }

    @Test func distilsTwoCorridorsOfDifferentSizesIntoOneStudent() throws {
        var c = config()
        c.steps = 3_000
        c.seed = 2
        c.evalInterval = 1_000
        c.evalEpisodes = 2
        c.batchSize = 32
        c.learningRate = 3e-3
        c.actingEpsilon = 0.3
        c.maxGradNorm = 10
        let tasks = [DistillationTask(name: "six", teacher: TeacherEnsemble(networks: [corridorTeacher(length: 6)]), environment: "Corridor-6"),
                     DistillationTask(name: "four", teacher: TeacherEnsemble(networks: [corridorTeacher(length: 4)]), environment: "Corridor-4")]
        func run() throws -> MultiTaskDistillationAlgorithm {
            var algorithm = try MultiTaskDistillationAlgorithm(
                config: c, tasks: tasks, collectEnvs: [Corridor(length: 6, maxSteps: 24), Corridor(length: 4, maxSteps: 16)],
                evalEnvs: [Corridor(length: 6, maxSteps: 24), Corridor(length: 4, maxSteps: 16)])
            let result = try RunLoop(directory: nil, environment: "test").run(&algorithm, evalEnv: Corridor())
            #expect(result.bestEvaluation?.mean == 1, "normalised return 1 on both tasks")
            return algorithm
        }
        let algorithm = try run()
        for (k, n) in [6, 4].enumerated() {
            let states = Tensor(shape: [n, n], scalars: (0..<(n * n)).map { $0 % (n + 1) == 0 ? 1 : 0 })
            #expect(actionAgreement(algorithm.learner.student.network(task: k), tasks[k].teacher.networks[0], states: states) == 1)
            #expect(algorithm.outcomes[k].normalizedReturn == 1)
        }
        #expect(algorithm.state.labels == 3_000)
        #expect(try run().learner.student == algorithm.learner.student, "same seed, same student")
    }

    @Test func savedTasksLoadAsPlainModelsAndTheRunDirectoryNamesThem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let net = MultiTaskNetwork(inputSizes: [6, 3], hiddenSizes: [4], outputSizes: [2, 3], seed: 4)
        let records = ["a", "b"].map { MultiTaskDirectory.TaskRecord(name: $0, environment: "E-\($0)", environmentArguments: [:], metrics: [:]) }
        try MultiTaskDirectory.save(net, tasks: records, config: [:], metrics: [:], in: dir)
        try MultiTaskDirectory.save(net, tasks: records, config: [:], metrics: [:], in: dir)  // replaces the whole set
        for (k, name) in ["a", "b"].enumerated() {
            let (loaded, manifest) = try ModelDirectory.load(from: dir.appendingPathComponent("tasks/\(name)"))
            #expect(loaded == net.network(task: k) && manifest.environment == "E-\(name)")
        }
        #expect(MultiTaskDirectory.index(dir)?.sharedParameters == net.parameterCount)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["tasks"], "no staging copies left")
        #expect { try ModelDirectory.load(from: dir) } throws: {
            ($0 as? CheckpointError)?.description.contains("holds a multi-task student (tasks a, b); name one task's model") ?? false
        }
    }

    @Test func teacherNamesGroupTasksAndMistakesAreRefused() throws {
        let groups = try #require(try DistillationRun.taskTeachers(["cp=runs/a", "ac=runs/b", "cp=runs/c"]))
        #expect(groups.map(\.name) == ["cp", "ac"] && groups[0].paths == ["runs/a", "runs/c"])
        #expect(try DistillationRun.taskTeachers(["runs/a", "runs/b"]) == nil)
        #expect { try DistillationRun.taskTeachers(["cp=runs/a", "runs/b"]) } throws: {
            ($0 as? DistillError)?.description.contains("Name every teacher's task or none") ?? false
        }
        #expect { try DistillationRun.taskTeachers(["../x=runs/a"]) } throws: {
            ($0 as? DistillError)?.description.contains("must start with a letter") ?? false
        }
    }
}

@Suite struct DataRegimeTests {
    @Test func theTeachersShareFollowsTheRegimeAsWritten() {
        var c = DistillConfig()
        c.steps = 1_000
        c.regime = .mixed
        c.mixFraction = 0.5
        // DAgger's β: 1 − step / (mix_fraction · steps), floored at 0.
        #expect(c.teacherShare(atStep: 0) == 1 && c.teacherShare(atStep: 250) == 0.5 && c.teacherShare(atStep: 500) == 0)
        #expect(c.teacherShare(atStep: 900) == 0)
        c.regime = .teacher
        #expect(c.teacherShare(atStep: 900) == 1)
        c.regime = .student
        #expect(c.teacherShare(atStep: 1) == 0)
    }
}
