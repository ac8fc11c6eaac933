import DQN
import Distill
import Environments
import NN
import Tensor
import Testing

/// The layer-relational (flow) loss: a hand-worked value, gradients against central differences,
/// its invariance to row scaling, and distillation with it (depths must match).
@Suite struct LayerFlowLossTests {
    @Test func handWorkedValue() {
        // Observations e1, e2: K_x = I. Student hidden rows [2], [3] point the same way: K = all ones.
        // Teacher rows [1], [-1] point apart: K = [[1, -1], [-1, 1]]. Flows K_x·K/2 differ by ±1 off
        // the diagonal: mean square (0 + 1 + 1 + 0) / 4 = 0.5.
        let x = Tensor(rows: [[1, 0], [0, 1]])
        let r = LayerFlowLoss.compute(student: [x, Tensor(rows: [[2], [3]])], teacher: [x, Tensor(rows: [[1], [-1]])])
        #expect(r.value == 0.5)
        #expect(LayerFlowLoss.flows([x, Tensor(rows: [[1], [-1]])])[0] == Tensor(rows: [[0.5, -0.5], [-0.5, 0.5]]))
        // Rows of length 1 and 0 gradient where the relations already agree in direction.
        #expect(r.gradients[0].shape == [2, 1])
    }

    @Test func zeroWhenEveryStudentLayerIsARowScalingOfTheTeachers() {
        let x = Tensor(shape: [5, 3], scalars: (0..<15).map { Float(($0 * 7) % 11) - 5 })
        let t1 = Tensor(shape: [5, 4], scalars: (0..<20).map { Float(($0 * 5) % 9) - 3 })
        let t2 = Tensor(shape: [5, 2], scalars: (0..<10).map { Float(($0 * 3) % 7) - 2 })
        var s1 = t1, s2 = t2
        for i in 0..<5 { for c in 0..<4 { s1[i, c] *= Float(i + 1) } ; for c in 0..<2 { s2[i, c] *= 0.5 } }
        let r = LayerFlowLoss.compute(student: [x, s1, s2], teacher: [x, t1, t2])
        #expect(r.value < 1e-10)
        #expect(r.gradients.allSatisfy { $0.scalars.allSatisfy { abs($0) < 1e-5 } })
    }

    @Test func gradientsMatchCentralDifferences() {
        var rng = SeededGenerator(seed: 4)
        func random(_ r: Int, _ c: Int) -> Tensor { Tensor(shape: [r, c], scalars: (0..<(r * c)).map { _ in rng.uniform(-1, 1) }) }
        let x = random(6, 3)
        let teacher = [x, random(6, 5), random(6, 4)]
        var student = [x, random(6, 3), random(6, 2)]   // other widths than the teacher's
        let r = LayerFlowLoss.compute(student: student, teacher: teacher)
        #expect(r.value > 0)
        let eps: Float = 1e-2
        var checked = 0
        for layer in 1...2 {
            for index in 0..<student[layer].count {
                let saved = student[layer].scalars[index]
                student[layer].scalars[index] = saved + eps
                let up = LayerFlowLoss.compute(student: student, teacher: teacher).value
                student[layer].scalars[index] = saved - eps
                let down = LayerFlowLoss.compute(student: student, teacher: teacher).value
                student[layer].scalars[index] = saved
                let numeric = (up - down) / (2 * eps)
                let analytic = r.gradients[layer - 1].scalars[index]
                #expect(abs(numeric - analytic) <= 2e-3 + 2e-2 * abs(numeric), "layer \(layer) element \(index)")
                checked += 1
            }
        }
        #expect(checked == 6 * 3 + 6 * 2)
    }

    @Test func distillsWithTheFlowLossAndRefusesOtherDepths() throws {
        var c = DistillConfig()
        c.teachers = ["(in memory)"]
        c.hiddenSizes = [8]
        c.steps = 600
        c.seed = 3
        c.evalInterval = 0
        c.batchSize = 32
        c.learningRate = 3e-3
        c.losses = try LossSpec.parse("kl,fsp:0.5")
        #expect(c.flowWeight == 0.5 && c.klWeight == 1)
        let teacher = TeacherEnsemble(networks: [corridorTeacher()])
        let withFlow = try Distiller(config: c, teacher: teacher).run(env: Corridor(), evalEnv: nil)
        let again = try Distiller(config: c, teacher: teacher).run(env: Corridor(), evalEnv: nil)
        #expect(withFlow.student == again.student)
        c.flowWeight = 0
        let without = try Distiller(config: c, teacher: teacher).run(env: Corridor(), evalEnv: nil)
        #expect(without.student != withFlow.student)
        c.flowWeight = 1
        c.hiddenSizes = [8, 8]
        #expect(throws: DistillError.self) { try Distiller(config: c, teacher: teacher) }
    }
}

/// The teacher's hidden layers stored with each label are the layers a teacher forward over the
/// batch gives, bit for bit, for every member of an ensemble.
@Suite struct StoredTeacherHiddenTests {
    @Test func storedLayersEqualARecomputedForward() {
        let teachers = [MLP(inputSize: 3, hiddenSizes: [20, 7], outputSize: 2, seed: 1),
                        MLP(inputSize: 3, hiddenSizes: [5, 33], outputSize: 2, seed: 2)]
        let ensemble = TeacherEnsemble(networks: teachers)
        var buffer = DistillationBuffer(capacity: 8, observationSize: 3, actionCount: 2, hiddenWidth: ensemble.hiddenWidth)
        #expect(ensemble.hiddenWidth == 20 + 7 + 5 + 33)
        for i in 0..<11 {  // wraps the ring once
            let o: [Float] = [Float(i) * 0.3 - 1, Float(i % 3), 0.5]
            buffer.add(Transition(observation: o, action: 0, reward: 0, nextObservation: o, terminated: true, discount: 0),
                       label: ensemble.label(o, withHidden: true))
        }
        let (batch, q, hidden) = buffer.batch([0, 5, 2, 7])
        let student = MLP(inputSize: 3, hiddenSizes: [4], outputSize: 2, seed: 3)
        var stored = LossContext(batch: batch, studentNetwork: student, teacherQ: q, teachers: teachers, storedTeacherHidden: hidden)
        var computed = LossContext(batch: batch, studentNetwork: student, teacherQ: q, teachers: teachers)
        for k in 0..<2 { for l in 0..<2 {
            #expect(stored.teacherHidden(l, teacher: k) == computed.teacherHidden(l, teacher: k), "teacher \(k) layer \(l)")
        } }
        #expect(q == ensemble.qValues(batch.observations))
    }
}
