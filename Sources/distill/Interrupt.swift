#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C handling for long runs: the first SIGINT asks the loop to stop after saving a
/// checkpoint; a second one restores the default action, so it kills the process.
enum Interrupt {
    nonisolated(unsafe) private static var requested: sig_atomic_t = 0

    static func install() {
        signal(SIGINT) { _ in
            Interrupt.requested = 1
            signal(SIGINT, SIG_DFL)
        }
    }

    static var isRequested: Bool { requested != 0 }
}
