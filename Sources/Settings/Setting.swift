import Foundation

/// The kind of value a setting holds; front ends use it to parse text and to describe the setting.
public enum SettingKind: String, Sendable {
    case int, float, bool, string, choice
    case intList = "int_list"
    case stringList = "str_list"
    case optionalInt = "optional_int"
    case optionalString = "optional_str"

    /// How help text shows a value of this kind.
    public var placeholder: String {
        switch self {
        case .int, .optionalInt: return "<int>"
        case .float: return "<float>"
        case .bool: return ""
        case .string, .optionalString, .choice: return "<text>"
        case .intList: return "<n,n,…>"
        case .stringList: return "<text>"
        }
    }
}

/// Allowed values of a Float setting, with the words that say so.
public enum FloatRange: Sendable {
    case any, positive, nonNegative
    /// (0, 1]
    case fractionExcludingZero
    /// [0, 1]
    case fraction

    func reason(_ v: Float) -> String? {
        guard v.isFinite else { return "must be a finite number" }
        switch self {
        case .any: return nil
        case .positive: return v > 0 ? nil : "must be positive"
        case .nonNegative: return v >= 0 ? nil : "must be 0 or more"
        case .fractionExcludingZero: return v > 0 && v <= 1 ? nil : "must be in (0, 1]"
        case .fraction: return v >= 0 && v <= 1 ? nil : "must be in [0, 1]"
        }
    }
}

/// One row of a settings table: a name, its kind, help, and how to read, write and check it in
/// a configuration value. Built with the static functions below (`.int`, `.float`, `.choice`, …).
public struct Setting<Config> {
    /// snake_case key: config files, manifests, Python keywords.
    public let key: String
    public let kind: SettingKind
    /// One line for help texts.
    public let help: String
    /// Command-line long name without dashes (usually the key in kebab-case).
    public let flag: String
    /// Other accepted names (old names kept working after a rename).
    public let aliases: [String]
    /// Allowed words of a choice.
    public let choices: [String]
    /// False for conveniences that write other settings (e.g. `task_weight` edits the loss list):
    /// they are accepted everywhere but not written to manifests.
    public let isStored: Bool
    /// A flag that may be repeated, each occurrence adding to the list (e.g. `--teacher`).
    public let isRepeatable: Bool
    /// The current value in `config`.
    public let read: (Config) -> SettingValue
    let write: (inout Config, SettingValue) throws -> Void
    let check: (Config) -> SettingError?

    public init(key: String, kind: SettingKind, help: String, flag: String? = nil, aliases: [String] = [],
                choices: [String] = [], isStored: Bool = true, isRepeatable: Bool = false,
                read: @escaping (Config) -> SettingValue, write: @escaping (inout Config, SettingValue) throws -> Void,
                check: @escaping (Config) -> SettingError? = { _ in nil }) {
        self.key = key
        self.kind = kind
        self.help = help
        self.flag = flag ?? key.replacingOccurrences(of: "_", with: "-")
        self.aliases = aliases
        self.choices = choices
        self.isStored = isStored
        self.isRepeatable = isRepeatable
        self.read = read
        self.write = write
        self.check = check
    }

    /// An error about this setting: `{key} reason (got value).`
    public func error(_ reason: String, got value: CustomStringConvertible?) -> SettingError {
        SettingError(key: key, reason: reason, got: value)
    }
}

// MARK: - Builders

extension Setting {
    public static func int(_ key: String, _ path: WritableKeyPath<Config, Int>, min: Int? = nil, max: Int? = nil,
                           flag: String? = nil, aliases: [String] = [], help: String) -> Setting {
        Setting(key: key, kind: .int, help: help, flag: flag, aliases: aliases,
                read: { .int($0[keyPath: path]) },
                write: { c, v in c[keyPath: path] = try integer(v, key) },
                check: { c in
                    let v = c[keyPath: path]
                    if let min, v < min { return SettingError(key: key, reason: min == 0 ? "must be 0 or more" : "must be at least \(min)", got: v) }
                    if let max, v > max { return SettingError(key: key, reason: "must be at most \(max)", got: v) }
                    return nil
                })
    }

    public static func optionalInt(_ key: String, _ path: WritableKeyPath<Config, Int?>, min: Int? = nil,
                                   flag: String? = nil, aliases: [String] = [], help: String) -> Setting {
        Setting(key: key, kind: .optionalInt, help: help, flag: flag, aliases: aliases,
                read: { c in c[keyPath: path].map { .int($0) } ?? .null },
                write: { c, v in c[keyPath: path] = v == .null || v == .string("none") ? nil : try integer(v, key) },
                check: { c in
                    guard let v = c[keyPath: path], let min, v < min else { return nil }
                    return SettingError(key: key, reason: min == 0 ? "must be 0 or more" : "must be at least \(min)", got: v)
                })
    }

    public static func float(_ key: String, _ path: WritableKeyPath<Config, Float>, _ range: FloatRange,
                             flag: String? = nil, aliases: [String] = [], help: String) -> Setting {
        Setting(key: key, kind: .float, help: help, flag: flag, aliases: aliases,
                read: { .float($0[keyPath: path]) },
                write: { c, v in c[keyPath: path] = try number(v, key) },
                check: { c in
                    let v = c[keyPath: path]
                    return range.reason(v).map { SettingError(key: key, reason: $0, got: v) }
                })
    }

