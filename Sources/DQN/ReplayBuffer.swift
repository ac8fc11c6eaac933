import Foundation
import NN
import Tensor

/// One stored transition, possibly an n-step one: `reward` is the discounted sum of the n
/// rewards and `discount` is γ^k for the k steps it spans (so the target is
/// reward + discount · max Q(next) unless `terminated`).
public struct Transition: Sendable, Equatable {
    public var observation: [Float]
    public var action: Int
    public var reward: Float
    public var nextObservation: [Float]
    public var terminated: Bool
    public var discount: Float

    public init(observation: [Float], action: Int, reward: Float, nextObservation: [Float], terminated: Bool, discount: Float) {
        self.observation = observation
        self.action = action
        self.reward = reward
        self.nextObservation = nextObservation
        self.terminated = terminated
        self.discount = discount
    }
}

/// A sampled minibatch, laid out for the network.
public struct TransitionBatch: Sendable {
    public var observations: Tensor        // batch × obs
    public var actions: [Int]
    public var rewards: Tensor             // batch
    public var nextObservations: Tensor    // batch × obs
    /// 0 where the transition terminated (no bootstrap), else its discount γ^k.
    public var bootstrapDiscounts: Tensor  // batch
    /// Importance-sampling weights (all 1 for uniform sampling).
    public var weights: Tensor             // batch
    /// Buffer slots, for priority updates.
    public var indices: [Int]
    /// The frame ids the observations were decoded from, kept so a reused batch gathers without allocating.
    var frameIDs: [Int32] = []

    public init(observations: Tensor, actions: [Int], rewards: Tensor, nextObservations: Tensor, bootstrapDiscounts: Tensor,
                weights: Tensor, indices: [Int]) {
        self.observations = observations
        self.actions = actions
        self.rewards = rewards
        self.nextObservations = nextObservations
        self.bootstrapDiscounts = bootstrapDiscounts
        self.weights = weights
        self.indices = indices
    }

    /// An empty batch for `ReplayBuffer.batch(_:into:)` to fill.
    public init() {
        self.init(observations: .empty, actions: [], rewards: .empty, nextObservations: .empty, bootstrapDiscounts: .empty,
                  weights: .empty, indices: [])
    }

    /// Empties every field but the observations (storage kept): a batch of states alone, as
    /// `ReplayBuffer.observations(_:into:ids:)` fills.
    public mutating func keepObservationsOnly() {
        actions.removeAll(keepingCapacity: true)
        indices.removeAll(keepingCapacity: true)
        rewards.prepare(count: 0)
        nextObservations.prepare(rows: 0, columns: observations.shape.last ?? 0)
        bootstrapDiscounts.prepare(count: 0)
        weights.prepare(count: 0)
    }
}

/// Fixed-capacity replay memory in ring storage; the oldest transition is overwritten when full.
///
/// Each distinct observation frame is stored once (`FrameStore`): an observation is `frames`
/// equal contiguous parts (the channel planes of a (C, H, W) frame stack, else the whole
/// observation), and a part equal bit for bit to one of the recently stored observations' is
/// shared with it. So a transition's next observation — the next transition's observation — costs
/// nothing, and in a stack of 4 Atari frames only the newest frame of each step is new. Unlike
/// SB3's `optimize_memory_usage` this is exact (a match is the same bits), so it is always on.
public struct ReplayBuffer: Sendable {
    public let capacity: Int
    public let observationSize: Int
    /// Parts each observation is split into for sharing (1: whole observations).
    public let frames: Int
    public internal(set) var count = 0
    /// Slot the next transition goes to.
    public internal(set) var position = 0

    var floatFrames: FrameStore<Float>?
    /// One byte per observation value instead (bool grids, uint8 images): the value over `byteScale`.
    var byteFrames: FrameStore<UInt8>?
    /// The scale the environment applied to byte-valued observations; nil for float storage.
    public let byteScale: Float?
    /// Per slot, `frames` frame ids for the observation, then `frames` for the next one.
    var frameIDs: [Int32]
    var actions: [Int32]
    var rewards: [Float]
    var bootstrap: [Float]

