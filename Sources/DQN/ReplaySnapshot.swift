import Checkpoint
import Foundation
import Runs
import Tensor

/// A replay buffer as a checkpoint keeps it (the `checkpoint_replay_buffer` setting), so that a
/// resumed run — or a second `learn` of Python's `DQN` — samples the memory the run had instead of
/// refilling it from scratch. Slot by slot, with each distinct frame once, in plain `.npy` files
/// that `numpy.load` reads:
///
/// - `replay.json`: counts and layout (`count`, `position`, `capacity`, `observation_size`,
///   `frames`, `byte_scale`, and how the values map to the environment's observations);
/// - `replay.frames.npy`: the distinct frames, F × frame size, `uint8` (bytes over `byte_scale`)
///   or `float32`;
/// - `replay.frame_ids.npy`: per slot, the frames of its observation and of its next one
///   (count × 2 × frames, `int32`);
/// - `replay.actions.npy` (`int32`), `replay.rewards.npy` (n-step discounted sums) and
///   `replay.discounts.npy` (γ^k, 0 where the transition is terminal), one value per slot;
/// - with prioritized replay, `replay.priorities.npy` (`float64`, one per slot).
public struct ReplaySnapshot: Sendable, Equatable {
    public struct Layout: Codable, Sendable, Equatable {
        public var format = 1
        public var count: Int
        public var position: Int
        public var capacity: Int
        public var observationSize: Int
        /// Parts an observation is split into (a frame stack's planes), each a frame.
        public var frames: Int
        /// Frames stored as bytes, each the value over this scale; nil for float32 frames.
        public var byteScale: Float?
        /// Prioritized replay's largest priority so far (new transitions get it).
        public var maxPriority: Double?
        /// How stored values read as the environment's observations (for Python's view): the scale the
        /// environment's observations were multiplied by, and the first value of a one-hot Discrete space.
        public var observationScale: Float
        public var oneHotStart: Int?
        public var observationShape: [Int]
    }

    public var layout: Layout
    public var floatFrames: [Float] = []
    public var byteFrames: [UInt8] = []
    public var frameIDs: [Int32]
    public var actions: [Int32]
    public var rewards: [Float]
    public var discounts: [Float]
    public var priorities: [Double]?

    var frameSize: Int { layout.observationSize / max(1, layout.frames) }
    var frameCount: Int { layout.byteScale == nil ? floatFrames.count / max(1, frameSize) : byteFrames.count / max(1, frameSize) }

    static let layoutFile = "replay.json"

