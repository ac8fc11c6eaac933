import NN
import Tensor
import Testing

@Suite struct SubnormalTests {
    /// Adam's second moment of a tiny gradient is subnormal; with FTZ/DAZ it is exactly 0, and the
    /// thread's floating-point mode is the same afterwards.
    @Test func adamUnderFlushToZeroAndTheModeIsRestored() {
        let before = SubnormalMode.currentMode
        let gradient = [Tensor(shape: [2], scalars: [1e-19, 0.5])]
        var plain = [Tensor(shape: [2], scalars: [1, 1])], flushed = plain
        var adamPlain = Adam(learningRate: 1e-3), adamFlushed = Adam(learningRate: 1e-3)
        adamPlain.step(&plain, gradients: gradient)
        SubnormalMode.flushingToZero { adamFlushed.step(&flushed, gradients: gradient) }
        let vPlain = adamPlain.state.secondMoments[0][0], vFlushed = adamFlushed.state.secondMoments[0][0]
        #expect(vPlain > 0 && vPlain < Float.leastNormalMagnitude, "without FTZ the moment is subnormal: \(vPlain)")
        #expect(vFlushed == 0)
        // Normal-range values are untouched: the second coordinate moves identically.
        #expect(flushed[0].scalars[1] == plain[0].scalars[1])
        #expect(SubnormalMode.currentMode == before)
        // And the mode is restored when the body throws.
        struct Stop: Error {}
        _ = try? SubnormalMode.flushingToZero { throw Stop() }
        #expect(SubnormalMode.currentMode == before)
    }
}
