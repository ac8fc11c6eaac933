import Foundation

/// TensorBoard event files beside metrics.csv, so `tensorboard --logdir runs` plots a run as it
/// does an SB3 run (`tensorboard_log=`): scalars under SB3's tags — `rollout/ep_rew_mean` (mean of
/// the last 100 episodes), `rollout/ep_len_mean`, `rollout/exploration_rate`, `eval/mean_reward`,
/// `eval/mean_ep_length`, `train/<value>` for the algorithm's figures (`train/loss`, `train/kl`,
/// …) and `time/fps`.
///
/// The format is TFRecord framing of `Event` protocol buffers (written by hand: no TensorFlow or
/// protobuf library): each record is its length (u64), the length's masked CRC-32C, the bytes,
/// and their masked CRC-32C. A resumed run adds a new file; TensorBoard reads them in order.
final class TensorBoardLog {
    private let handle: FileHandle?
    private var returns: [Double] = [], lengths: [Double] = []

    /// Opens a new event file in `directory/tensorboard/`.
    init(directory: URL) {
        let folder = directory.appendingPathComponent(Self.folderName)
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        let name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host).\(getpid()).\(Self.counter.next())"
        let url = folder.appendingPathComponent(name)
        handle = FileManager.default.createFile(atPath: url.path, contents: nil) ? FileHandle(forWritingAtPath: url.path) : nil
        write(Self.event(step: 0, fileVersion: "brain.Event:2"))
    }

    deinit { try? handle?.close() }

    static let folderName = "tensorboard"

    func episode(_ e: EpisodeRecord) {
        returns.append(e.episodeReturn)
        lengths.append(Double(e.length))
        if returns.count > 100 { returns.removeFirst(); lengths.removeFirst() }
        var values = ["rollout/ep_rew_mean": returns.reduce(0, +) / Double(returns.count),
                      "rollout/ep_len_mean": lengths.reduce(0, +) / Double(lengths.count)]
        if let epsilon = e.values["epsilon"] { values["rollout/exploration_rate"] = epsilon }
        scalars(values, step: e.step)
    }

    func evaluation(step: Int, result: EvaluationResult) {
        scalars(["eval/mean_reward": result.mean,
                 "eval/mean_ep_length": Double(result.lengths.reduce(0, +)) / Double(max(result.lengths.count, 1))], step: step)
    }

    func progress(_ p: RunProgress) {
        var values = ["time/fps": p.stepsPerSecond]
        for (key, value) in p.values where key != "epsilon" && value.isFinite { values["train/\(key)"] = value }
        scalars(values, step: p.step)
    }

    private func scalars(_ values: [String: Double], step: Int) {
        write(Self.event(step: step, scalars: values.sorted { $0.key < $1.key }.map { ($0.key, Float($0.value)) }))
    }

    private func write(_ event: [UInt8]) {
        handle?.write(Data(Self.record(event)))
    }

    // MARK: Encoding

    /// One Event message: wall_time (1, double), step (2, int64), file_version (3) or a Summary
    /// (5) of Values with tag (1) and simple_value (2, float).
    static func event(step: Int, fileVersion: String? = nil, scalars: [(String, Float)] = [],
                      wallTime: Double = Date().timeIntervalSince1970) -> [UInt8] {
        var out: [UInt8] = []
        out.append(0x09)  // field 1, 64-bit
        out += withUnsafeBytes(of: wallTime.bitPattern.littleEndian, Array.init)
        out.append(0x10)  // field 2, varint
        out += varint(UInt64(bitPattern: Int64(step)))
        if let fileVersion { out += lengthDelimited(field: 3, Array(fileVersion.utf8)) }
        if !scalars.isEmpty {
            var summary: [UInt8] = []
            for (tag, value) in scalars {
                var v = lengthDelimited(field: 1, Array(tag.utf8))
                v.append(0x15)  // field 2, 32-bit
                v += withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
                summary += lengthDelimited(field: 1, v)
            }
            out += lengthDelimited(field: 5, summary)
        }
        return out
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value, out: [UInt8] = []
        repeat {
            var byte = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { byte |= 0x80 }
            out.append(byte)
        } while v != 0
        return out
    }

    static func lengthDelimited(field: Int, _ bytes: [UInt8]) -> [UInt8] {
        [UInt8(field << 3 | 2)] + varint(UInt64(bytes.count)) + bytes
    }

    /// TFRecord framing: length, masked CRC of the length, data, masked CRC of the data.
    static func record(_ data: [UInt8]) -> [UInt8] {
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian, Array.init)
        return length + withUnsafeBytes(of: maskedCRC(length).littleEndian, Array.init)
            + data + withUnsafeBytes(of: maskedCRC(data).littleEndian, Array.init)
    }

    static func maskedCRC(_ bytes: [UInt8]) -> UInt32 {
        let crc = crc32c(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282EAD8
    }

    /// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
    static func crc32c(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// Distinguishes files opened within one second by one process.
    private static let counter = Counter()
    final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
}
