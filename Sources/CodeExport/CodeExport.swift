import Checkpoint
import Foundation
import NN

/// Exports a saved model as code: C (`NAME.h`, `NAME.c` in a directory) or Swift (one file).
public enum CodeExport {
    /// The languages code is exported in.
    public enum Language: String, CaseIterable, Sendable {
        case c, swift
    }

    /// Reads the model in `model` and writes it as `language` code to `output` (a directory for
    /// C, a file for Swift); `name` defaults to the model directory's name made an identifier.
    /// Returns the paths written.
    @discardableResult
    public static func export(model: URL, language: Language, output: URL, name: String?, force: Bool) throws -> [URL] {
        if try ModelDirectory.readManifest(model).quantization != nil {
            return try exportInt8(model: model, language: language, output: output, name: name, force: force)
        }
        let (network, manifest) = try ModelDirectory.load(from: model)

        let scale: Float
        if case .number(let s)? = manifest.config["observation_scale"] { scale = Float(s) } else { scale = 1 }
        let plan = try ExportPlan(network: network, name: name ?? defaultName(for: model), observationScale: scale,
                                  source: model.standardizedFileURL.lastPathComponent + "/model.json")
        switch language {
        case .c:
            let files = CSource.files(plan)
            try CodeWriter.writeDirectory(files, to: output, force: force)
            return files.map { output.appendingPathComponent($0.name) }
        case .swift:
            try CodeWriter.writeFile(SwiftSource.file(plan), to: output, force: force)
            return [output]
        }
    }

    /// An int8 model as C (integer arithmetic, no library) or Swift.
    static func exportInt8(model: URL, language: Language, output: URL, name: String?, force: Bool) throws -> [URL] {
        let (network, manifest) = try Int8Directory.load(from: model)
        let scale: Float
        if case .number(let s)? = manifest.config["observation_scale"] { scale = Float(s) } else { scale = 1 }
        let source = model.standardizedFileURL.lastPathComponent + "/model.json"
        switch language {
        case .c:
            let files = try Int8CSource.files(network, name: name ?? defaultName(for: model), observationScale: scale, source: source)
            try CodeWriter.writeDirectory(files, to: output, force: force)
            return files.map { output.appendingPathComponent($0.name) }
        case .swift:
            try CodeWriter.writeFile(try Int8SwiftSource.file(network, name: name ?? defaultName(for: model), observationScale: scale,
                                                              source: source), to: output, force: force)
            return [output]
        }
    }

    /// `runs/cartpole-student` → `cartpole_student`: the directory's name with every character
    /// that cannot be in an identifier as `_` (and `_` before a leading digit).
    public static func defaultName(for model: URL) -> String {
        var name = String(model.standardizedFileURL.lastPathComponent.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        if name.first?.isNumber ?? true { name = "_" + name }
        return ExportPlan.keywords.contains(name) ? name + "_policy" : name
    }
}
