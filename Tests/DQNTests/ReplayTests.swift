import DQN
import NN
import Tensor
import Testing

func transition(_ i: Int, terminated: Bool = false) -> Transition {
    Transition(observation: [Float(i), -Float(i)], action: i % 2, reward: Float(i) * 10,
               nextObservation: [Float(i) + 0.5, 0], terminated: terminated, discount: 0.99)
}

@Suite struct ReplayBufferTests {
    @Test func wrapsAroundOverwritingTheOldest() {
        var buffer = ReplayBuffer(capacity: 3, observationSize: 2)
        for i in 0..<5 { buffer.add(transition(i, terminated: i == 3)) }
        #expect(buffer.count == 3 && buffer.position == 2)
        #expect(buffer.transition(at: 0) == transition(3, terminated: true).with(discount: 0))
        #expect(buffer.transition(at: 1) == transition(4))
        #expect(buffer.transition(at: 2) == transition(2))
    }

    @Test func batchesGatherTheRightRows() {
        var buffer = ReplayBuffer(capacity: 10, observationSize: 2)
        for i in 0..<6 { buffer.add(transition(i, terminated: i == 5)) }
        let b = buffer.batch([5, 1, 1])
        #expect(b.observations == Tensor(rows: [[5, -5], [1, -1], [1, -1]]))
        #expect(b.nextObservations == Tensor(rows: [[5.5, 0], [1.5, 0], [1.5, 0]]))
        #expect(b.actions == [1, 1, 1] && b.rewards.scalars == [50, 10, 10])
        #expect(b.bootstrapDiscounts.scalars == [0, 0.99, 0.99], "a terminated transition does not bootstrap")
        #expect(b.weights.scalars == [1, 1, 1])
    }

    @Test func uniformSamplingCoversTheFilledSlotsOnly() {
        var buffer = ReplayBuffer(capacity: 100, observationSize: 2)
        for i in 0..<7 { buffer.add(transition(i)) }
        var rng = SeededGenerator(seed: 3)
        let idx = buffer.sampleIndices(2000, rng: &rng)
        #expect(idx.allSatisfy { $0 >= 0 && $0 < 7 })
        #expect(Set(idx).count == 7)
        var again = SeededGenerator(seed: 3)
        #expect(buffer.sampleIndices(2000, rng: &again) == idx, "same seed, same sample")
    }
}

@Suite struct PrioritizedTests {
    @Test func sumTreeSumsAndFinds() {
        var tree = SumTree(capacity: 5)
        for (i, p) in [1.0, 2.0, 3.0, 0.0, 4.0].enumerated() { tree.update(i, priority: p) }
        #expect(tree.total == 10)
        #expect(tree.find(0.5) == 0 && tree.find(1.0) == 1 && tree.find(2.9) == 1)
        #expect(tree.find(3.0) == 2 && tree.find(5.99) == 2 && tree.find(6.0) == 4 && tree.find(9.99) == 4)
        tree.update(4, priority: 0)
        #expect(tree.total == 6)
    }

