import NN
import Tensor
import Testing

@Suite struct PolicyTests {
    /// The single-observation kernel gives the batched forward pass's Q-values to rounding (its
    /// summation order differs) and the same greedy actions.
    @Test(arguments: [[16, 16], [256, 256], [64, 32], [7]])
    func singleObservationPathEqualsTheBatchedOne(hidden: [Int]) {
        for activation in [Activation.relu, .tanh] {
            let net = MLP(inputSize: 6, hiddenSizes: hidden, outputSize: 3, activation: activation, seed: 5)
            var rng = SeededGenerator(seed: 11)
            for _ in 0..<20 {
                let obs = (0..<6).map { _ in rng.uniform(-2, 2) }
                let batched = net(Tensor(shape: [1, 6], scalars: obs)).scalars
                for (a, b) in zip(Policy(net).qValues(obs), batched) {
                    #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "hidden \(hidden) \(activation)")
                }
                #expect(Policy(net).action(obs) == net(Tensor(shape: [1, 6], scalars: obs)).argmaxRows()[0])
            }
        }
    }
}
