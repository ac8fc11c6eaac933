import Foundation
import NN

/// A multi-task model on disk, inside a run directory: `tasks/NAME/` is task NAME's network
/// (its input layer, the shared trunk, its head) as an ordinary model directory, so every tool
/// that runs a model runs one task; `tasks/tasks.json` lists the tasks. The whole `tasks/` is
/// written beside the old one and exchanged with it in one atomic rename.
public enum MultiTaskDirectory {
    public static let folderName = "tasks"
    public static let indexName = "tasks.json"

    /// `tasks/tasks.json`.
    public struct Index: Codable, Equatable, Sendable {
        public struct Task: Codable, Equatable, Sendable {
            public var name: String
            public var directory: String
            public var environment: String?
            public var environmentArguments: [String: String]?
            public var inputSize: Int
            public var outputSize: Int
            /// Parameters of this task's network (shared trunk included).
            public var parameters: Int
        }
        public var formatVersion: Int
        public var tasks: [Task]
        public var hiddenSizes: [Int]
        /// Every parameter of the multi-task student once, shared ones counted once.
        public var sharedParameters: Int
        public var metrics: [String: JSONValue]
    }

    /// What to save with each task: its name, environment, and manifest metrics.
    public struct TaskRecord: Sendable {
        public var name: String
        public var environment: String
        public var environmentArguments: [String: String]
        public var environmentWrappers: [ModelManifest.Wrapper]
        public var metrics: [String: JSONValue]
        public init(name: String, environment: String, environmentArguments: [String: String],
                    environmentWrappers: [ModelManifest.Wrapper] = [], metrics: [String: JSONValue]) {
            self.name = name
            self.environment = environment
            self.environmentArguments = environmentArguments
            self.environmentWrappers = environmentWrappers
            self.metrics = metrics
        }
    }

    /// Saves `network` into `run/tasks` (a crash at any instant leaves the old or the new set).
    public static func save(_ network: MultiTaskNetwork, tasks: [TaskRecord], config: [String: JSONValue],
                            metrics: [String: JSONValue], in run: URL) throws {
        precondition(tasks.count == network.taskCount, "one record per task")
        let target = run.appendingPathComponent(folderName)
        ModelDirectory.removeLeftovers(of: target)
        let staging = run.appendingPathComponent(".\(folderName).saving-\(UUID().uuidString.prefix(8))")
        let fm = FileManager.default
        do { try fm.createDirectory(at: staging, withIntermediateDirectories: true) } catch {
            throw CheckpointError.writeFailed(target.path, detail: FileProblem.directorySentence(target, error: error))
        }
        defer { try? fm.removeItem(at: staging) }
        var entries: [Index.Task] = []
        for (k, task) in tasks.enumerated() {
            let net = network.network(task: k)
            var taskConfig = config
            taskConfig["task"] = .string(task.name)
            taskConfig["tasks"] = .array(tasks.map { .string($0.name) })
            try ModelDirectory.save(net, to: staging.appendingPathComponent(task.name), environment: task.environment,
                                    environmentArguments: task.environmentArguments, environmentWrappers: task.environmentWrappers,
                                    config: taskConfig,
                                    metrics: task.metrics, replacing: .wholeDirectory)
            entries.append(.init(name: task.name, directory: task.name, environment: task.environment,
                                 environmentArguments: task.environmentArguments.isEmpty ? nil : task.environmentArguments,
                                 inputSize: net.inputSize, outputSize: net.outputSize, parameters: net.parameterCount))
        }
        let index = Index(formatVersion: 1, tasks: entries, hiddenSizes: network.network(task: 0).hiddenSizes,
                          sharedParameters: network.parameterCount, metrics: metrics)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try DurableFiles.write(try encoder.encode(index), to: staging.appendingPathComponent(indexName))
        try DurableFiles.sync(staging)
        if !fm.fileExists(atPath: target.path) {
            try DurableFiles.rename(staging, to: target)
        } else if try !DurableFiles.exchange(staging, target) {
            let old = run.appendingPathComponent(".\(folderName).old-\(UUID().uuidString.prefix(8))")
            try DurableFiles.rename(target, to: old)
            try DurableFiles.rename(staging, to: target)
            try DurableFiles.remove(old)
        }
    }

    /// The index of the multi-task model in `run` (a run directory or its `tasks/`), or nil when there is none.
    public static func index(_ run: URL) -> Index? {
        let folder = run.lastPathComponent == folderName ? run : run.appendingPathComponent(folderName)
        let url = folder.appendingPathComponent(indexName)
        guard (try? ModelDirectory.checkRegularFile(url, atMost: 1 << 20)) != nil,
              let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(Index.self, from: data)
    }
}
