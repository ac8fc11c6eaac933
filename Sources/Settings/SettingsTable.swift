/// The one list of an algorithm's settings. Command-line flags and help, config-file keys,
/// Python keyword checking, manifests and validation all derive from it.
public struct SettingsTable<Config> {
    public let entries: [Setting<Config>]
    /// Checks that involve several settings, run after each setting's own check.
    public let crossChecks: [(Config) -> SettingError?]
    /// Applied after user input (e.g. "offline observations given, so the regime is offline").
    public let normalise: (inout Config) -> Void
    /// Valid but probably unintended combinations, which front ends print as warnings.
    public let warningChecks: [(Config) -> SettingError?]

    public init(_ entries: [Setting<Config>], crossChecks: [(Config) -> SettingError?] = [],
                warnings: [(Config) -> SettingError?] = [], normalise: @escaping (inout Config) -> Void = { _ in }) {
        self.entries = entries
        self.crossChecks = crossChecks
        self.warningChecks = warnings
        self.normalise = normalise
    }

    /// The warnings that apply to `config`.
    public func warnings(_ config: Config) -> [SettingError] { warningChecks.compactMap { $0(config) } }

    /// Names compare without case, `_` or `-`: learning_rate, learningRate, learning-rate.
    static func normalised(_ name: String) -> String {
        String(name.lowercased().filter { $0 != "_" && $0 != "-" })
    }

    /// The entry for any spelling of its key, flag or an alias.
    public func entry(_ name: String) -> Setting<Config>? {
        let n = Self.normalised(name)
        return entries.first { e in
            Self.normalised(e.key) == n || Self.normalised(e.flag) == n || e.aliases.contains { Self.normalised($0) == n }
        }
    }

    /// The closest known key to a misspelt one, if any is close.
    public func suggestion(for name: String, among names: [String]? = nil) -> String? {
        let candidates = names ?? entries.map(\.key)
        let n = Self.normalised(name)
        let scored = candidates.map { ($0, editDistance(n, Self.normalised($0))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, n.count / 3) else { return nil }
        return best.0
    }

    /// Sets one setting; unknown names and values of the wrong kind throw `SettingError`.
    public func set(_ name: String, _ value: SettingValue, in config: inout Config) throws {
        guard let e = entry(name) else {
            let hint = suggestion(for: name)
            throw SettingError(key: name, problem: .unknownKey(suggestion: hint),
                               template: "unknown setting '\(name)'" + (hint.map { "; did you mean {\($0)}?" } ?? "."))
        }
        try e.write(&config, value)
    }

    /// Applies settings in order, then the table's normalisation.
    public func apply(_ values: [(String, SettingValue)], to config: inout Config) throws {
        for (name, value) in values { try set(name, value, in: &config) }
        normalise(&config)
    }

    /// Applies a dictionary in the table's order (so `loss` comes before the weights that
    /// refine it, whatever order the caller listed them in); unknown names are reported first.
    public func apply(_ values: [String: SettingValue], to config: inout Config) throws {
        try apply(ordered(values), to: &config)
    }

    /// Applies a config file's values. A mapping under a name that is no setting is another
    /// environment's section and is skipped; a mapping under a setting's name is refused. Each
    /// given setting is range-checked at once, so its error names the file's key, not a flag.
    public func applyFile(_ values: [String: SettingValue], to config: inout Config) throws {
        let kept = values.filter { if case .object = $0.value { return entry($0.key) != nil }; return true }
        try apply(kept, to: &config)
        for (name, _) in ordered(kept) { if let problem = entry(name)?.check(config) { throw problem } }
    }

    /// The pairs of `values` in table order, unknown names first (then by name).
    func ordered(_ values: [String: SettingValue]) -> [(String, SettingValue)] {
        func rank(_ name: String) -> Int {
            guard let e = entry(name) else { return -1 }
            return entries.firstIndex { $0.key == e.key } ?? -1
        }
        return values.sorted { (rank($0.key), $0.key) < (rank($1.key), $1.key) }.map { ($0.key, $0.value) }
    }

    /// The first invalid setting, as a structured error.
    public func validate(_ config: Config) throws {
        for e in entries { if let problem = e.check(config) { throw problem } }
        for check in crossChecks { if let problem = check(config) { throw problem } }
    }

    /// Stored settings by key (nil optionals left out), for manifests and config files.
    public func values(of config: Config) -> [String: SettingValue] {
        var out: [String: SettingValue] = [:]
        for e in entries where e.isStored {
            let v = e.read(config)
            if v != .null { out[e.key] = v }
        }
        return out
    }

    /// `base` with every stored key of `values` applied (for decoding manifests and checkpoints).
    public func decode(_ values: [String: SettingValue], base: Config) throws -> Config {
        var c = base
        for (key, value) in ordered(values) { try set(key, value, in: &c) }
        return c
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    for i in 1...x.count {
        var current = [i] + [Int](repeating: 0, count: y.count)
        for j in 1...y.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[y.count]
}

/// A configuration described by a settings table; Codable through it (snake_case keys).
public protocol Configurable: Codable, Equatable, Sendable {
    static var settings: SettingsTable<Self> { get }
    init()
}

extension Configurable {
    /// Decodes the stored settings of a manifest or checkpoint on top of the defaults.
    public static func decoded(from decoder: Decoder) throws -> Self {
        let values = try [String: SettingValue](from: decoder)
        do { return try settings.decode(values, base: Self()) } catch let e as SettingError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: e.description))
        }
    }

    /// Encodes the stored settings by key.
    public func encodeSettings(to encoder: Encoder) throws {
        try Self.settings.values(of: self).encode(to: encoder)
    }

    /// Throws the first invalid setting.
    public func validate() throws { try Self.settings.validate(self) }

    /// The first invalid setting worded for the command line, or nil when all are valid.
    public func validationError() -> String? {
        do { try validate(); return nil } catch let e as SettingError {
            return e.worded { key in "--" + (Self.settings.entry(key)?.flag ?? key) }
        } catch { return "\(error)" }
    }
}
