import Foundation

/// What one kind of output head means: how the network's outputs become an action, and how the
/// exported code and the reports describe it. Each head lives in its own file (`QValueHead`,
/// `CategoricalHead`, `GaussianHead`, `SquashedHead`) and is registered once in
/// `OutputHead.registered`; the losses say themselves which heads they serve.
public protocol OutputHeadKind: Sendable {
    /// The name model.json records (`architecture.head`).
    var name: String { get }
    /// The outputs as a sentence names them ("Q-values").
    var phrase: String { get }
    /// What an exported network is, for the generated file's comments.
    var exportDescription: String { get }
    /// True for heads whose actions are vectors within bounds rather than indices.
    var isContinuous: Bool { get }
    /// The action value for output `z` within `low`…`high` (continuous heads).
    func action(_ z: Float, low: Float, high: Float) -> Float
    /// d(action)/d(output) at `z` (continuous heads).
    func actionSlope(_ z: Float, low: Float, high: Float) -> Float
    /// Exported code for one action value from `q` and the bounds `low`, `high` (names in the
    /// generated code), in the core's order of operations: C (with `tanhf`, `fminf`, …) and Swift.
    func cActionExpression(q: String, low: String, high: String) -> String
    func swiftActionExpression(q: String, low: String, high: String) -> String
    /// A formula for comments ("q clipped to [low, high]").
    var actionFormula: String { get }
    /// True when the action needs `tanh` (libm in C, Foundation in Swift).
    var actionNeedsTanh: Bool { get }
}

extension OutputHeadKind {
    public var isContinuous: Bool { true }
    public func action(_ z: Float, low: Float, high: Float) -> Float { z }
    public func actionSlope(_ z: Float, low: Float, high: Float) -> Float { 1 }
    public func cActionExpression(q: String, low: String, high: String) -> String { q }
    public func swiftActionExpression(q: String, low: String, high: String) -> String { q }
    public var actionFormula: String { "the outputs" }
    public var actionNeedsTanh: Bool { false }
}

/// A network's head, by name: what its outputs mean, and so how it acts and which losses may
/// train against it. Discrete heads act by the argmax of the outputs; continuous heads turn the
/// outputs into an action within the action space's bounds.
public struct OutputHead: Sendable, Hashable, Codable, CustomStringConvertible {
    public let kind: any OutputHeadKind

    public init(_ kind: any OutputHeadKind) { self.kind = kind }

    /// The registry: one line per head. A new head is its own file (a type conforming to
    /// `OutputHeadKind` and a `static let` for it) and one line here.
    public static let registered: [OutputHead] = [.q, .categorical, .gaussian, .squashed]

    /// The registered head named `rawValue`, or nil.
    public init?(rawValue: String) {
        guard let head = Self.registered.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = head
    }

    public static var allCases: [OutputHead] { registered }

    public var rawValue: String { kind.name }
    public var description: String { rawValue }
    public var phrase: String { kind.phrase }
    public var isContinuous: Bool { kind.isContinuous }

    /// The action the outputs `z` stand for within `low`…`high` (continuous heads; a discrete
    /// head's outputs are returned as they are).
    public func action(_ z: [Float], low: [Float], high: [Float]) -> [Float] {
        isContinuous ? z.indices.map { kind.action(z[$0], low: low[$0], high: high[$0]) } : z
    }

    /// d(action)/d(output) for one output `z` of a continuous head.
    public func actionSlope(_ z: Float, low: Float, high: Float) -> Float { kind.actionSlope(z, low: low, high: high) }

    public static func == (a: OutputHead, b: OutputHead) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let head = OutputHead(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown head '\(name)'"))
        }
        self = head
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
