/// A setting's value as a front end hands it over (a JSON config file, a Python keyword, a
/// parsed command-line word), before the table checks its kind.
public enum SettingValue: Equatable, Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case list([SettingValue])
    /// A JSON object (a config file's per-environment section).
    case object([String: SettingValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let l = try? c.decode([SettingValue].self) { self = .list(l) }
        else { self = .object(try c.decode([String: SettingValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let v): try c.encode(v)
        case .int(let v): try c.encode(v)
        case .number(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .list(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        }
    }

    /// As a user would type it: `0.001`, `true`, `[64, 64]`, `kl`.
    public var description: String {
        switch self {
        case .null: return "none"
        case .bool(let v): return "\(v)"
        case .int(let v): return "\(v)"
        case .number(let v): return v == v.rounded() && abs(v) < 1e15 ? "\(Int(v))" : "\(v)"
        case .string(let v): return v
        case .list(let v): return "[" + v.map(\.description).joined(separator: ", ") + "]"
        case .object(let v): return "{" + v.keys.sorted().map { "\($0): \(v[$0]!)" }.joined(separator: ", ") + "}"
        }
    }

    /// A Float as the shortest decimal that reads back to it (0.0023, not 0.002300000051).
    public static func float(_ value: Float) -> SettingValue {
        .number(Double("\(value)") ?? Double(value))
    }
}
