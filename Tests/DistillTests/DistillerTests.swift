import DQN
import Distill
import Environments
import Foundation
import NN
import Runs
import Tensor
import Testing

/// A hand-built Corridor teacher: hidden unit i fires in cell i, Q(right) > Q(left) everywhere.
func corridorTeacher(length: Int = 6) -> MLP {
    var w1 = Tensor(shape: [length, length]), b1 = Tensor(shape: [length])
    for i in 0..<length { w1[i, i] = 1 }
    var w2 = Tensor(shape: [length, 2])
    for i in 0..<length {
        w2[i, 0] = Float(i) * 0.1        // left
        w2[i, 1] = Float(i) * 0.1 + 0.5  // right
    }
    b1.scalars[0] = 0
    return MLP(layers: [Linear(weight: w1, bias: b1), Linear(weight: w2, bias: Tensor(shape: [2]))], activation: .relu)
}

@Suite struct DistillerTests {
    func config(_ regime: String) -> DistillConfig {
        var c = DistillConfig()
        c.teachers = ["(in memory)"]
        c.hiddenSizes = [8]
        c.steps = 1_500
        c.seed = 2
        c.regime = DataRegime(rawValue: regime)!
        c.evalInterval = 500
        c.evalEpisodes = 2
        c.batchSize = 32
        c.learningRate = 3e-3
        c.actingEpsilon = 0.3
        return c
    }

    @Test(arguments: ["student", "teacher", "mixed"])
    func distilsAFixedTeacherToFullAgreement(regime: String) throws {
        let teacher = TeacherEnsemble(networks: [corridorTeacher()])
        let distiller = try Distiller(config: config(regime), teacher: teacher)
        let outcome = try distiller.run(env: Corridor(length: 6, maxSteps: 24), evalEnv: Corridor(length: 6, maxSteps: 24))
        let states = Tensor(shape: [6, 6], scalars: (0..<36).map { $0 % 7 == 0 ? 1 : 0 })
        #expect(actionAgreement(outcome.student, teacher.networks[0], states: states) == 1)
        #expect(outcome.labels == 1_500 && outcome.bestEvaluation?.mean == 1)
    }

    @Test func everyLossCombinationTrainsAndIsDeterministic() throws {
        var c = config("student")
        c.steps = 300
        c.evalInterval = 0
        c.qMSEWeight = 0.5
        c.crossEntropyWeight = 0.5
        c.taskWeight = 0.1
        c.featureWeight = 1
        c.featureStudentLayer = 0
        c.featureTeacherLayer = 0
        c.relationalWeight = 0.5
        c.relationalAngleRows = 6
        let teacher = TeacherEnsemble(networks: [corridorTeacher(), corridorTeacher()])
        let a = try Distiller(config: c, teacher: teacher).run(env: Corridor(), evalEnv: nil)
        let b = try Distiller(config: c, teacher: teacher).run(env: Corridor(), evalEnv: nil)
        #expect(a.student == b.student, "same seed, same student")
        #expect(a.gradientSteps == 300 - 31)
    }

    @Test func offlineRegimeUsesTheGivenStates() throws {
        var c = config("offline")
        c.offlineObservations = "states.npy"
        c.steps = 10_000
        c.finalUpdates = 300
        let states = Tensor(shape: [400, 6], scalars: (0..<2400).map { ($0 % 6) == ($0 / 6) % 6 ? 1 : 0 })
        let teacher = TeacherEnsemble(networks: [corridorTeacher()])
        let outcome = try Distiller(config: c, teacher: teacher).run(env: nil, evalEnv: Corridor(), offline: states)
        #expect(outcome.labels == 400, "labels are capped by the states given")
        #expect(actionAgreement(outcome.student, teacher.networks[0], states: states) == 1)
    }

    @Test func clearErrors() throws {
        let teacher = TeacherEnsemble(networks: [corridorTeacher()])
        var c = config("student")
        c.featureWeight = 1
        c.featureStudentLayer = 3
        c.featureTeacherLayer = 0
        #expect { try Distiller(config: c, teacher: teacher) } throws: {
            ($0 as? DistillError)?.description.contains("The student has no hidden layer 3") ?? false
        }
        c.featureStudentLayer = 0
        c.featureTeacherLayer = 5
        #expect { try Distiller(config: c, teacher: teacher) } throws: {
            ($0 as? DistillError)?.description.contains("The teacher has no hidden layer 5") ?? false
        }
        let ok = try Distiller(config: config("student"), teacher: teacher)
        #expect { try ok.run(env: Corridor(length: 5), evalEnv: nil) } throws: {
            ($0 as? DistillError)?.description.contains("distil on the teacher's environment") ?? false
        }
        var none = config("student")
        none.klWeight = 0
        #expect(none.validationError()?.contains("no loss is switched on") == true)
        #expect(TeacherEnsembleErrors.missing() == true)
    }
}

enum TeacherEnsembleErrors {
    static func missing() -> Bool {
        do {
            _ = try TeacherEnsemble(paths: ["/nonexistent/teacher"])
            return false
        } catch let e as DistillError {
            return e.description.contains("The teacher /nonexistent/teacher cannot be loaded") && e.description.contains("does not exist")
        } catch { return false }
    }
}

@Suite struct ComparisonTests {
    @Test func agreementCountsMatchingGreedyActions() {
        let t = corridorTeacher()
        var flipped = t
        // Swap the two output columns: the opposite greedy action everywhere.
        let w = flipped.layers[1].weight
        var swapped = w
        for r in 0..<w.rowCount { swapped[r, 0] = w[r, 1]; swapped[r, 1] = w[r, 0] }
        flipped.layers[1].weight = swapped
        let states = Tensor(shape: [6, 6], scalars: (0..<36).map { $0 % 7 == 0 ? 1 : 0 })
        #expect(actionAgreement(t, t, states: states) == 1)
        #expect(actionAgreement(t, flipped, states: states) == 0)
    }

    @Test func compareReportsRatiosAndNormalisedReturn() throws {
        let teacher = corridorTeacher()
        let r = try compare(teacher: teacher, teacherBytes: 1000, student: teacher, studentBytes: 500,
                            env: Corridor(), episodes: 3, seed: 0, heldOut: 50)
        #expect(r.teacher.meanReturn == 1 && r.student.meanReturn == 1)
        #expect(r.normalizedReturn == 1 && r.actionAgreement == 1 && r.bytesRatio == 0.5 && r.parameterRatio == 1)
        #expect(r.randomMeanReturn < 1)
    }
}
