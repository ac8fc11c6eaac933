import Foundation
import DQN
import Distill
import NN
import Environments
import Settings
import Tensor
import Testing

@Suite struct LossSpecTests {
    @Test func specsParseIntoSummationOrder() throws {
        let terms = try LossSpec.parse("kl, q-mse:0.5,ce:1,nll:2")
        #expect(terms == [LossTerm(.qMSE, weight: 0.5), LossTerm(.kl), LossTerm(.crossEntropy, weight: 2)])
        #expect(LossSpec.format(terms) == "q-mse:0.5,kl,ce:2.0")
        #expect(try LossSpec.parse(LossSpec.format(terms)) == terms)
        #expect(try LossSpec.parse("none").isEmpty && LossSpec.parse("kl:0").isEmpty)
        #expect { try LossSpec.parse("hinge") } throws: {
            ($0 as? SettingError)?.worded { "--\($0)" } == "--loss takes q-mse, kl, ce or action-mse (and task, feature, relational, flow), comma-separated, each optionally name:weight; unknown loss 'hinge'."
        }
        #expect { try LossSpec.parse("kl:-1") } throws: { ($0 as? SettingError)?.description.contains("must be a number ≥ 0") ?? false }
    }

    @Test func lossAndWeightSettingsComposeInAnyOrder() throws {
        var a = DistillConfig(), b = DistillConfig()
        try DistillConfig.settings.apply([("task_weight", .number(0.1)), ("loss", .string("q-mse,ce:0.5")), ("feature_layer", .string("0:1"))], to: &a)
        try DistillConfig.settings.apply([("feature_layer", .string("0:1")), ("loss", .string("q-mse,ce:0.5")), ("lambda", .number(0.1))], to: &b)
        #expect(a == b)
        #expect(a.activeLosses == ["q-mse", "ce", "task", "feature"] && a.taskWeight == 0.1 && a.featureWeight == 1)
        // Stored as one spec and read back to the same configuration.
        #expect(try JSONDecoder().decode(DistillConfig.self, from: JSONEncoder().encode(a)) == a)
    }

    @Test func everyKindIsRegistered() {
        var config = DistillConfig()
        config.featureStudentLayer = 0
        config.featureTeacherLayer = 0
        let net = MLP(inputSize: 3, hiddenSizes: [4], outputSize: 2, seed: 1)
        let teacher = TeacherEnsemble(networks: [net])
        for kind in LossKind.allCases {
            #expect(DistillationLosses.make(kind, config: config, student: net, teacher: teacher).kind == kind)
        }
    }
}

@Suite struct TaskLossTests {
    func batch() -> TransitionBatch {
        var buffer = ReplayBuffer(capacity: 4, observationSize: 3)
        for i in 0..<4 {
            buffer.add(Transition(observation: [Float(i), 1, -0.5], action: i % 2, reward: Float(i) * 0.5,
                                  nextObservation: [0.3, Float(i), 1], terminated: i == 3, discount: 0.729))
        }
        return buffer.batch([0, 1, 2, 3])
    }