    @Test func samplingIsProportionalWithImportanceWeights() {
        var sampler = PrioritizedSampler(capacity: 4, alpha: 1, epsilon: 0)
        for slot in 0..<4 { sampler.added(slot: slot) }
        sampler.update(indices: [0, 1, 2, 3], tdErrors: [1, 1, 2, 4])  // priorities 1,1,2,4 of 8
        var rng = SeededGenerator(seed: 1)
        var counts = [0, 0, 0, 0]
        for _ in 0..<2000 {
            let (idx, _) = sampler.sample(8, count: 4, beta: 1, rng: &rng)
            for i in idx { counts[i] += 1 }
        }
        let freq = counts.map { Double($0) / 16000 }
        for (f, p) in zip(freq, [0.125, 0.125, 0.25, 0.5]) { #expect(abs(f - p) < 0.02, "\(freq)") }
        let (idx, w) = sampler.sample(4, count: 4, beta: 1, rng: &rng)
        // w ∝ 1/P(i), normalised so the largest is 1: slot 0 or 1 has weight 1, slot 3 has 1/4.
        for (i, wi) in zip(idx, w) { #expect(abs(wi - [1, 1, 0.5, 0.25][i]) < 1e-6) }
    }
}

@Suite struct ScheduleAndNStepTests {
    @Test func linearEpsilon() {
        let s = LinearSchedule(initial: 1, final: 0.04, fraction: 0.16, totalSteps: 50_000)
        #expect(s.value(at: 0) == 1)
        #expect(abs(s.value(at: 4_000) - (1 - 0.96 * 0.5)) < 1e-6)
        #expect(s.value(at: 8_000) == 0.04 && s.value(at: 49_999) == 0.04)
    }

    @Test func nStepReturnsHandWorked() {
        var acc = NStepAccumulator(n: 3, gamma: 0.5)
        func push(_ i: Int, _ r: Float, terminated: Bool = false, truncated: Bool = false) -> [Transition] {
            acc.push(observation: [Float(i)], action: 0, reward: r, nextObservation: [Float(i + 1)],
                     terminated: terminated, truncated: truncated)
        }
        #expect(push(0, 1).isEmpty && push(1, 2).isEmpty)
        let first = push(2, 4)  // 1 + 0.5·2 + 0.25·4 = 3, next s3, γ³
        #expect(first == [Transition(observation: [0], action: 0, reward: 3, nextObservation: [3], terminated: false, discount: 0.125)])
        let end = push(3, 8, terminated: true)  // flush s1, s2, s3 with the remaining rewards
        let expectedRewards: [Float] = [6, 8, 8]  // 2 + 0.5·4 + 0.25·8, 4 + 0.5·8, 8
        #expect(end.map(\.reward) == expectedRewards)
        #expect(end.map(\.observation) == [[1], [2], [3]] && end.allSatisfy { $0.terminated && $0.nextObservation == [4] })
        #expect(end.map(\.discount) == [0.125, 0.25, 0.5])
        // Truncation: the same flush, but the transitions still bootstrap.
        _ = push(10, 1)
        let cut = push(11, 1, truncated: true)
        #expect(cut.count == 2 && cut.allSatisfy { !$0.terminated })
        #expect(cut.map(\.discount) == [0.25, 0.5] && cut.map(\.reward) == [1.5, 1])
    }

    @Test func truncationBootstrapsThroughTheBuffer() {
        var buffer = ReplayBuffer(capacity: 4, observationSize: 1)
        var acc = NStepAccumulator(n: 1, gamma: 0.9)
        for t in acc.push(observation: [0], action: 1, reward: 1, nextObservation: [1], terminated: false, truncated: true) { buffer.add(t) }
        for t in acc.push(observation: [1], action: 1, reward: 1, nextObservation: [2], terminated: true, truncated: false) { buffer.add(t) }
        #expect(buffer.batch([0, 1]).bootstrapDiscounts.scalars == [0.9, 0])
    }
}

extension Transition {
    func with(discount: Float) -> Transition {
        var t = self
        t.discount = discount
        return t
    }
}

@Suite struct ByteReplayTests {
    @Test(arguments: [Float(1), Float(1) / 255] as [Float])
    func byteStorageGivesBackTheSameValuesAsFloatStorage(scale: Float) {
        // Observations as the environment adapter makes them: integers 0–255 (or 0/1) times the scale.
        var bytes = ReplayBuffer(capacity: 8, observationSize: 6, byteScale: scale)
        var floats = ReplayBuffer(capacity: 8, observationSize: 6)
        var rng = SeededGenerator(seed: 3)
        for step in 0..<12 {
            let o = (0..<6).map { _ in Float(rng.int(below: 256)) * scale }
            let n = (0..<6).map { _ in Float(rng.int(below: 256)) * scale }
            let t = Transition(observation: o, action: step % 3, reward: Float(step), nextObservation: n,
                               terminated: step % 5 == 0, discount: 0.99)
            #expect(bytes.add(t) == floats.add(t))
        }
        let indices = [0, 3, 7, 5, 5]
        let a = bytes.batch(indices), b = floats.batch(indices)
        #expect(a.observations == b.observations && a.nextObservations == b.nextObservations, "bit for bit")
        #expect(a.actions == b.actions && a.rewards == b.rewards && a.bootstrapDiscounts == b.bootstrapDiscounts)
        // A million MinAtar transitions (10×10×4): about 0.4 GB of observations this way, not 3.2 GB.
        #expect(1_000_000 * ReplayBuffer.observationBytes(observationSize: 400, bytesPerValue: 1) < 420_000_000)
    }
}

/// Observations are stored once: every slot gives back exactly the transition added (checked
/// against a plain copy of each) through episodes that terminate and truncate, n-step flushes,
/// wrap-around and tiny capacities, while the buffer holds about one frame per transition.
@Suite struct SharedFrameTests {
    @Test(arguments: [(1, 7, false), (3, 7, false), (1, 1, false), (3, 2, true), (2, 50, true), (5, 13, false), (1, 50, false)])
    func everySlotGivesBackWhatWasAdded(nStep: Int, capacity: Int, bytes: Bool) {
        let scale: Float = 1 / 255
        var buffer = ReplayBuffer(capacity: capacity, observationSize: 3, byteScale: bytes ? scale : nil, lookahead: nStep)
        var copies = [Transition?](repeating: nil, count: capacity)
        var acc = NStepAccumulator(n: nStep, gamma: 0.9)
        var rng = SeededGenerator(seed: UInt64(nStep * 100 + capacity))
        func state() -> [Float] { (0..<3).map { _ in Float(rng.int(below: 256)) * (bytes ? scale : 0.37) } }
        var obs = state()
        for step in 0..<400 {
            let next = step % 17 == 5 ? obs : state()  // sometimes a state repeats itself
            let end = rng.int(below: 9)
            let terminated = end == 0, truncated = end == 1
            for t in acc.push(observation: obs, action: step % 2, reward: Float(step), nextObservation: next,
                              terminated: terminated, truncated: truncated) {
                let slot = buffer.add(t)
                copies[slot] = t
                for (s, copy) in copies.enumerated() {
                    guard let copy else { continue }
                    let got = buffer.transition(at: s)
                    #expect(got.observation == copy.observation && got.nextObservation == copy.nextObservation,
                            "slot \(s) after step \(step)")
                }
            }
            obs = terminated || truncated ? state() : next
        }
        // One frame per transition, plus the last state of each episode still in the buffer (about
        // one in 4.5 here), not two.
        #expect(buffer.storedFrames <= capacity + capacity / 2 + nStep + 1, "\(buffer.storedFrames) frames for \(capacity) transitions")
    }

    /// Gathered as (N, H, W, C) images, a batch holds the rows' values with the channel axis
    /// moved last: for frame stacks (each frame one channel plane), for frames that cut across
    /// planes, and for float storage.
    @Test(arguments: [(4, 4, true), (4, 6, true), (2, 4, true), (1, 3, false), (4, 6, false)])
    func channelsLastBatchesAreTheRowsTransposed(frames: Int, channels: Int, bytes: Bool) {
        let height = 3, width = 5, d = channels * height * width
        var buffer = ReplayBuffer(capacity: 16, observationSize: d, byteScale: bytes ? 1 / 255 : nil, frames: frames)
        var rng = SeededGenerator(seed: 4)
        func observation() -> [Float] { (0..<d).map { _ in Float(rng.int(below: 256)) / 255 } }
        var obs = observation()
        for _ in 0..<20 {
            let next = observation()
            buffer.add(Transition(observation: obs, action: 1, reward: 0, nextObservation: next, terminated: false, discount: 0.99))
            obs = next
        }
        let slots = [3, 0, 15, 3, 7]
        let rows = buffer.batch(slots)
        var images = TransitionBatch()
        buffer.batch(slots, channelsLast: [height, width, channels], into: &images)
        #expect(images.observations.shape == [slots.count, height, width, channels])
        #expect(images.observations == rows.observations.reshaped([slots.count, channels, height, width]).movingChannelAxis(toLast: true))
        #expect(images.nextObservations == rows.nextObservations.reshaped([slots.count, channels, height, width]).movingChannelAxis(toLast: true))
        #expect(images.actions == rows.actions && images.rewards == rows.rewards)
        var next = Tensor.empty, ids: [Int32] = []
        buffer.nextObservations(slots, range: 1..<4, channelsLast: [height, width, channels], into: &next, ids: &ids)
        #expect(next.scalars == Array(images.nextObservations.scalars[(height * width * channels)..<(4 * height * width * channels)]))
    }

    /// A stack of the last 4 frames, channels first: each step brings one new frame, and the
    /// buffer keeps about that one.
    @Test func frameStacksKeepOneNewFramePerStep() {
        let frame = 6, stack = 4, capacity = 100
        var buffer = ReplayBuffer(capacity: capacity, observationSize: frame * stack, byteScale: 1, frames: stack)
        var plain = ReplayBuffer(capacity: capacity, observationSize: frame * stack, byteScale: 1)
        var rng = SeededGenerator(seed: 9)
        func newFrame() -> [Float] { (0..<frame).map { _ in Float(rng.int(below: 256)) } }
        var frames = (0..<stack).map { _ in newFrame() }
        var copies: [Int: Transition] = [:]
        for step in 0..<250 {
            let obs = frames.flatMap { $0 }
            let reset = step % 40 == 39
            // Gymnasium's FrameStackObservation starts an episode with the first frame repeated.
            if reset { let f = newFrame(); frames = Array(repeating: f, count: stack) } else { frames = Array(frames.dropFirst()) + [newFrame()] }
            let t = Transition(observation: obs, action: 0, reward: 0, nextObservation: frames.flatMap { $0 }, terminated: reset, discount: 0.99)
            copies[buffer.add(t)] = t
            plain.add(t)
        }
        for slot in 0..<capacity {
            #expect(buffer.transition(at: slot) == plain.transition(at: slot) && buffer.transition(at: slot).observation == copies[slot]!.observation)
        }
        #expect(buffer.storedFrames <= capacity + stack + 3 * stack, "\(buffer.storedFrames) frames for \(capacity) transitions")
        // A million Atari transitions (4 × 84 × 84 uint8): one 7,056-byte frame each, under 7 GB.
        #expect(1_000_000 * ReplayBuffer.observationBytes(observationSize: 4 * 84 * 84, bytesPerValue: 1, frames: 4) < 7_100_000_000)
    }
}
