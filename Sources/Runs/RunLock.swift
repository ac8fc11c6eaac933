import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock (flock) on a file in the run directory, so two runs never write into the
/// same directory at once; the kernel releases it if the process dies.
public final class RunLock {
    private var descriptor: Int32

    /// Why the lock was not taken.
    enum Failure: Error {
        /// Another process holds it.
        case held
        /// The lock file cannot be opened (errno): a read-only or forbidden directory, say.
        case cannotOpen(Int32)
    }

    /// Takes the lock.
    init(_ path: String) throws(Failure) {
        descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotOpen(errno) }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            close(descriptor)
            throw .held
        }
        // The holder's pid, for the sentence a second writer gets.
        _ = ftruncate(descriptor, 0)
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
        try? handle.write(contentsOf: Data("\(getpid())\n".utf8))
    }

    /// Gives the lock up (also done when the lock is freed).
    public func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
