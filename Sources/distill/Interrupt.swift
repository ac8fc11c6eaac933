#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT) and SIGTERM (what `timeout`, schedulers and cluster managers send) ask a
/// long run to stop after saving a checkpoint; a second signal restores the default action, so
/// it kills the process.
enum Interrupt {
    nonisolated(unsafe) private static var requested: sig_atomic_t = 0

    static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { received in
                Interrupt.requested = 1
                signal(received, SIG_DFL)
            }
        }
    }

    static var isRequested: Bool { requested != 0 }
}
