import Distill
import Environments
import NN
import Tensor
import Testing

/// The corridor drawn as a 3 × N grid of two planes (the agent, the goal), channels-last (3, N, 2)
/// or channels-first (2, 3, N), with byte-valued observations like MinAtar's bool grids.
final class GridCorridor: Environment {
    let spec: EnvironmentSpec
    let length: Int, channelsFirst: Bool
    private var position = 0, steps = 0

    init(length: Int = 6, channelsFirst: Bool) {
        self.length = length
        self.channelsFirst = channelsFirst
        spec = EnvironmentSpec(name: "GridCorridor", observationShape: channelsFirst ? [2, 3, length] : [3, length, 2], actionCount: 2,
                               observationsAreBytes: true)
    }

    func reset(seed: Int?) throws -> [Float] {
        position = 0
        steps = 0
        return observation(at: 0)
    }

    func step(_ action: Int) throws -> Step {
        steps += 1
        position = max(0, min(length - 1, position + (action == 1 ? 1 : -1)))
        let reached = position == length - 1
        return Step(observation: observation(at: position), reward: reached ? 1 : 0, terminated: reached,
                    truncated: !reached && steps >= 4 * length)
    }

    func observation(at cell: Int) -> [Float] {
        var o = [Float](repeating: 0, count: 6 * length)
        // (row 1, column c, plane p) in either layout.
        func index(_ c: Int, _ p: Int) -> Int { channelsFirst ? (p * 3 + 1) * length + c : ((1 * length) + c) * 2 + p }
        o[index(cell, 0)] = 1
        o[index(length - 1, 1)] = 1
        return o
    }
}

/// A hand-built convolutional teacher for the grid: a 1×1 convolution keeps the agent's plane,
/// hidden unit i fires when the agent is in cell i, and the head prefers right everywhere but
/// in cell 2.
func gridTeacher(length: Int = 6, channelsFirst: Bool) -> MLP {
    let g = ConvolutionGeometry(height: 3, width: length, channels: 2, kernelHeight: 1, kernelWidth: 1)
    let conv = Conv2D(weight: Tensor(shape: [1, 1, 2, 1], scalars: [1, 0]), bias: Tensor(shape: [1]), geometry: g)
    var w1 = Tensor(shape: [3 * length, length]), w2 = Tensor(shape: [length, 2])
    for i in 0..<length {
        w1[length + i, i] = 1
        w2[i, 0] = Float(i) * 0.1
        w2[i, 1] = Float(i) * 0.1 + (i == 2 ? -0.3 : 0.5)
    }
    return MLP(convolutions: [conv], layers: [Linear(weight: w1, bias: Tensor(shape: [length])), Linear(weight: w2, bias: Tensor(shape: [2]))],
               activation: .relu, channelsFirst: channelsFirst)
}

@Suite struct ConvolutionalDistillationTests {
    /// A convolutional student learns the conv teacher's policy in every cell, in the layout the
    /// teacher reads; an MLP student over the flattened grid does too.
    @Test(arguments: [(false, true), (true, true), (true, false)])
    func aConvTeacherDistilsToFullAgreementOnAGrid(channelsFirst: Bool, convStudent: Bool) throws {
        let env = GridCorridor(channelsFirst: channelsFirst)
        let teacher = gridTeacher(channelsFirst: channelsFirst)
        let states = Tensor(shape: [6, 36], scalars: (0..<6).flatMap { env.observation(at: $0) })
        #expect(Policy(teacher).action(env.observation(at: 2)) == 0 && Policy(teacher).action(env.observation(at: 3)) == 1)
        var c = DistillConfig()
        c.teachers = ["(in memory)"]
        c.convolutions = convStudent ? [ConvSpec(outputChannels: 4, kernel: 2)] : []
        c.hiddenSizes = [16]
        c.steps = 2_000
        c.seed = 1
        c.regime = .mixed
        c.actingEpsilon = 0.3
        c.evalInterval = 0
        c.batchSize = 32
        c.learningRate = 3e-3
        let outcome = try Distiller(config: c, teacher: TeacherEnsemble(networks: [teacher]))
            .run(env: env, evalEnv: nil)
        #expect(outcome.student.channelsFirst == (channelsFirst && convStudent))
        #expect(outcome.student.convolutions.count == (convStudent ? 1 : 0))
        #expect(actionAgreement(outcome.student, teacher, states: states) == 1)
    }
}