    /// The checkpoint files, by name.
    public func files() -> [String: Data] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let count = layout.count
        var files: [String: Data] = [
            "replay.json": (try? encoder.encode(layout)) ?? Data(),
            "replay.frame_ids.npy": NumPyFile.encode(integers: frameIDs, shape: [count, 2, layout.frames], bits: 32),
            "replay.actions.npy": NumPyFile.encode(integers: actions, shape: [count], bits: 32),
            "replay.rewards.npy": NumPyFile.encode(Tensor(shape: [count], scalars: rewards)),
            "replay.discounts.npy": NumPyFile.encode(Tensor(shape: [count], scalars: discounts)),
        ]
        files["replay.frames.npy"] = layout.byteScale == nil
            ? NumPyFile.encode(Tensor(shape: [frameCount, frameSize], scalars: floatFrames))
            : NumPyFile.encode(bytes: byteFrames, shape: [frameCount, frameSize])
        if let priorities { files["replay.priorities.npy"] = NumPyFile.encode(doubles: priorities, shape: [count]) }
        return files
    }

    /// The snapshot in `directory` (a checkpoint's last/, or a replay buffer loaded from Python),
    /// nil when it holds none; every file is checked against `expected` (the buffer the run's
    /// settings build) and `actionCount`, so a damaged or foreign one is refused in a sentence.
    public static func read(from directory: URL, expected: Layout, actionCount: Int, prioritized: Bool) throws -> ReplaySnapshot? {
        let inCheckpoint = directory.lastPathComponent == "last"
        func damaged(_ detail: String) -> RunError {
            let detail = detail.hasSuffix(".") ? String(detail.dropLast()) : detail
            return inCheckpoint
                ? RunError.damagedCheckpoint(directory.deletingLastPathComponent().path,
                                             detail: "its replay buffer \(detail); remove the replay.* files from last/ to resume with an empty buffer")
                : RunError.invalidSetting("The replay buffer in \(directory.path) \(detail); give one this model's settings wrote (the same buffer_size and observations).")
        }
        guard let layoutData = try ModelDirectory.readOwnFile(layoutFile, in: directory, atMost: 1 << 16) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard var layout = try? decoder.decode(Layout.self, from: layoutData), layout.format == 1 else {
            throw damaged("has no readable replay.json")
        }
        guard layout.capacity == expected.capacity, layout.observationSize == expected.observationSize,
              layout.frames == expected.frames, layout.byteScale == expected.byteScale else {
            throw damaged("holds \(layout.capacity) transitions of \(layout.observationSize) values (\(layout.byteScale == nil ? "float32" : "bytes")) where these settings keep \(expected.capacity) of \(expected.observationSize) (\(expected.byteScale == nil ? "float32" : "bytes"))")
        }
        if let largest = layout.maxPriority, !(largest.isFinite && largest > 0) { throw damaged("has a largest priority \(largest) that is not a positive number") }
        // How the values read as observations is the environment's, whatever the file says.
        (layout.observationScale, layout.oneHotStart, layout.observationShape) = (expected.observationScale, expected.oneHotStart, expected.observationShape)
        let count = layout.count
        guard count >= 0, count <= layout.capacity, layout.position >= 0, layout.position < layout.capacity,
              count == layout.capacity || layout.position == count else {
            throw damaged("has counts (count \(count), position \(layout.position)) that do not fit its capacity \(layout.capacity)")
        }
        func data(_ name: String, bytesPerValue: Int, values: Int) throws -> Data {
            guard let d = try ModelDirectory.readOwnFile(name, in: directory, atMost: values * bytesPerValue + 65_600) else {
                throw damaged("lacks \(name)")
            }
            return d
        }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func check(_ name: String, _ shape: [Int], _ want: [Int]) throws {
            guard shape == want else { throw damaged("has \(name) of shape \(shape) where \(want) belongs") }
        }
        let parts = layout.frames, frameSize = layout.observationSize / max(1, parts)
        var snapshot = ReplaySnapshot(layout: layout, frameIDs: [], actions: [], rewards: [], discounts: [])
        // At most two new frames per part and slot.
        let maxFrames = 2 * parts * max(count, 1)
        do {
            if layout.byteScale == nil {
                let t = try NumPyFile.decode(try data("replay.frames.npy", bytesPerValue: 8, values: maxFrames * frameSize), path: path("replay.frames.npy"))
                guard t.shape.count == 2, t.shape[1] == frameSize else { throw damaged("has frames of shape \(t.shape)") }
                snapshot.floatFrames = t.scalars
            } else {
                let (shape, bytes) = try NumPyFile.decodeBytes(try data("replay.frames.npy", bytesPerValue: 1, values: maxFrames * frameSize), path: path("replay.frames.npy"))
                guard shape.count == 2, shape[1] == frameSize else { throw damaged("has frames of shape \(shape)") }
                snapshot.byteFrames = bytes
            }
            let ids = try NumPyFile.decodeIntegers(try data("replay.frame_ids.npy", bytesPerValue: 4, values: count * 2 * parts), path: path("replay.frame_ids.npy"))
            try check("replay.frame_ids.npy", ids.shape, [count, 2, parts])
            let frameCount = snapshot.frameCount
            guard ids.bits == 32, ids.values.allSatisfy({ $0 >= 0 && Int($0) < frameCount }) else {
                throw damaged("names frames past its \(frameCount)")
            }
            snapshot.frameIDs = ids.values
            let actions = try NumPyFile.decodeIntegers(try data("replay.actions.npy", bytesPerValue: 4, values: count), path: path("replay.actions.npy"))
            try check("replay.actions.npy", actions.shape, [count])
            guard actions.values.allSatisfy({ $0 >= 0 && Int($0) < actionCount }) else {
                throw damaged("holds actions outside the environment's \(actionCount)")
            }
            snapshot.actions = actions.values
            for name in ["replay.rewards.npy", "replay.discounts.npy"] {
                let t = try NumPyFile.decode(try data(name, bytesPerValue: 8, values: count), path: path(name))
                try check(name, t.shape, [count])
                guard t.scalars.allSatisfy(\.isFinite) else { throw damaged("holds values in \(name) that are not finite") }
                if name == "replay.rewards.npy" { snapshot.rewards = t.scalars } else { snapshot.discounts = t.scalars }
            }
            if prioritized {
                if let p = try ModelDirectory.readOwnFile("replay.priorities.npy", in: directory, atMost: count * 8 + 65_600) {
                    let (shape, values) = try NumPyFile.decodeDoubles(p, path: path("replay.priorities.npy"))
                    try check("replay.priorities.npy", shape, [count])
                    guard values.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw damaged("holds priorities that are not finite and non-negative") }
                    snapshot.priorities = values
                }
            }
        } catch let e as CheckpointError {
            throw damaged("does not read (\(e.description.hasSuffix(".") ? String(e.description.dropLast()) : e.description))")
        }
        return snapshot
    }
}

