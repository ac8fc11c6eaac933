import DQN
import Foundation

/// A live progress line on a terminal (rewritten in place) and plain periodic lines otherwise.
final class ProgressLine {
    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private var lastPlainFraction = -1
    private var lastDraw = Date.distantPast

    func update(_ p: TrainingProgress) {
        let fraction = Double(p.step) / Double(max(p.totalSteps, 1))
        let rate = p.stepsPerSecond
        let eta = rate > 0 ? Double(p.totalSteps - p.step) / rate : 0
        var text = String(format: "step %d/%d (%3.0f%%)  %6.0f steps/s  ε %.3f", p.step, p.totalSteps, fraction * 100, rate, p.epsilon)
        if let r = p.recentMeanReturn { text += String(format: "  return(100) %.1f", r) }
        if let l = p.loss { text += String(format: "  loss %.4f", l) }
        text += "  ETA \(Self.duration(eta))"
        if isTerminal {
            guard Date().timeIntervalSince(lastDraw) > 0.1 || p.step == p.totalSteps else { return }
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
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
