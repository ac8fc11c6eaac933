import NN
import Tensor
import Testing

@Suite struct PolicyTests {
    /// The single-observation kernel gives the batched forward pass's Q-values bit for bit (but
    /// for the sign of a zero: `==`), on every instruction set — wide layers as the tiles' chains
    /// from the bias, narrow ones (8 units, heads) as the dot products — and the same greedy
    /// actions, so acting during training through it leaves a run's bits unchanged.
    @Test(arguments: [[16, 16], [256, 256], [64, 32], [7], [8, 8], [300, 20]])
    func singleObservationPathEqualsTheBatchedOne(hidden: [Int]) {
        for activation in [Activation.relu, .tanh] {
            let net = MLP(inputSize: 6, hiddenSizes: hidden, outputSize: 3, activation: activation, seed: 5)
            var rng = SeededGenerator(seed: 11)
            for trial in 0..<20 {
                var obs = (0..<6).map { _ in rng.uniform(-2, 2) }
                if trial % 4 == 0 { obs[trial % 6] = 0 }  // a zero input: skipped by the chains
                for name in Kernels.availableInstructionSets {
                    guard let (single, batched) = Kernels.with(instructionSet: name, {
                        (Policy(net).qValues(obs), net(Tensor(shape: [1, 6], scalars: obs)).scalars)
                    }) else { continue }
                    #expect(single == batched, "\(name) hidden \(hidden) \(activation): \(single) ≠ \(batched)")
                }
                #expect(Policy(net).action(obs) == net(Tensor(shape: [1, 6], scalars: obs)).argmaxRows()[0])
            }
        }
    }
}
