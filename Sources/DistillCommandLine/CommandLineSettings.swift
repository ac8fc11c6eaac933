import Foundation
import ArgumentParser
import Settings

/// A settings table on the command line: every entry is a flag (`--learning-rate 0.001`,
/// `--learning-rate=0.001`, `--double-dqn` / `--no-double-dqn`, repeatable list flags), and
/// `--set key=value` reaches any entry by its config-file key. Errors are worded with flags.
struct CommandLineSettings<Config> {
    let table: SettingsTable<Config>
    /// Put before every flag's name (`student-` for co-distillation's student settings).
    var flagPrefix = ""

    /// `--flag` for a key (or for any other name, its kebab-case).
    func flag(_ key: String) -> String {
        "--" + flagPrefix + (table.entry(key)?.flag ?? key.replacingOccurrences(of: "_", with: "-"))
    }

    /// A setting error as one command-line sentence.
    func wording(_ error: SettingError) -> ValidationError {
        if case .unknownKey(let hint) = error.problem {
            return ValidationError("unknown option '\(error.key)'" + (hint.map { "; did you mean \(flag($0))?" } ?? "; see --help for the settings."))
        }
        return ValidationError(error.worded(flag))
    }

    /// Reads the words ArgumentParser did not recognise as (key, value) pairs, in order.
    /// `otherOptions` are the command's own flags, offered as suggestions for misspellings.
    func parse(_ words: [String], otherOptions: [String] = []) throws -> [(String, SettingValue)] {
        var out: [(String, SettingValue)] = []
        var repeated: [String: [SettingValue]] = [:]
        var i = 0
        func value(for word: String) throws -> String {
            i += 1
            guard i < words.count else { throw ValidationError("\(word) needs a value.") }
            return words[i]
        }
        while i < words.count {
            let word = words[i]
            guard word.hasPrefix("--"), word.count > 2 else {
                throw ValidationError("unexpected argument '\(word)'; settings are given as --name value (see --help).")
            }
            var name = String(word.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if name == "set" {
                let pair = try inline ?? value(for: word)
                guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                    throw ValidationError("--set takes key=value, e.g. --set learning_rate=0.001 (got '\(pair)').")
                }
                name = String(pair[..<eq])
                inline = String(pair[pair.index(after: eq)...])
            }
            var entry = table.entry(name)
            var negated = false
            if entry == nil, name.hasPrefix("no-"), let e = table.entry(String(name.dropFirst(3))), e.kind == .bool {
                entry = e
                negated = true
            }
            guard let entry else {
                let names = table.entries.map(\.flag) + otherOptions
                let hint = table.suggestion(for: name, among: names)
                throw ValidationError("unknown option '--\(flagPrefix)\(name)'" + (hint.map { "; did you mean --\(flagPrefix)\($0)?" } ?? "; see --help for the settings."))
            }
            let v: SettingValue
            if entry.kind == .bool && inline == nil {
                v = .bool(!negated)
            } else {
                v = .string(try inline ?? value(for: word))
            }
            if entry.isRepeatable {
                if repeated[entry.key] == nil { out.append((entry.key, .null)) }
                repeated[entry.key, default: []].append(v)
            } else {
                out.append((entry.key, v))
            }
            i += 1
        }
        return out.map { $0.1 == .null ? ($0.0, .list(repeated[$0.0] ?? [])) : $0 }
    }

    /// Applies parsed pairs to `config` and validates the result; errors are worded with flags.
    func apply(_ pairs: [(String, SettingValue)], to config: inout Config) throws {
        do {
            try table.apply(pairs, to: &config)
            try table.validate(config)
        } catch let e as SettingError {
            throw wording(e)
        }
        for warning in table.warnings(config) {
            FileHandle.standardError.write(Data(("warning: " + warning.worded(flag) + "\n").utf8))
        }
    }

    /// The SETTINGS section of `--help`, with each default as `defaults` has it.
    func help(defaults: Config, note: String) -> String {
        var lines = ["SETTINGS (\(note)):"]
        for e in table.entries {
            var head = "  --" + e.flag
            if e.kind == .bool { head += " / --no-" + e.flag } else { head += " " + (e.choices.isEmpty ? e.kind.placeholder : "<" + e.choices.joined(separator: "|") + ">") }
            let value = e.read(defaults)
            var text = e.help
            if value != .null && value != .list([]) && e.isStored { text += " (default: \(value.kind == .list ? value.commaSeparated : value.description))" }
            if e.key != e.flag.replacingOccurrences(of: "-", with: "_") { text += " [key: \(e.key)]" }
            lines += Self.wrapped(head, text)
        }
        return lines.joined(separator: "\n")
    }

    /// `head` then `text` in a column from 34, wrapped at 79 so ArgumentParser keeps the layout.
    static func wrapped(_ head: String, _ text: String, column: Int = 34, width: Int = 79) -> [String] {
        var lines: [String] = []
        var line = head.count + 2 <= column ? head.padding(toLength: column, withPad: " ", startingAt: 0) : head
        if line.count > column { lines.append(line); line = String(repeating: " ", count: column) }
        var empty = true
        for word in text.split(separator: " ") {
            if !empty && line.count + 1 + word.count > width {
                lines.append(line)
                line = String(repeating: " ", count: column)
                empty = true
            }
            line += (empty ? "" : " ") + word
            empty = false
        }
        lines.append(line)
        return lines
    }
}

extension SettingValue {
    fileprivate enum Shape { case list, other }
    fileprivate var kind: Shape { if case .list = self { return .list }; return .other }
    fileprivate var commaSeparated: String {
        if case .list(let items) = self { return items.map(\.description).joined(separator: ",") }
        return description
    }
}