    /// Float storage, or with `byteScale` one byte per observation value (for observations that
    /// are integers 0–255 times that scale: bool grids, uint8 images), a quarter of the memory
    /// and the same values back. `frames` splits observations into that many parts shared
    /// separately (a (C, H, W) frame stack: C); `lookahead` is how many slots later a next
    /// observation comes back as an observation (n for n-step transitions).
    public init(capacity: Int, observationSize: Int, byteScale: Float? = nil, frames: Int = 1, lookahead: Int = 1) {
        precondition(capacity >= 1 && observationSize >= 1, "a replay buffer needs capacity and observation size")
        let parts = Self.partsPerObservation(observationSize, frames: frames)
        self.capacity = capacity
        self.observationSize = observationSize
        self.frames = parts
        self.byteScale = byteScale
        // Interning order is o_t, then o_{t+n} (its next), so o_{t+1} last appeared 2n observations back.
        let window = 2 * max(1, lookahead) + 1
        if let byteScale {
            byteFrames = FrameStore(frameSize: observationSize / parts, parts: parts, window: window, scale: byteScale)
        } else {
            floatFrames = FrameStore(frameSize: observationSize / parts, parts: parts, window: window, scale: 1)
        }
        frameIDs = [Int32](repeating: -1, count: capacity * 2 * parts)
        actions = [Int32](repeating: 0, count: capacity)
        rewards = [Float](repeating: 0, count: capacity)
        bootstrap = rewards
    }

    /// The parts an observation of `observationSize` values is shared in: `frames` when they divide it, else 1.
    public static func partsPerObservation(_ observationSize: Int, frames: Int) -> Int {
        frames >= 1 && observationSize % frames == 0 ? frames : 1
    }

    /// Bytes of observation storage per transition in steady state: one frame (the newest), and
    /// the frame ids of both observations.
    public static func observationBytes(observationSize: Int, bytesPerValue: Int, frames: Int = 1) -> Int {
        observationSize / max(1, frames) * bytesPerValue + 2 * max(1, frames) * MemoryLayout<Int32>.size + MemoryLayout<Int32>.size
    }

    /// Distinct frames stored now (for tests and memory figures).
    public var storedFrames: Int { floatFrames?.liveFrames ?? byteFrames?.liveFrames ?? 0 }

    /// Stores a transition and returns the slot it went to.
    @discardableResult
    public mutating func add(_ t: Transition) -> Int {
        precondition(t.observation.count == observationSize && t.nextObservation.count == observationSize,
                     "transition observations must have \(observationSize) values")
        let slot = position
        let base = slot * 2 * frames
        if count == capacity {  // the oldest transition goes: release its frames
            for i in base..<(base + 2 * frames) {
                floatFrames?.release(frameIDs[i])
                byteFrames?.release(frameIDs[i])
            }
        }
        if floatFrames != nil {
            floatFrames!.intern(t.observation, into: &frameIDs, at: base)
            floatFrames!.intern(t.nextObservation, into: &frameIDs, at: base + frames)
        } else {
            byteFrames!.intern(t.observation, into: &frameIDs, at: base)
            byteFrames!.intern(t.nextObservation, into: &frameIDs, at: base + frames)
        }
        actions[slot] = Int32(t.action)
        rewards[slot] = t.reward
        bootstrap[slot] = t.terminated ? 0 : t.discount
        position = (position + 1) % capacity
        count = min(count + 1, capacity)
        return slot
    }

    /// `batchSize` slots drawn uniformly with replacement.
    public func sampleIndices(_ batchSize: Int, rng: inout SeededGenerator) -> [Int] {
        precondition(count > 0, "cannot sample from an empty replay buffer")
        return (0..<batchSize).map { _ in rng.int(below: count) }
    }

    /// `batchSize` slots drawn uniformly with replacement, into `out` (the same draws as
    /// `sampleIndices`; storage reused).
    public func sampleIndices(_ batchSize: Int, rng: inout SeededGenerator, into out: inout [Int]) {
        precondition(count > 0, "cannot sample from an empty replay buffer")
        out.removeAll(keepingCapacity: true)
        for _ in 0..<batchSize { out.append(rng.int(below: count)) }
    }

    /// The transitions in `indices`, gathered into a batch. Without `nextObservations` the
    /// batch's next observations are left empty (for a learner given its targets' values).
    public func batch(_ indices: [Int], weights: [Float]? = nil, nextObservations includeNext: Bool = true) -> TransitionBatch {
        var batch = TransitionBatch()
        self.batch(indices, weights: weights, nextObservations: includeNext, into: &batch)
        return batch
    }

