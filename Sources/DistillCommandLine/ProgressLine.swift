import Runs
import Foundation

/// A live progress line on a terminal (rewritten in place) and plain periodic lines otherwise.
final class ProgressLine {
    /// What one line shows.
    struct Snapshot {
        var step: Int
        var totalSteps: Int
        var stepsPerSecond: Double
        var details: String
        /// False until the rate has been measured long enough to mean something.
        var rateIsMeaningful = true
    }

    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private var lastPlainFraction = -1
    private var lastDraw = Date.distantPast

    /// A run's progress with `details` (the algorithm's figures, as the command words them).
    func update(_ p: RunProgress, details: String) {
        update(Snapshot(step: p.step, totalSteps: p.totalSteps, stepsPerSecond: p.stepsPerSecond, details: details,
                        rateIsMeaningful: p.sessionSeconds >= 1 || p.step == p.totalSteps))
    }

    func update(_ s: Snapshot) {
        let fraction = Double(s.step) / Double(max(s.totalSteps, 1))
        let eta = s.stepsPerSecond > 0 ? Double(s.totalSteps - s.step) / s.stepsPerSecond : 0
        let rate = s.rateIsMeaningful ? String(format: "%6.0f steps/s", s.stepsPerSecond) : "     … steps/s"
        let text = String(format: "step %ld/%ld (%3.0f%%)  ", s.step, s.totalSteps, fraction * 100) + rate + "  "
            + s.details + "  ETA " + (s.rateIsMeaningful ? Self.duration(eta) : "…")
        if isTerminal {
            guard Date().timeIntervalSince(lastDraw) > 0.1 || s.step == s.totalSteps else { return }
            lastDraw = Date()
            FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + text).utf8))
        } else {
            let tenth = Int(fraction * 10)
            guard tenth > lastPlainFraction else { return }
            lastPlainFraction = tenth
            print(text)
        }
    }

    /// Prints a full line without breaking the live line.
    func message(_ s: String) {
        if isTerminal { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
        print(s)
    }

    func finish() {
        if isTerminal { print("") }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60) : String(format: "%ld:%02ld", s / 60, s % 60)
    }
}
