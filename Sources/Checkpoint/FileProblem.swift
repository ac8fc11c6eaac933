import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Words a failed file operation as what happened and what to do, from its errno: a full disk,
/// a read-only or forbidden directory, a path through a regular file. Foundation's own text
/// ("The operation could not be completed. (NSCocoaErrorDomain error 512.)") says neither.
public enum FileProblem {
    /// The sentence fragment for an errno value.
    public static func sentence(errno code: Int32) -> String {
        switch code {
        case ENOSPC, EDQUOT: return "the disk is full; free some space or write somewhere else"
        case EROFS: return "the file system is read-only; choose a directory on a writable disk"
        case EACCES, EPERM: return "permission denied; choose a directory you can write to"
        case ENOTDIR: return "part of the path is a regular file, not a directory; choose another path"
        case ENOENT: return "a directory on the path does not exist"
        case EEXIST: return "something of that name is already there"
        case EISDIR: return "it is a directory"
        case ENAMETOOLONG: return "the name is too long"
        default: return String(cString: strerror(code)) + "; check the path and the disk"
        }
    }

    /// The sentence fragment for an error Foundation or the C library reported.
    public static func sentence(_ error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return sentence(errno: Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return sentence(errno: Int32(underlying.code))
        }
        switch ns.code {
        case NSFileWriteOutOfSpaceError: return sentence(errno: ENOSPC)
        case NSFileWriteVolumeReadOnlyError: return sentence(errno: EROFS)
        case NSFileWriteNoPermissionError: return sentence(errno: EACCES)
        default: return ns.localizedFailureReason ?? ns.localizedDescription
        }
    }

    /// Why a path cannot be made into a directory, found by walking it: the first component that
    /// exists but is not a directory, or the errno of creating it.
    public static func directorySentence(_ url: URL, error: Error) -> String {
        var partial = URL(fileURLWithPath: "/")
        for component in url.standardizedFileURL.pathComponents.dropFirst() {
            partial.appendPathComponent(component)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: partial.path, isDirectory: &isDir), !isDir.boolValue {
                return "\(partial.path) is a regular file, not a directory; choose another path"
            }
        }
        return sentence(error)
    }
}