    /// `batch` into an existing batch, reusing its storage (no allocation once warm).
    /// With `channelsLast` (height, width, channels) the observations — (C, H, W) images — come as
    /// (N, H, W, C) tensors, the layout a convolutional network reads, decoded straight into it.
    public func batch(_ indices: [Int], weights: [Float]? = nil, nextObservations includeNext: Bool = true,
                      channelsLast image: [Int]? = nil, into batch: inout TransitionBatch) {
        let n = indices.count
        precondition(weights == nil || weights!.count == n, "one weight per index needed")
        gather(indices, next: false, channelsLast: image, into: &batch.observations, ids: &batch.frameIDs)
        if includeNext {
            gather(indices, next: true, channelsLast: image, into: &batch.nextObservations, ids: &batch.frameIDs)
        } else {
            batch.nextObservations.prepare(rows: 0, columns: observationSize)
        }
        batch.actions.removeAll(keepingCapacity: true)
        for slot in indices { batch.actions.append(Int(actions[slot])) }
        batch.indices.removeAll(keepingCapacity: true)
        batch.indices.append(contentsOf: indices)
        batch.rewards.prepare(count: n)
        batch.rewards.setRows(from: rewards, width: 1, at: indices)
        batch.bootstrapDiscounts.prepare(count: n)
        batch.bootstrapDiscounts.setRows(from: bootstrap, width: 1, at: indices)
        batch.weights.prepare(count: n)
        if let weights {
            batch.weights.scalars.withUnsafeMutableBufferPointer { out in
                for i in 0..<n { out[i] = weights[i] }
            }
        } else {
            batch.weights.fill(1)
        }
    }

    /// Asks the cache for what `batch` reads of `slots` (their frame ids, actions, rewards and
    /// discounts), to be called a minibatch ahead.
    public func prefetch(_ slots: [Int]) {
        Kernels.prefetch(frameIDs, width: 2 * frames, rows: slots)
        Kernels.prefetch(actions, width: 1, rows: slots)
        Kernels.prefetch(rewards, width: 1, rows: slots)
        Kernels.prefetch(bootstrap, width: 1, rows: slots)
    }

    /// The observations of the transitions in `slots` into `out`, with `ids` as scratch (storage
    /// of both reused): what a learner that reads states alone gathers (distillation's losses
    /// but the task loss), without touching actions, rewards or discounts.
    public func observations(_ slots: [Int], into out: inout Tensor, ids: inout [Int32]) {
        gather(slots, next: false, into: &out, ids: &ids)
    }

    /// The next observations of the transitions in `slots`, one row each.
    public func nextObservations(_ slots: [Int]) -> Tensor {
        var out = Tensor(shape: [0]), ids: [Int32] = []
        gather(slots, next: true, into: &out, ids: &ids)
        return out
    }

    /// The next observations of the transitions in `slots[range]` into `out`, with `ids` as
    /// scratch (storage of both reused); `channelsLast` as for `batch`.
    public func nextObservations(_ slots: [Int], range: Range<Int>, channelsLast image: [Int]? = nil, into out: inout Tensor,
                                 ids: inout [Int32]) {
        gather(slots, range: range, next: true, channelsLast: image, into: &out, ids: &ids)
    }

    /// Observations (or next observations) of `slots[range]` as rows, or as (N, H, W, C) images
    /// given `channelsLast`. Slots are random, so each read is a cache miss: all frame ids are read
    /// first, then all frames, so the misses overlap.
    private func gather(_ slots: [Int], range: Range<Int>? = nil, next: Bool, channelsLast image: [Int]? = nil,
                        into out: inout Tensor, ids: inout [Int32]) {
        let d = observationSize, offset = next ? frames : 0
        let rows = range ?? slots.indices
        ids.removeAll(keepingCapacity: true)
        for slot in slots[rows] {
            let base = slot * 2 * frames + offset
            for part in 0..<frames { ids.append(frameIDs[base + part]) }
        }
        guard let image else {
            out.prepare(rows: rows.count, columns: d)
            floatFrames?.decode(ids, into: &out.scalars)
            byteFrames?.decode(ids, into: &out.scalars)
            return
        }
        precondition(image.count == 3 && image.reduce(1, *) == d, "images \(image) do not hold \(d) observation values")
        let channels = image[2]
        out.prepare(shape: [rows.count] + image)
        floatFrames?.decodeChannelsLast(ids, channels: channels, into: &out.scalars)
        byteFrames?.decodeChannelsLast(ids, channels: channels, into: &out.scalars)
    }

