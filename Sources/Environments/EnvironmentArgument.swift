/// A keyword argument for opening an environment (`--env-arg key=value`, `env_kwargs`), kept
/// as plain data so settings and manifests can record it without knowing about Python.
public enum EnvironmentArgument: Sendable, Equatable, Codable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)

    /// Reads a command-line value: an integer, a number, true/false, or else a string.
    public init(parsing text: String) {
        if let i = Int(text) { self = .int(i) }
        else if let d = Double(text) { self = .double(d) }
        else if text == "true" || text == "True" { self = .bool(true) }
        else if text == "false" || text == "False" { self = .bool(false) }
        else { self = .string(text) }
    }

    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return v
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        }
    }
}

extension EnvironmentArgument: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByStringLiteral
{
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(stringLiteral value: String) { self = .string(value) }
}

/// Opens a fresh environment each time it is called: training, evaluation and comparison each
/// get their own instance. Algorithms take factories so they never need to know what backs them.
public typealias EnvironmentFactory = () throws -> any Environment

/// Parses `key=value` pairs (`--env-arg`); nil with the offending text when one is malformed.
public func parseEnvironmentArguments(_ pairs: [String]) -> Result<[String: EnvironmentArgument], EnvironmentArgumentError> {
    var out: [String: EnvironmentArgument] = [:]
    for pair in pairs {
        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else { return .failure(EnvironmentArgumentError(text: pair)) }
        out[parts[0]] = EnvironmentArgument(parsing: parts[1])
    }
    return .success(out)
}

/// A `key=value` pair that is not one.
public struct EnvironmentArgumentError: Error, CustomStringConvertible {
    public var text: String
    public var description: String { "environment arguments take key=value, e.g. max_episode_steps=200 (got '\(text)')." }
}

/// A Gymnasium wrapper applied over an environment, as Gymnasium's `WrapperSpec` records it
/// (`env.spec.additional_wrappers`): its name, `module:attribute` and keyword arguments.
public struct EnvironmentWrapper: Codable, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var entryPoint: String
    public var arguments: [String: EnvironmentArgument]
    /// False when an argument is not plain data (a function, an object), so the wrapper cannot be rebuilt.
    public var recordable: Bool

    public init(name: String, entryPoint: String, arguments: [String: EnvironmentArgument] = [:], recordable: Bool = true) {
        self.name = name
        self.entryPoint = entryPoint
        self.arguments = arguments
        self.recordable = recordable
    }

    /// Gymnasium's own wrappers are the only ones opened from a model directory (data, not code).
    public var isGymnasiumWrapper: Bool { entryPoint.hasPrefix("gymnasium.wrappers.") || entryPoint.hasPrefix("gymnasium.wrappers:") }

    /// One of Gymnasium's wrappers as the command line names it, in the form `description`
    /// prints: `FlattenObservation`, `FrameStackObservation(stack_size=4)`,
    /// `AtariPreprocessing(frame_skip=4, noop_max=30)`; nil when the text is not that.
    public init?(parsing text: String) {
        let trimmed = Self.trim(Substring(text))
        var name = trimmed, arguments: [String: EnvironmentArgument] = [:]
        if let open = trimmed.firstIndex(of: "(") {
            guard trimmed.hasSuffix(")") else { return nil }
            name = Self.trim(trimmed[..<open])
            let inside = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
            let pairs = inside.split(separator: ",").map { Self.trim($0) }.filter { !$0.isEmpty }
            guard case .success(let parsed) = parseEnvironmentArguments(pairs) else { return nil }
            arguments = parsed
        }
        guard let first = name.first, first.isLetter || first == "_",
              name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
        self.init(name: name, entryPoint: "gymnasium.wrappers:" + name, arguments: arguments)
    }

    private static func trim(_ text: Substring) -> String {
        String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }

    /// `FlattenObservation`, or `RescaleObservation(max_obs=1, min_obs=-1)`.
    public var description: String {
        arguments.isEmpty ? name : name + "(" + arguments.keys.sorted().map { "\($0)=\(arguments[$0]!)" }.joined(separator: ", ") + ")"
    }
}

/// How to rebuild an environment: its id or `module:attribute`, keyword arguments, and the
/// Gymnasium wrappers applied over it. Runs record it in manifests and checkpoints, so `eval`,
/// `compare`, `distill` and `--resume` open the same environment the model was trained on.
public struct EnvironmentRecipe: Codable, Equatable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var name: String
    public var arguments: [String: EnvironmentArgument]
    /// Applied in order over the environment `name` and `arguments` make.
    public var wrappers: [EnvironmentWrapper]

    public init(name: String, arguments: [String: EnvironmentArgument] = [:], wrappers: [EnvironmentWrapper] = []) {
        self.name = name
        self.arguments = arguments
        self.wrappers = wrappers
    }

    enum CodingKeys: String, CodingKey { case name, arguments, wrappers }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        arguments = try c.decodeIfPresent([String: EnvironmentArgument].self, forKey: .arguments) ?? [:]
        wrappers = try c.decodeIfPresent([EnvironmentWrapper].self, forKey: .wrappers) ?? []
    }

    public init(stringLiteral value: String) { self.init(name: value) }

    /// False for environments defined in a notebook or script (`__main__:…`) or by a lambda or
    /// local function, which no later process can import.
    public var isRebuildable: Bool {
        !(name.hasPrefix("__main__:") || name.contains("<lambda>") || name.contains("<locals>")) && unrebuildableWrapper == nil
    }

    /// The first wrapper a later process could not apply from the record (not plain data, or
    /// not one of Gymnasium's own wrappers), if any.
    public var unrebuildableWrapper: EnvironmentWrapper? {
        wrappers.first { !$0.recordable || !$0.isGymnasiumWrapper }
    }

    /// The arguments as command-line text (`key=value`), for manifests.
    public var argumentTexts: [String: String] { arguments.mapValues(\.description) }

    /// A recipe read back from a manifest's text arguments.
    public init(name: String, argumentTexts: [String: String]?, wrappers: [EnvironmentWrapper] = []) {
        self.init(name: name, arguments: (argumentTexts ?? [:]).mapValues { EnvironmentArgument(parsing: $0) }, wrappers: wrappers)
    }

    /// `CartPole-v1`, `lineworld:LineWorld(n=4)`, or `MountainCar-v0 + RescaleObservation(max_obs=1, min_obs=-1)`.
    public var description: String {
        let base = arguments.isEmpty ? name : name + "(" + arguments.keys.sorted().map { "\($0)=\(arguments[$0]!)" }.joined(separator: ", ") + ")"
        return ([base] + wrappers.map(\.description)).joined(separator: " + ")
    }

    /// This recipe with `overrides` applied to its arguments.
    public func with(_ overrides: [String: EnvironmentArgument]) -> EnvironmentRecipe {
        EnvironmentRecipe(name: name, arguments: arguments.merging(overrides) { _, new in new }, wrappers: wrappers)
    }
}