extension ReplayBuffer {
    /// The stored transitions, slot by slot, with the frames they use renumbered in order of first use.
    public func snapshot(observationShape: [Int], observationScale: Float, oneHotStart: Int?,
                         priorities sampler: PrioritizedSampler? = nil) -> ReplaySnapshot {
        let used = Array(frameIDs[0..<(count * 2 * frames)])
        let layout = ReplaySnapshot.Layout(count: count, position: position, capacity: capacity, observationSize: observationSize,
                                           frames: frames, byteScale: byteScale, maxPriority: sampler?.largestPriority,
                                           observationScale: observationScale, oneHotStart: oneHotStart, observationShape: observationShape)
        var snapshot = ReplaySnapshot(layout: layout, frameIDs: [], actions: Array(actions[0..<count]),
                                      rewards: Array(rewards[0..<count]), discounts: Array(bootstrap[0..<count]))
        if let store = floatFrames {
            (snapshot.floatFrames, snapshot.frameIDs) = store.exported(used)
        } else if let store = byteFrames {
            (snapshot.byteFrames, snapshot.frameIDs) = store.exported(used)
        }
        if let sampler { snapshot.priorities = (0..<count).map { sampler.tree[$0] } }
        return snapshot
    }

    /// A buffer holding `snapshot`'s transitions in the same slots (so a resumed run draws the same
    /// transitions for the same random numbers), for `lookahead` as `init(capacity:…)` takes it.
    public init(restoring snapshot: ReplaySnapshot, lookahead: Int) {
        let layout = snapshot.layout
        self.init(capacity: layout.capacity, observationSize: layout.observationSize, byteScale: layout.byteScale,
                  frames: layout.frames, lookahead: lookahead)
        let used = snapshot.layout.count * 2 * frames
        frameIDs.replaceSubrange(0..<used, with: snapshot.frameIDs)
        actions.replaceSubrange(0..<layout.count, with: snapshot.actions)
        rewards.replaceSubrange(0..<layout.count, with: snapshot.rewards)
        bootstrap.replaceSubrange(0..<layout.count, with: snapshot.discounts)
        count = layout.count
        position = layout.position
        // The frames of the most recently stored transitions, in the order they were interned,
        // so new observations share them as they would have.
        var recent: [Int32] = []
        for back in stride(from: min(count, (2 * lookahead + 1)), through: 1, by: -1) {
            let slot = (position - back + capacity) % capacity
            recent += frameIDs[(slot * 2 * frames)..<((slot + 1) * 2 * frames)]
        }
        floatFrames?.restore(frames: snapshot.floatFrames, ids: snapshot.frameIDs, recent: recent)
        byteFrames?.restore(frames: snapshot.byteFrames, ids: snapshot.frameIDs, recent: recent)
    }
}

extension PrioritizedSampler {
    /// Sets the saved priorities of the first slots and the largest priority so far.
    public mutating func restore(priorities: [Double], largest: Double?) {
        for (slot, p) in priorities.enumerated() { tree.update(slot, priority: p) }
        if let largest { largestPriority = largest }
    }
}

extension FrameStore {
    /// The frames `ids` use, in order of first use, and `ids` renumbered into them.
    func exported(_ ids: [Int32]) -> (frames: [Scalar], ids: [Int32]) {
        var renumbered = [Int32](repeating: -1, count: references.count)
        var frames: [Scalar] = [], out: [Int32] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            if renumbered[Int(id)] < 0 {
                renumbered[Int(id)] = Int32(frames.count / frameSize)
                let block = blocks[Int(id) / blockFrames], base = (Int(id) % blockFrames) * frameSize
                frames += block[base..<(base + frameSize)]
            }
            out.append(renumbered[Int(id)])
        }
        return (frames, out)
    }

    /// Holds `frames` (ids 0, 1, …) referenced by `ids`, with `recent` as the sharing window.
    mutating func restore(frames: [Scalar], ids: [Int32], recent window: [Int32]) {
        let total = frames.count / frameSize
        blocks = []
        references = [Int32](repeating: 0, count: total)
        for id in ids { references[Int(id)] += 1 }
        var b = 0
        while b * blockFrames < total {
            var block = [Scalar](repeating: .zero, count: blockFrames * frameSize)
            let first = b * blockFrames, last = min(total, first + blockFrames)
            block.replaceSubrange(0..<((last - first) * frameSize), with: frames[(first * frameSize)..<(last * frameSize)])
            blocks.append(block)
            b += 1
        }
        freeIDs = (0..<total).filter { references[$0] == 0 }.map { Int32($0) }.reversed()
        liveFrames = total - freeIDs.count
        recent = Array(window.suffix(self.window * parts))
    }
}
