import CFileSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// File operations that survive a crash: data reaches the disk (fsync) before a rename makes
/// it visible, and renames are made durable by syncing their directory.
enum DurableFiles {
    /// Writes `data` to `url` and fsyncs it.
    static func write(_ data: Data, to url: URL) throws {
        FaultInjection.step()
        try writeBytes(data, to: url)
        try sync(url)
    }

    /// open/write/close with the errno of whatever failed, worded (a full disk, a read-only directory).
    static func writeBytes(_ data: Data, to url: URL) throws {
        let descriptor = open(url.path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CheckpointError.writeFailed(url.path, detail: FileProblem.sentence(errno: errno)) }
        defer { close(descriptor) }
        let failure: Int32? = data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
        if let failure { throw CheckpointError.writeFailed(url.path, detail: FileProblem.sentence(errno: failure)) }
    }

    /// fsync of a file or directory.
    static func sync(_ url: URL) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw CheckpointError.writeFailed(url.path, detail: "cannot open it to sync")
        }
        defer { try? handle.close() }
        do { try handle.synchronize() } catch {
            throw CheckpointError.writeFailed(url.path, detail: FileProblem.sentence(error))
        }
    }

    /// rename(2), then a sync of the destination's directory.
    static func rename(_ from: URL, to: URL) throws {
        FaultInjection.step()
        guard Glibc.rename(from.path, to.path) == 0 else {
            throw CheckpointError.writeFailed(to.path, detail: FileProblem.sentence(errno: errno))
        }
        try sync(to.deletingLastPathComponent())
    }

    /// Atomically swaps two directories (or files); false where the filesystem cannot.
    static func exchange(_ a: URL, _ b: URL) throws -> Bool {
        FaultInjection.step()
        guard sd_exchange_paths(a.path, b.path) == 0 else { return false }
        try sync(b.deletingLastPathComponent())
        return true
    }

    /// Removes a file or directory tree (best effort: a leftover is cleaned by the next save).
    static func remove(_ url: URL) throws {
        FaultInjection.step()
        try? FileManager.default.removeItem(at: url)
    }
}

/// A test-only crash switch: with `SWIFT_DISTILL_CRASH_AFTER=k` in the environment, the process
/// kills itself (SIGKILL, as a power cut or the OOM killer would) at the k-th file operation of
/// a save, so tests can check that every instant of a save leaves a usable directory.
enum FaultInjection {
    nonisolated(unsafe) private static var remaining: Int? = ProcessInfo.processInfo.environment["SWIFT_DISTILL_CRASH_AFTER"].flatMap { Int($0) }

    static func step() {
        guard let left = remaining else { return }
        if left <= 1 { kill(getpid(), SIGKILL) }
        remaining = left - 1
    }
}