    /// The transition in `slot` (for tests and inspection).
    public func transition(at slot: Int) -> Transition {
        let b = batch([slot])
        return Transition(observation: b.observations.scalars, action: Int(actions[slot]), reward: rewards[slot],
                          nextObservation: b.nextObservations.scalars, terminated: bootstrap[slot] == 0, discount: bootstrap[slot])
    }
}

/// How observation values are kept: as they are (Float), or as bytes (0–255 over a scale).
protocol StoredScalar: Sendable {
    static var zero: Self { get }
    /// `values` as stored values, into `stored` (as long).
    static func store(_ values: UnsafeBufferPointer<Float>, scale: Float, into stored: UnsafeMutableBufferPointer<Self>)
    func value(scale: Float) -> Float
    /// One stored (C, H, W) image's values into `out` in (H, W, C) order.
    static func channelsLast(_ image: UnsafeBufferPointer<Self>, channels: Int, scale: Float, into out: UnsafeMutablePointer<Float>)
}

extension Float: StoredScalar {
    static func store(_ values: UnsafeBufferPointer<Float>, scale: Float, into stored: UnsafeMutableBufferPointer<Float>) {
        _ = stored.update(fromContentsOf: values)
    }
    func value(scale: Float) -> Float { self }
    static func channelsLast(_ image: UnsafeBufferPointer<Float>, channels: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
        Kernels.transpose(image.baseAddress!, out, rows: channels, cols: image.count / channels)
    }
}

extension UInt8: StoredScalar {
    /// The bytes the values stand for: value / scale is within rounding of a whole number 0–255,
    /// so the tie rule never matters (the kernel rounds to nearest even, in plain float adds).
    static func store(_ values: UnsafeBufferPointer<Float>, scale: Float, into stored: UnsafeMutableBufferPointer<UInt8>) {
        Kernels.encodeBytes(values.baseAddress!, stored.baseAddress!, count: values.count, scale: scale)
    }
    func value(scale: Float) -> Float { Float(self) * scale }
    static func channelsLast(_ image: UnsafeBufferPointer<UInt8>, channels: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
        Kernels.decodeBytesChannelsLast(image.baseAddress!, out, channels: channels, plane: image.count / channels, scale: scale)
    }
}

/// Reference-counted frames behind a `ReplayBuffer`. Frames live in fixed-size blocks (so growth
/// never copies what is stored); a new frame is compared with the frames of the last `window`
/// observations stored and shares the one it equals, else takes a free id.
struct FrameStore<Scalar: StoredScalar>: Sendable {
    let frameSize: Int, parts: Int, window: Int, scale: Float
    /// Frames per block: about 1 MB each.
    let blockFrames: Int
    var blocks: [[Scalar]] = []
    var references: [Int32] = []
    var freeIDs: [Int32] = []
    /// Frame ids of the last `window` observations stored, newest last.
    var recent: [Int32] = []
    /// The frame being stored, encoded.
    private var scratch: [Scalar]
    var liveFrames = 0

    init(frameSize: Int, parts: Int, window: Int, scale: Float) {
        self.frameSize = frameSize
        self.parts = parts
        self.window = window
        self.scale = scale
        blockFrames = max(16, (1 << 20) / max(1, frameSize * MemoryLayout<Scalar>.stride))
        scratch = [Scalar](repeating: .zero, count: frameSize)
        recent.reserveCapacity(window * parts)
    }

    /// Stores `observation`'s parts (sharing equal recent frames) and writes their ids into `ids` at `offset`.
    mutating func intern(_ observation: [Float], into ids: inout [Int32], at offset: Int) {
        let scale = self.scale, size = frameSize
        for part in 0..<parts {
            let start = part * size
            observation.withUnsafeBufferPointer { values in
                scratch.withUnsafeMutableBufferPointer { encoded in
                    Scalar.store(UnsafeBufferPointer(rebasing: values[start..<(start + size)]), scale: scale, into: encoded)
                }
            }
            // Newest first: a frame stack's parts reappear one place earlier in the next observation.
            var id: Int32 = -1
            for candidate in recent.reversed() where equals(candidate) {
                id = candidate
                break
            }
            if id < 0 { id = allocate() }
            references[Int(id)] += 1
            ids[offset + part] = id
            recent.append(id)
        }
        // The window holds ids, not references: a frame released meanwhile matches only while it
        // still has references (see `equals`), and a reused id is compared by its new content.
        if recent.count > window * parts { recent.removeFirst(recent.count - window * parts) }
    }