    /// The task loss is DQN's TD loss: its gradient matches Huber on DQN's (Double DQN) target.
    @Test(arguments: [false, true])
    func taskLossUsesDQNsTarget(double: Bool) throws {
        let student = MLP(inputSize: 3, hiddenSizes: [5], outputSize: 2, seed: 3)
        var config = DistillConfig()
        config.doubleDQN = double
        var loss = TaskLoss(student: MLP(inputSize: 3, hiddenSizes: [5], outputSize: 2, seed: 4), config: config)
        loss.studentUpdated(student, gradientSteps: 1)  // not a multiple of the interval: the target stays
        let target = loss.target
        let b = batch()
        var context = LossContext(batch: b, studentNetwork: student, teacherQ: student(b.observations), teacher: student)
        let value = loss.apply(weight: 0.5, to: &context)

        let y = TDTarget.values(b, online: { student($0) }, target: { target($0) }, doubleDQN: double)
        let q = student(b.observations)
        let expected = Loss.huber(q.gather(columns: b.actions), y)
        #expect(abs(value - expected.value) < 1e-6)
        let grad = Tensor.scatter(expected.gradient, columns: b.actions, shape: q.shape) * 0.5
        #expect(context.outputGradient == grad)
        // Double DQN evaluates the student's argmax under the target network: a different target here.
        let plain = TDTarget.values(b, online: { student($0) }, target: { target($0) }, doubleDQN: false)
        if double { #expect(y != plain) }
        // The 3-step discount stored in the batch is what bootstraps (0 after termination).
        #expect(abs(y.scalars[3] - 1.5) < 1e-6)
    }
}

@Suite struct NStepDistillationTests {
    /// n-step returns reach the task loss through the collected transitions.
    @Test func nStepTaskTargetsChangeTheStudentDeterministically() throws {
        var c = DistillConfig()
        c.teachers = ["(in memory)"]
        c.hiddenSizes = [8]
        c.steps = 300
        c.evalInterval = 0
        c.batchSize = 16
        c.taskWeight = 1
        let teacher = TeacherEnsemble(networks: [corridorTeacher()])
        let one = try Distiller(config: c, teacher: teacher).run(env: Corridor(), evalEnv: nil)
        c.nStep = 3
        let three = try Distiller(config: c, teacher: teacher).run(env: Corridor(), evalEnv: nil)
        let again = try Distiller(config: c, teacher: teacher).run(env: Corridor(), evalEnv: nil)
        #expect(three.student == again.student)
        #expect(three.student != one.student)
        #expect(three.labels == 300 && one.labels == 300)
        c.nStep = 0
        #expect(c.validationError() == "--n-step must be at least 1 (got 0).")
    }
}

@Suite struct KickstartingTests {
    @Test func linearScheduleFallsToZeroAndNeedsTheTaskLoss() throws {
        var c = DistillConfig()
        c.steps = 100
        c.teachers = ["t"]
        #expect(c.distillationScale(step: 50) == 1)
        try DistillConfig.settings.apply([("lambda_schedule", .string("linear")), ("distillation_decay_fraction", .number(0.5))], to: &c)
        #expect(c.distillationScale(step: 0) == 1 && c.distillationScale(step: 25) == 0.5)
        #expect(c.distillationScale(step: 50) == 0 && c.distillationScale(step: 80) == 0)
        #expect(c.validationError()?.hasPrefix("--distillation-schedule linear needs the task loss (--lambda > 0)") == true)
        c.taskWeight = 0.5
        #expect(c.validationError() == nil)
    }

