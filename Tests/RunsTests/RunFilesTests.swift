import Checkpoint
import Environments
import Foundation
import Runs
import Testing

/// `--force` deletes exactly what a run wrote: a user's file anywhere in the run directory (or
/// a run's file whose bytes were changed) stops it before anything is removed.
@Suite struct RunFilesTests {
    /// A finished toy run (best model saved in place several times, last/, metrics, tensorboard/).
    func finishedRun() throws -> RunDirectory {
        let dir = temporaryRunDirectory()
        try dir.prepareNew(force: false)
        var algorithm = ToyAlgorithm()
        _ = try RunLoop(directory: dir, environment: "Corridor-6").run(&algorithm, evalEnv: Corridor())
        return dir
    }

    func write(_ text: String, _ path: String, in dir: RunDirectory) throws {
        let url = dir.url.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func snapshot(_ dir: RunDirectory) -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: dir.url.path)
        while let path = enumerator?.nextObject() as? String {
            if let data = FileManager.default.contents(atPath: dir.url.appendingPathComponent(path).path) { files[path] = data }
        }
        return files
    }

    @Test(arguments: ["tensorboard/mine.txt", "last/mine.txt", "layers.0.weight.g9.npy", "notes/deep/x.txt", "CHANGED"])
    func aForeignFileAnywhereStopsForce(_ path: String) throws {
        let dir = try finishedRun()
        var foreign = path
        if path == "CHANGED" {
            // A file the manifest names, with bytes the run did not write.
            foreign = try ModelDirectory.readManifest(dir.url).tensors[0].file
            try write("not the run's", foreign, in: dir)
        } else {
            try write("mine", path, in: dir)
        }
        let before = snapshot(dir)
        #expect { try dir.prepareNew(force: true) } throws: {
            ($0 as? RunError)?.description.contains("did not write (\(foreign.split(separator: "/").count > 2 ? "notes" : foreign))") ?? false
        }
        #expect(snapshot(dir) == before, "nothing was deleted")
    }

    @Test func leftoversOfKilledSavesAreTheRunsAndGoWithIt() throws {
        let dir = try finishedRun()
        let manifest = try ModelDirectory.readManifest(dir.url)
        let next = (manifest.generation ?? 0) + 1
        // What a save killed between its tensor files and its manifest leaves: the next generation's
        // files, a half-written manifest, and a staging copy of last/.
        try write("partial", "layers.0.weight.g\(next).npy", in: dir)
        try write("{", ".model.json.saving-1a2b3c4d", in: dir)
        try write("partial", ".last.saving-0f0f0f0f/layers.0.weight.npy", in: dir)
        try dir.prepareNew(force: true)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0 != ".lock" }
        #expect(left.isEmpty, "\(left)")
    }

    @Test func aRunsOwnSavesKeepAUsersFileOfTensorShape() throws {
        let dir = temporaryRunDirectory()
        try dir.prepareNew(force: false)
        try write("mine", "layers.0.weight.g9.npy", in: dir)
        var algorithm = ToyAlgorithm()
        _ = try RunLoop(directory: dir, environment: "Corridor-6").run(&algorithm, evalEnv: Corridor())
        #expect(try ModelDirectory.readManifest(dir.url).generation ?? 0 > 0, "the best model was replaced in place")
        #expect(FileManager.default.contents(atPath: dir.url.appendingPathComponent("layers.0.weight.g9.npy").path) == Data("mine".utf8))
    }

    @Test func aLockThatCannotBeOpenedIsNotCalledAnotherRun() throws {
        // .lock is a directory here, so it cannot be opened for writing (as in a read-only
        // directory): the sentence names the cause, not a second writer.
        let dir = temporaryRunDirectory()
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent(".lock"), withIntermediateDirectories: true)
        #expect { _ = try dir.lock() } throws: { error in
            let text = "\(error)"
            return error is CheckpointError && text.contains("it is a directory") && !text.contains("Another run")
        }
    }
}
