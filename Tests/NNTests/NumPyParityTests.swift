import NN
import PythonBridge
import Tensor
import Testing

/// Forward values and the KL loss against NumPy computing the same thing on the same numbers.
@Suite struct NumPyParityTests {
    func ndarray(_ t: Tensor) throws -> PythonObject { try PythonObject.ndarray(t.scalars, shape: t.shape) }

    @Test(arguments: [Activation.relu, .tanh])
    func forwardMatchesNumPy(activation: Activation) throws {
        let net = MLP(inputSize: 4, hiddenSizes: [64, 32], outputSize: 3, activation: activation, seed: 3)
        let x = Tensor(shape: [10, 4], scalars: fixedValues(40, seed: 9))
        let reference = try Python.run("""
            import numpy as np
            def forward(x, params, act):
                h = x.astype(np.float64)
                for i in range(0, len(params), 2):
                    h = h @ params[i].astype(np.float64) + params[i + 1].astype(np.float64)
                    if i + 2 < len(params):
                        h = np.maximum(h, 0) if act == "relu" else np.tanh(h)
                return h.astype(np.float32)
            """).item("forward")
        let params = try net.parameters.map { try ndarray($0) }
        let expected = try reference.call(ndarray(x), params, activation.rawValue).floatArray()
        let got = net(x).scalars
        #expect(got.count == expected.count)
        for (a, b) in zip(got, expected) { #expect(abs(a - b) < 1e-5 * max(1, abs(b))) }
    }

    @Test func klAtTemperatureMatchesNumPy() throws {
        let teacher = Tensor(shape: [5, 3], scalars: fixedValues(15, seed: 1).map { $0 * 0.05 + 20 })
        let student = Tensor(shape: [5, 3], scalars: fixedValues(15, seed: 2).map { $0 * 0.05 + 20 })
        let reference = try Python.run("""
            import numpy as np
            def kl(qt, qs, tau):
                def log_softmax(z):
                    z = z.astype(np.float64) / tau
                    z = z - z.max(axis=1, keepdims=True)
                    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))
                lt, ls = log_softmax(qt), log_softmax(qs)
                return float((np.exp(lt) * (lt - ls)).sum(axis=1).mean())
            """).item("kl")
        for tau: Float in [0.01, 0.1, 1] {
            let expected = try Double(python: reference.call(ndarray(teacher), ndarray(student), tau))
            let got = Loss.klDivergence(teacher: teacher, student: student, temperature: tau).value
            #expect(abs(Double(got) - expected) < 1e-4 * max(1, abs(expected)), "τ = \(tau): \(got) vs \(expected)")
        }
    }

    @Test func generatorMatchesPythonReference() throws {
        // xoshiro256** seeded by SplitMix64, written independently in Python.
        let reference = try Python.run("""
            M = (1 << 64) - 1
            def stream(seed, n):
                s = []
                x = seed
                for _ in range(4):
                    x = (x + 0x9E3779B97F4A7C15) & M
                    z = x
                    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
                    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
                    s.append(z ^ (z >> 31))
                rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & M
                out = []
                for _ in range(n):
                    out.append(str((rotl((s[1] * 5) & M, 7) * 9) & M))
                    t = (s[1] << 17) & M
                    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
                    s[2] ^= t
                    s[3] = rotl(s[3], 45)
                return out
            """).item("stream")
        let expected = try [String](python: reference.call(12345, 6))
        var rng = SeededGenerator(seed: 12345)
        #expect((0..<6).map { _ in String(rng.next()) } == expected)
    }
}
