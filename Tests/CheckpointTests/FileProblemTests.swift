@testable import Checkpoint
import Foundation
import NN
import Tensor
import Testing

/// File errors say what happened in the user's words: a full disk, a read-only or forbidden
/// directory, a path through a regular file — never Foundation's "NSCocoaErrorDomain error 512".
@Suite struct FileProblemTests {
    @Test func aFullDiskIsNamed() throws {
        // /dev/full accepts the open and fails every write with ENOSPC, as a full disk does.
        #expect { try DurableFiles.writeBytes(Data(count: 64), to: URL(fileURLWithPath: "/dev/full")) } throws: {
            ($0 as? CheckpointError)?.description == "Could not write /dev/full: the disk is full; free some space or write somewhere else."
        }
    }

    @Test func errnoValuesAreWordedAsCauses() {
        #expect(FileProblem.sentence(errno: EROFS).hasPrefix("the file system is read-only"))
        #expect(FileProblem.sentence(errno: EACCES).hasPrefix("permission denied"))
        #expect(FileProblem.sentence(errno: ENOTDIR).hasPrefix("part of the path is a regular file"))
    }

    @Test func aModelSavedUnderARegularFileNamesThatFile() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("fp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        let file = base.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        let network = MLP(inputSize: 2, hiddenSizes: [3], outputSize: 2, seed: 0)
        #expect { try ModelDirectory.save(network, to: file.appendingPathComponent("model")) } throws: {
            let text = ($0 as? CheckpointError)?.description ?? ""
            return text.contains("\(file.path) is a regular file, not a directory") && !text.contains("NSCocoaErrorDomain")
        }
    }

    @Test func nonFiniteWeightsAreNotSaved() throws {
        var network = MLP(inputSize: 2, hiddenSizes: [3], outputSize: 2, seed: 0)
        network.layers[1].bias.scalars[0] = .nan
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nan-\(UUID().uuidString)")
        #expect { try ModelDirectory.save(network, to: directory) } throws: {
            ($0 as? CheckpointError)?.description.contains("holds NaN or infinite values (tensor layers.1.bias)") ?? false
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path), "nothing written")
    }
}
