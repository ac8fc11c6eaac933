import Foundation

/// Appends rows to a CSV file with a fixed header, flushing each row so a crash loses nothing
/// already reported. Opening an existing file with the same header appends to it (resume).
public final class MetricsLog {
    public let url: URL
    public let columns: [String]
    private let handle: FileHandle

    public init(url: URL, columns: [String]) throws {
        self.url = url
        self.columns = columns
        let header = columns.joined(separator: ",") + "\n"
        if let existing = try? String(contentsOf: url, encoding: .utf8), existing.hasPrefix(header) {
            // keep it and append
        } else {
            try DurableFiles.writeBytes(Data(header.utf8), to: url)
        }
        guard let h = FileHandle(forWritingAtPath: url.path) else {
            throw CheckpointError.writeFailed(url.path, detail: "cannot open the file for writing")
        }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    /// Writes one row; missing columns are left empty.
    public func append(_ values: [String: String]) {
        let row = columns.map { csvField(values[$0] ?? "") }.joined(separator: ",") + "\n"
        handle.write(Data(row.utf8))
    }

    private func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
