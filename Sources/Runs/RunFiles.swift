import Checkpoint
import Foundation

/// Tells the files a run wrote from anything else in its directory, so `--force` deletes
/// exactly a run's own files and a user's file anywhere inside stops it.
///
/// What a run writes is recorded by the run itself: each model directory's `model.json` names
/// its tensor files with their checksums (a file of that name with other bytes is not the
/// run's), `tasks/tasks.json` names the task directories, and the rest are the fixed names a
/// run gives its logs (`metrics.csv`, `monitor.csv`, `evaluations.npz`, `tensorboard/events.*`)
/// and the staging names of its atomic saves (`.last.saving-…`, `.model.json.saving-…`).
/// Tensor files a killed save left behind are the run's when they carry a name its manifest
/// lists and a generation at most one past the current one.
enum RunFiles {
    /// Relative paths under `directory` that no run wrote, sorted; empty when all of it is a run's.
    static func foreign(in directory: URL) -> [String] {
        var found: [String] = []
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        let model = ModelFiles(directory)
        for name in entries {
            let url = directory.appendingPathComponent(name)
            switch name {
            case ".lock", "metrics.csv", "monitor.csv", "evaluations.npz", ".evaluations.npz.saving",
                 "sb3.json", "episodes.json":  // the last two: what Python's DQN keeps beside its run
                if isDirectory(url) { found.append(name) }
            case TensorBoardLog.folderName:
                found += children(of: url, prefix: name) { $0.hasPrefix("events.out.tfevents.") && !isDirectory(url.appendingPathComponent($0)) }
            case "last", RunDirectory.coTrainedTeacherFolder:
                found += ModelFiles.foreign(inModelDirectory: url, prefix: name)
            case MultiTaskDirectory.folderName:
                found += foreignInTasks(url)
            default:
                if isStaging(name) {
                    found += stagingForeign(url, prefix: name)
                } else if !model.owns(name) || isDirectory(url) {
                    found.append(name)
                }
            }
        }
        return found
    }

    /// The files of a run's top level that a killed save left behind: staging copies and tensor
    /// files no manifest refers to (only those `foreign` counts as the run's).
    static func leftovers(in directory: URL) -> [String] {
        let model = ModelFiles(directory)
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { name in
            isStaging(name) ? stagingForeign(directory.appendingPathComponent(name), prefix: name).isEmpty
                : model.isLeftover(name)
        }
    }

    /// `.last.saving-…`, `.tasks.old-…`, `.model.json.saving-…`: names an atomic save gives the
    /// copy it is writing or the one it is replacing.
    static func isStaging(_ name: String) -> Bool {
        let stems = ["last", RunDirectory.coTrainedTeacherFolder, MultiTaskDirectory.folderName, ModelDirectory.manifestName]
        return stems.contains { name.hasPrefix(".\($0).saving-") || name.hasPrefix(".\($0).old-") }
    }

    /// A staging copy holds what a model or task directory holds, perhaps half written.
    private static func stagingForeign(_ url: URL, prefix: String) -> [String] {
        guard isDirectory(url) else { return [] }  // .model.json.saving-…: an unfinished manifest
        var found: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted() {
            let child = url.appendingPathComponent(name)
            if isDirectory(child) {
                found += stagingForeign(child, prefix: prefix + "/" + name)
            } else if !(name.hasSuffix(".npy") || name.hasSuffix(".json")) {
                // A save's staging copy holds a model's files: tensors of any name (a checkpoint's
                // adam.m.0.npy, target.0.npy), model.json, state.json, tasks.json.
                found.append(prefix + "/" + name)
            }
        }
        return found
    }

    /// `tasks/`: `tasks.json` and the task directories it lists, each a model directory.
    private static func foreignInTasks(_ url: URL) -> [String] {
        let prefix = MultiTaskDirectory.folderName
        guard isDirectory(url) else { return [prefix] }
        let listed = Set(MultiTaskDirectory.index(url.deletingLastPathComponent())?.tasks.map(\.directory) ?? [])
        var found: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted() {
            if name == MultiTaskDirectory.indexName { continue }
            let child = url.appendingPathComponent(name)
            if listed.contains(name) || listed.contains(prefix + "/" + name) {
                found += ModelFiles.foreign(inModelDirectory: child, prefix: prefix + "/" + name)
            } else {
                found.append(prefix + "/" + name)
            }
        }
        return found
    }

    private static func children(of url: URL, prefix: String, own: (String) -> Bool) -> [String] {
        guard isDirectory(url) else { return [prefix] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted().filter { !own($0) }.map { prefix + "/" + $0 }
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }
}

/// The files one model directory's manifest accounts for.
struct ModelFiles {
    /// Tensor file name → checksum recorded for it (nil when none was recorded).
    private var listed: [String: String?] = [:]
    private var tensorNames: Set<String> = []
    private var generation = 0
    private let directory: URL
    private let hasManifest: Bool

    init(_ directory: URL) {
        self.directory = directory
        let manifest = try? ModelDirectory.readManifest(directory)
        hasManifest = manifest != nil
        for entry in manifest?.tensors ?? [] {
            listed[entry.file] = entry.checksum
            tensorNames.insert(entry.name)
        }
        generation = manifest?.generation ?? 0
    }

    /// True for the manifest, the files it lists (with the bytes it recorded) and the run's leftovers.
    func owns(_ name: String) -> Bool {
        if name == ModelDirectory.manifestName { return hasManifest }
        if let checksum = listed[name] {
            guard let checksum else { return ModelDirectory.isTensorFileName(name) }
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else { return false }
            return ModelDirectory.fnv1a(data) == checksum
        }
        return isLeftover(name)
    }

    /// A tensor file of a name the manifest lists, of a generation no later than the next one,
    /// that the manifest does not refer to: what a save killed before or after its manifest's
    /// replacement leaves.
    func isLeftover(_ name: String) -> Bool {
        listed[name] == nil && ModelDirectory.isTensorFile(name, ofNames: tensorNames, generationAtMost: generation + 1)
    }

    /// Relative paths in a whole model directory (last/, teacher/, tasks/NAME) that it does not account for.
    static func foreign(inModelDirectory url: URL, prefix: String) -> [String] {
        guard RunFiles.isDirectory(url) else { return [prefix] }
        let model = ModelFiles(url)
        return ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted().filter { name in
            let isFile = !RunFiles.isDirectory(url.appendingPathComponent(name))
            // A checkpoint's own files beside its model: its state and, when kept, its replay buffer.
            return !(isFile && (model.owns(name) || (ModelDirectory.checkpointFileNames.contains(name) && model.hasManifest)))
        }.map { prefix + "/" + $0 }
    }
}
