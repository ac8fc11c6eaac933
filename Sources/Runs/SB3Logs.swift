import Checkpoint
import Foundation

/// Logs in Stable-Baselines3's formats beside metrics.csv, so its tools and rl-zoo's plot
/// scripts read a run: `monitor.csv` (Monitor: one row per episode, `r,l,t`, after a JSON
/// header with `t_start`), and `evaluations.npz` (EvalCallback: `timesteps`, `results`,
/// `ep_lengths`).
final class SB3Logs {
    let directory: URL
    private let monitor: FileHandle?
    private let startTime: Double
    private var timesteps: [Int] = [], results: [[Double]] = [], lengths: [[Int]] = []

    /// Opens (or, when resuming, continues) the logs in `directory`.
    init(directory: URL, environment: String) {
        self.directory = directory
        let url = directory.appendingPathComponent("monitor.csv")
        var start = Date().timeIntervalSince1970
        if let existing = try? String(contentsOf: url, encoding: .utf8), existing.hasPrefix("#"),
           let line = existing.split(separator: "\n").first,
           let header = try? JSONSerialization.jsonObject(with: Data(line.dropFirst().utf8)) as? [String: Any],
           let t = header["t_start"] as? Double {
            start = t
        } else {
            let header = (try? JSONSerialization.data(withJSONObject: ["t_start": start, "env_id": environment], options: [.sortedKeys])) ?? Data("{}".utf8)
            _ = FileManager.default.createFile(atPath: url.path, contents: Data("#".utf8) + header + Data("\nr,l,t\n".utf8))
        }
        startTime = start
        monitor = FileHandle(forWritingAtPath: url.path)
        _ = try? monitor?.seekToEnd()
    }

    deinit { try? monitor?.close() }

    func episode(_ e: EpisodeRecord) {
        let t = Date().timeIntervalSince1970 - startTime
        monitor?.write(Data(String(format: "%.6g,%ld,%.6f\n", e.episodeReturn, e.length, t).utf8))
    }

    /// Adds an evaluation and rewrites evaluations.npz (a temporary file, then a rename).
    func evaluation(step: Int, result: EvaluationResult) {
        timesteps.append(step)
        results.append(result.returns)
        lengths.append(result.lengths)
        let n = timesteps.count, k = results.map(\.count).max() ?? 0
        guard results.allSatisfy({ $0.count == k }) else { return }
        let data = NumPyArchive.encode([
            ("timesteps", .int64(timesteps, shape: [n])),
            ("results", .float64(results.flatMap { $0 }, shape: [n, k])),
            ("ep_lengths", .int64(lengths.flatMap { $0 }, shape: [n, k])),
        ])
        let url = directory.appendingPathComponent("evaluations.npz")
        let temporary = directory.appendingPathComponent(".evaluations.npz.saving")
        if (try? data.write(to: temporary)) != nil { _ = rename(temporary.path, url.path) }
    }
}
