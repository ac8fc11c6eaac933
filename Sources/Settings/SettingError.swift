/// A setting that cannot be used: which key, what was given, and why. Front ends word it in
/// their own names (`--learning-rate` on the command line, `learning_rate` in Python and config
/// files) through `worded(_:)`; the sentence is otherwise the same everywhere.
public struct SettingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Why a setting was refused.
    public enum Problem: Equatable, Sendable {
        /// No setting has this name; `suggestion` is the closest known one.
        case unknownKey(suggestion: String?)
        /// The value is of the wrong kind or out of range.
        case invalid
    }

    /// The setting's snake_case key (or the unknown name as given).
    public var key: String
    public var problem: Problem
    /// The sentence, with `{key}` wherever a setting's name goes.
    public var template: String

    public init(key: String, problem: Problem = .invalid, template: String) {
        self.key = key
        self.problem = problem
        self.template = template
    }

    /// `{key} reason (got value).`
    public init(key: String, reason: String, got value: CustomStringConvertible?) {
        self.init(key: key, template: "{\(key)} \(reason)" + (value.map { " (got \($0))." } ?? "."))
    }

    /// The sentence with each `{key}` replaced by `name(key)`.
    public func worded(_ name: (String) -> String) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            out += name(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// Worded with snake_case keys, as in Python and config files.
    public var description: String { worded { $0 } }
}