    mutating func release(_ id: Int32) {
        guard id >= 0 else { return }
        references[Int(id)] -= 1
        if references[Int(id)] == 0 {
            freeIDs.append(id)
            liveFrames -= 1
        }
    }

    /// Decodes frame `ids[q]` into `out` from `q · frameSize`, for every q (a batch's rows of
    /// parts, one call per batch). A block is opened once for each run of ids it holds — the
    /// whole batch when the frames fit one block, as small observations do — so the rows cost no
    /// reference counting.
    func decode(_ ids: [Int32], into out: inout [Float]) {
        precondition(out.count >= ids.count * frameSize, "decode needs room for \(ids.count) frames")
        out.withUnsafeMutableBufferPointer { o in
            var q = 0
            while q < ids.count {
                let b = Int(ids[q]) / blockFrames
                blocks[b].withUnsafeBufferPointer { block in
                    while q < ids.count, Int(ids[q]) / blockFrames == b {
                        let base = (Int(ids[q]) % blockFrames) * frameSize, to = q * frameSize
                        for j in 0..<frameSize { o[to + j] = block[base + j].value(scale: scale) }
                        q += 1
                    }
                }
            }
        }
    }

    /// As `decode`, into (H, W, C) order: `ids` holds each row's `parts` frames, which together
    /// are a (C, H, W) image, and value c of pixel p goes to p · C + c — the layout the
    /// convolutions read, in one pass over the batch rather than decoding it and then moving its
    /// channel axis. Each row's stored frames are put side by side (28 KB for an Atari stack of
    /// bytes, cache-resident) and a kernel writes them out interleaved.
    func decodeChannelsLast(_ ids: [Int32], channels: Int, into out: inout [Float]) {
        let rowSize = parts * frameSize
        precondition(rowSize % channels == 0, "rows of \(rowSize) values are not \(channels) channel planes")
        precondition(ids.count % parts == 0 && out.count >= ids.count * frameSize, "decode needs room for \(ids.count) frames")
        var image = [Scalar](repeating: .zero, count: rowSize)
        out.withUnsafeMutableBufferPointer { o in
            image.withUnsafeMutableBufferPointer { row in
                for r in 0..<(ids.count / parts) {
                    for part in 0..<parts {
                        let id = Int(ids[r * parts + part]), base = (id % blockFrames) * frameSize
                        blocks[id / blockFrames].withUnsafeBufferPointer { block in
                            _ = UnsafeMutableBufferPointer(rebasing: row[(part * frameSize)..<((part + 1) * frameSize)])
                                .update(fromContentsOf: UnsafeBufferPointer(rebasing: block[base..<(base + frameSize)]))
                        }
                    }
                    Scalar.channelsLast(UnsafeBufferPointer(row), channels: channels, scale: scale, into: o.baseAddress! + r * rowSize)
                }
            }
        }
    }

    /// Whether frame `id` is live and holds `scratch`, bit for bit (a byte comparison: frames of
    /// one game differ in a few pixels, so a frame is often read far before it differs).
    private func equals(_ id: Int32) -> Bool {
        guard references[Int(id)] > 0 else { return false }
        let base = (Int(id) % blockFrames) * frameSize, size = frameSize
        return blocks[Int(id) / blockFrames].withUnsafeBytes { block in
            scratch.withUnsafeBytes { frame in
                let stride = MemoryLayout<Scalar>.stride
                return memcmp(block.baseAddress! + base * stride, frame.baseAddress!, size * stride) == 0
            }
        }
    }

    /// A free frame id holding `scratch`.
    private mutating func allocate() -> Int32 {
        let id: Int32
        if let free = freeIDs.popLast() {
            id = free
        } else {
            id = Int32(references.count)
            references.append(0)
            if Int(id) / blockFrames == blocks.count {
                blocks.append([Scalar](repeating: .zero, count: blockFrames * frameSize))
            }
        }
        let b = Int(id) / blockFrames, base = (Int(id) % blockFrames) * frameSize
        blocks[b].replaceSubrange(base..<(base + frameSize), with: scratch)
        liveFrames += 1
        return id
    }
}