    public static func bool(_ key: String, _ path: WritableKeyPath<Config, Bool>, flag: String? = nil,
                            aliases: [String] = [], help: String) -> Setting {
        Setting(key: key, kind: .bool, help: help, flag: flag, aliases: aliases,
                read: { .bool($0[keyPath: path]) },
                write: { c, v in
                    switch v {
                    case .bool(let b): c[keyPath: path] = b
                    case .string(let s) where ["true", "yes", "1"].contains(s.lowercased()): c[keyPath: path] = true
                    case .string(let s) where ["false", "no", "0"].contains(s.lowercased()): c[keyPath: path] = false
                    default: throw SettingError(key: key, reason: "must be true or false", got: v)
                    }
                })
    }

    public static func optionalString(_ key: String, _ path: WritableKeyPath<Config, String?>, flag: String? = nil,
                                      aliases: [String] = [], help: String) -> Setting {
        Setting(key: key, kind: .optionalString, help: help, flag: flag, aliases: aliases,
                read: { c in c[keyPath: path].map { .string($0) } ?? .null },
                write: { c, v in
                    switch v {
                    case .null: c[keyPath: path] = nil
                    case .string(let s): c[keyPath: path] = s.isEmpty ? nil : s
                    default: throw SettingError(key: key, reason: "must be a string", got: v)
                    }
                })
    }

    /// A list of strings; on the command line the flag is repeated, one item each.
    public static func stringList(_ key: String, _ path: WritableKeyPath<Config, [String]>, flag: String? = nil,
                                  aliases: [String] = [], help: String) -> Setting {
        Setting(key: key, kind: .stringList, help: help, flag: flag, aliases: aliases, isRepeatable: true,
                read: { .list($0[keyPath: path].map { .string($0) }) },
                write: { c, v in
                    switch v {
                    case .string(let s): c[keyPath: path] = [s]
                    case .list(let items):
                        c[keyPath: path] = try items.map {
                            guard case .string(let s) = $0 else { throw SettingError(key: key, reason: "must be a list of strings", got: v) }
                            return s
                        }
                    default: throw SettingError(key: key, reason: "must be a list of strings", got: v)
                    }
                })
    }

    /// Layer sizes: a list of positive integers (`16,16` on the command line).
    public static func sizes(_ key: String, _ path: WritableKeyPath<Config, [Int]>, example: String, flag: String? = nil,
                             aliases: [String] = [], help: String) -> Setting {
        let reason = "takes positive sizes separated by commas, e.g. \(example)"
        return Setting(key: key, kind: .intList, help: help, flag: flag, aliases: aliases,
                       read: { .list($0[keyPath: path].map { .int($0) }) },
                       write: { c, v in
                           let items: [SettingValue]
                           switch v {
                           case .list(let l): items = l
                           case .int: items = [v]
                           case .string(let s): items = s.split(separator: ",", omittingEmptySubsequences: false).map {
                               let t = $0.trimmingCharacters(in: .whitespaces)
                               return Int(t).map { .int($0) } ?? .string(t)
                           }
                           default: items = [v]
                           }
                           let sizes = items.compactMap { item -> Int? in if case .int(let i) = item { return i }; return nil }
                           guard sizes.count == items.count, !sizes.isEmpty else {
                               throw SettingError(key: key, reason: reason, got: "'\(v.textForm)'")
                           }
                           c[keyPath: path] = sizes
                       },
                       check: { c in
                           let v = c[keyPath: path]
                           guard v.isEmpty || v.contains(where: { $0 < 1 }) else { return nil }
                           return SettingError(key: key, reason: reason, got: "'\(v.map(String.init).joined(separator: ","))'")
                       })
    }

    /// One of an enum's cases, by raw value (`huber`, `mse`).
    public static func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ path: WritableKeyPath<Config, E>,
                                                                 flag: String? = nil, aliases: [String] = [],
                                                                 help: String) -> Setting where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        let listed = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names.joined()
        return Setting(key: key, kind: .choice, help: help, flag: flag, aliases: aliases, choices: names,
                       read: { .string($0[keyPath: path].rawValue) },
                       write: { c, v in
                           guard case .string(let s) = v, let e = E(rawValue: s.lowercased()) else {
                               throw SettingError(key: key, reason: "must be \(listed)", got: v)
                           }
                           c[keyPath: path] = e
                       })
    }
}

/// An integer from a setting value (whole numbers written as 1e5 or 100.0 are accepted).
public func integer(_ v: SettingValue, _ key: String) throws -> Int {
    switch v {
    case .int(let i): return i
    case .number(let d) where d == d.rounded() && abs(d) < 9e18: return Int(d)
    case .string(let s):
        if let i = Int(s.replacingOccurrences(of: "_", with: "")) { return i }
        if let d = Double(s), d == d.rounded(), abs(d) < 9e18 { return Int(d) }
    default: break
    }
    throw SettingError(key: key, reason: "must be an integer", got: v.quotedIfText)
}

/// A Float from a setting value.
public func number(_ v: SettingValue, _ key: String) throws -> Float {
    switch v {
    case .int(let i): return Float(i)
    case .number(let d): return Float(d)
    case .string(let s): if let d = Double(s) { return Float(d) }
    default: break
    }
    throw SettingError(key: key, reason: "must be a number", got: v.quotedIfText)
}

extension SettingValue {
    /// Text in quotes, so `'x'` reads as what the user typed.
    var quotedIfText: String {
        if case .string(let s) = self { return "'\(s)'" }
        return description
    }

    /// Lists as `a,b` (as typed on a command line), anything else as its description.
    var textForm: String {
        if case .list(let items) = self { return items.map(\.description).joined(separator: ",") }
        return description
    }
}
