import Checkpoint
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes exported code whole or not at all: the files go into a staging directory (or a
/// staging file) beside the target, which is then renamed into place in one step.
public enum CodeWriter {
    /// Writes `files` as the directory `target`. An existing target is replaced only with
    /// `force`, and only when it holds nothing but files of these names.
    public static func writeDirectory(_ files: [(name: String, text: String)], to target: URL, force: Bool) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fm.fileExists(atPath: target.path, isDirectory: &isDirectory)
        if exists {
            guard force else { throw CodeExportError.outputExists(target.path, detail: "exists; choose another --output or add --force") }
            let names = Set(files.map(\.name))
            let held = isDirectory.boolValue ? ((try? fm.contentsOfDirectory(atPath: target.path)) ?? []) : [target.lastPathComponent]
            guard isDirectory.boolValue, held.allSatisfy(names.contains) else {
                throw CodeExportError.outputExists(target.path, detail: "holds other files than \(names.sorted().joined(separator: " and ")); --force only replaces an export, so choose another --output")
            }
        }
        let parent = target.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(target.lastPathComponent).saving-\(UUID().uuidString.prefix(8))")
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw CodeExportError.writeFailed(target.path, detail: reason(error))
        }
        defer { try? fm.removeItem(at: staging) }
        for file in files {
            do { try Data(file.text.utf8).write(to: staging.appendingPathComponent(file.name)) } catch {
                throw CodeExportError.writeFailed(staging.appendingPathComponent(file.name).path, detail: reason(error))
            }
        }
        if exists { try? fm.removeItem(at: target) }
        guard rename(staging.path, target.path) == 0 else {
            throw CodeExportError.writeFailed(target.path, detail: String(cString: strerror(errno)))
        }
    }

    /// Writes one file at `target` (replaced only with `force`).
    public static func writeFile(_ text: String, to target: URL, force: Bool) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: target.path, isDirectory: &isDirectory) {
            guard force, !isDirectory.boolValue else {
                throw CodeExportError.outputExists(target.path, detail: isDirectory.boolValue ? "is a directory; give a file name such as Policy.swift" : "exists; choose another --output or add --force")
            }
        }
        let staging = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).saving-\(UUID().uuidString.prefix(8))")
        do {
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: staging)
        } catch {
            throw CodeExportError.writeFailed(target.path, detail: reason(error))
        }
        guard rename(staging.path, target.path) == 0 else {
            let detail = String(cString: strerror(errno))
            try? fm.removeItem(at: staging)
            throw CodeExportError.writeFailed(target.path, detail: detail)
        }
    }

    private static func reason(_ error: Error) -> String { FileProblem.sentence(error) }
}
