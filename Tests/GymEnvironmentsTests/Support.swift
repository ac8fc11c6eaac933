import Foundation
import PythonBridge

/// Puts Tests/EnvironmentsTests/Fixtures on sys.path once, so `fixture_envs:...` names resolve.
enum Fixtures {
    static let ready: Bool = {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
        guard let sys = try? Python.import("sys"), let path = try? sys.attr("path") else { return false }
        _ = try? path.method("insert", 0, dir)
        return true
    }()
}

/// Resident set size in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields.dropFirst().first ?? "0") ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}