    /// At scale 0 the distillation terms add nothing: the step equals one with the task loss alone.
    @Test func atScaleZeroOnlyTheTaskLossTrains() {
        let teacher = TeacherEnsemble(networks: [corridorTeacher()])
        let student = MLP(inputSize: 6, hiddenSizes: [8], outputSize: 2, seed: 3)
        var both = DistillConfig(), taskOnly = DistillConfig()
        both.losses = [LossTerm(.kl), LossTerm(.task, weight: 0.5)]
        taskOnly.losses = [LossTerm(.task, weight: 0.5)]
        var a = StudentLearner(student: student, teacher: teacher, config: both)
        var b = StudentLearner(student: student, teacher: teacher, config: taskOnly)
        var buffer = ReplayBuffer(capacity: 8, observationSize: 6)
        for i in 0..<8 {
            var o = [Float](repeating: 0, count: 6)
            o[i % 6] = 1
            buffer.add(Transition(observation: o, action: i % 2, reward: Float(i % 3), nextObservation: o, terminated: false, discount: 0.9))
        }
        let batch = buffer.batch(Array(0..<8))
        let q = teacher.qValues(batch.observations)
        _ = a.update(batch, teacherQ: q, teacher: teacher, distillationScale: 0)
        _ = b.update(batch, teacherQ: q, teacher: teacher)
        #expect(a.student == b.student)
        var c = StudentLearner(student: student, teacher: teacher, config: both)
        _ = c.update(batch, teacherQ: q, teacher: teacher, distillationScale: 1)
        #expect(c.student != b.student)
    }
}

@Suite struct EnsembleLayerLossTests {
    /// With an ensemble, feature and relational losses use every teacher (averaged), not the first.
    @Test func intermediateLossesAverageOverTheTeachers() {
        let t1 = MLP(inputSize: 6, hiddenSizes: [5], outputSize: 2, seed: 1)
        let t2 = MLP(inputSize: 6, hiddenSizes: [7], outputSize: 2, seed: 2)
        let student = MLP(inputSize: 6, hiddenSizes: [4], outputSize: 2, seed: 3)
        var buffer = ReplayBuffer(capacity: 6, observationSize: 6)
        for i in 0..<6 {
            var o = [Float](repeating: 0.1, count: 6)
            o[i] = 1
            buffer.add(Transition(observation: o, action: 0, reward: 0, nextObservation: o, terminated: true, discount: 0))
        }
        let batch = buffer.batch(Array(0..<6))
        var config = DistillConfig()
        config.featureStudentLayer = 0
        config.featureTeacherLayer = 0
        func relational(_ teachers: [MLP]) -> Float {
            var loss = RelationalLoss(angleRows: 6)
            var context = LossContext(batch: batch, studentNetwork: student, teacherQ: t1(batch.observations), teachers: teachers)
            return loss.apply(weight: 1, to: &context)
        }
        let both = relational([t1, t2]), one = relational([t1]), other = relational([t2])
        #expect(abs(both - (one + other) / 2) < 1e-6 && one != other)

        var feature = FeatureLoss(student: student, teachers: [t1, t2], config: config)
        #expect(feature.projections.map(\.weight.shape) == [[4, 5], [4, 7]])
        let projections = feature.projections
        var context = LossContext(batch: batch, studentNetwork: student, teacherQ: t1(batch.observations), teachers: [t1, t2])
        let value = feature.apply(weight: 1, to: &context)
        let h = student.forward(batch.observations).hidden(0)
        let expected = (FeatureLoss.compute(studentHidden: h, projection: projections[0], teacherHidden: t1.forward(batch.observations).hidden(0)).value
            + FeatureLoss.compute(studentHidden: h, projection: projections[1], teacherHidden: t2.forward(batch.observations).hidden(0)).value) / 2
        #expect(abs(value - expected) < 1e-6)
    }
}

@Suite struct PruningScopeTests {
    /// Global pruning ranks every dense weight together by LAMP score: half of all weights go,
    /// within each layer the smallest first (every kept weight larger than every pruned one of
    /// its layer), each layer keeps its largest weight, and a layer whose weights are all small
    /// is not emptied; per-layer pruning gives each matrix its own share.
    @Test func globalPruningRanksAllLayersByLAMPScore() {
        let teacher = TeacherEnsemble(networks: [corridorTeacher()])
        var student = MLP(inputSize: 6, hiddenSizes: [16], outputSize: 2, seed: 5)
        student.layers[1].weight.scalars = student.layers[1].weight.scalars.map { $0 / 100 }  // a head of tiny weights
        var config = DistillConfig()
        config.prune = 0.5
        var global = StudentLearner(student: student, teacher: teacher, config: config)
        global.prune(to: 0.5)
        let total = student.layers.reduce(0) { $0 + $1.weight.count }
        #expect(global.student.layers.reduce(0) { $0 + $1.weight.scalars.filter { $0 == 0 }.count } == total / 2)
        for (before, after) in zip(student.layers, global.student.layers) {
            let kept = after.weight.scalars.indices.filter { after.weight.scalars[$0] != 0 }.map { abs(before.weight.scalars[$0]) }
            let pruned = after.weight.scalars.indices.filter { after.weight.scalars[$0] == 0 }.map { abs(before.weight.scalars[$0]) }
            #expect((pruned.max() ?? 0) <= (kept.min() ?? .infinity), "within a layer, the smallest go first")
            #expect(kept.count >= 1 && kept.max() == before.weight.scalars.map(abs).max(), "a layer keeps its largest weight")
        }
        let headKept = global.student.layers[1].weight.scalars.filter { $0 != 0 }.count
        #expect(headKept >= 8, "the tiny head is not pruned away: \(headKept) of 32 kept")

        config.pruneScope = .layer
        var perLayer = StudentLearner(student: student, teacher: teacher, config: config)
        perLayer.prune(to: 0.5)
        for layer in perLayer.student.layers {
            #expect(layer.weight.scalars.filter { $0 == 0 }.count == layer.weight.count / 2)
        }
    }
}
