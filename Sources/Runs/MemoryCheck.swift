import Foundation
import Settings

/// Sizes checked before allocating: a product that overflows, or more memory than the machine
/// has available, becomes a sentence about the setting instead of a crash in the allocator.
public enum MemoryCheck {
    /// The product of `factors` in bytes, or nil when it overflows.
    public static func bytes(_ factors: [Int]) -> Int? {
        var total = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (p, overflow) = total.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            total = p
        }
        return total
    }

    /// MemAvailable from /proc/meminfo (nil where unknown).
    public static var availableBytes: Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    /// Throws a `SettingError` for `key` when `bytes` (nil: overflowed) cannot fit in memory.
    public static func require(_ bytes: Int?, for what: String, key: String, value: CustomStringConvertible) throws {
        let available = availableBytes ?? Int.max
        guard let bytes, bytes <= available else {
            let need = bytes.map { String(format: "%.1f GB", Double($0) / 1e9) } ?? "more memory than can be addressed"
            let have = availableBytes.map { String(format: "%.1f GB", Double($0) / 1e9) } ?? "what is available"
            throw SettingError(key: key, template: "{\(key)} \(value) needs \(need) for \(what), more than the \(have) this machine has available; lower it.")
        }
    }
}
