#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT), SIGTERM (what `timeout`, schedulers and cluster managers send) and SIGHUP (a
/// closed terminal) ask a long run to stop after saving a checkpoint; a second signal restores
/// the default action, so it kills the process. The exit status is 128 + the signal, as a shell
/// reports a process killed by it (130, 143, 129).
enum Interrupt {
    nonisolated(unsafe) private static var received: sig_atomic_t = 0

    static func install() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { number in
                Interrupt.received = number
                signal(number, SIG_DFL)
            }
        }
    }

    static var isRequested: Bool { received != 0 }

    /// 128 + the signal that stopped the run.
    static var exitCode: Int32 { 128 + Int32(received == 0 ? SIGINT : received) }
}
