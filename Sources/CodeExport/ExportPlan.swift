import NN
import Tensor

/// Why a model cannot be exported as code: one sentence each.
public enum CodeExportError: Error, CustomStringConvertible, Equatable {
    /// The name is not usable as a C or Swift identifier (or is a keyword).
    case badName(String)
    /// The model has a head or layer the code cannot express.
    case unsupported(String)
    /// The output exists and `--force` was not given, or it holds files this exporter did not write.
    case outputExists(String, detail: String)
    /// Writing failed (the sentence names the cause).
    case writeFailed(String, detail: String)

    public var description: String {
        switch self {
        case .badName(let name):
            return "'\(name)' cannot name exported code: use letters, digits and _ (not starting with a digit, not a C or Swift keyword), e.g. --name cartpole_student."
        case .unsupported(let detail):
            return "This model cannot be exported as code: \(detail)."
        case .outputExists(let path, let detail):
            return "\(path) \(detail)."
        case .writeFailed(let path, let detail):
            return "Could not write \(path): \(detail)."
        }
    }
}

/// What an exported network computes, in the core's order of operations, so generated code
/// gives the core's Q-values bit for bit: the observation scaled (uint8 images), moved from
/// (C, H, W) to (H, W, C) when it arrives channels-first, each convolution as a dense layer of
/// its receptive field (KH, KW, C in order, zeros outside the image) followed by the
/// activation, then the dense layers (the activation between them, none after the last).
///
/// A dense layer of 16 or more outputs starts each output from its bias and adds the inputs'
/// products in order as fused multiply-adds, skipping zero inputs (the core's tiles); a
/// narrower one keeps 8 partial sums (input p in sum p mod 8), adds them pairwise
/// (((s0+s4)+(s2+s6))+((s1+s5)+(s3+s7))), adds the last `in mod 8` products one by one, and
/// adds that to the bias (the core's dot products).
public struct ExportPlan: Sendable {
    /// One convolution: its layer and the (height, width, channels) image it reads.
    public struct Convolution: Sendable {
        public var layer: Conv2D
        public var input: [Int]
        public var output: [Int] { layer.outputShape }
    }

    /// The identifier the code's symbols start with (`cartpole_student_q_values`).
    public var name: String
    public var observationSize: Int
    public var actionCount: Int
    /// 1 when observations are used as given; 1/255 for uint8 images.
    public var observationScale: Float
    /// (C, H, W) of an observation that arrives channels-first, else nil.
    public var channelsFirstShape: [Int]?
    public var convolutions: [Convolution]
    /// The dense layers, without the hidden units pruning removed (see `removeDeadUnits`).
    public var layers: [Linear]
    /// Per dense layer: when units of the layer before were removed, the original position of
    /// each remaining input (increasing), else nil.
    public var inputPositions: [[Int]?]
    /// Per dense layer: its number of inputs before any were removed.
    public var originalInputSizes: [Int]
    public var activation: Activation
    /// What the network is, for the generated file's comments: its outputs are Q-values, or a
    /// categorical policy's logits (the `q_values` functions then give the logits; acting is
    /// their argmax either way).
    public var kind: String
    /// The head: a continuous one gets `NAME_action` (the outputs clipped or squashed into
    /// `actionLow`…`actionHigh`) in place of `NAME_act`.
    public var head: OutputHead
    public var actionLow: [Float], actionHigh: [Float]
    /// Where the weights came from (for the generated file's first comment).
    public var source: String

    /// The plan of `network`, named `name` (checked to be a usable identifier).
    public init(network: MLP, name: String, observationScale: Float, source: String) throws {
        guard Self.isUsableName(name) else { throw CodeExportError.badName(name) }
        guard network.activation == .relu || network.activation == .tanh else {
            throw CodeExportError.unsupported("its activation \(network.activation.rawValue) has no exported form")
        }
        self.name = name
        kind = network.head.kind.exportDescription
        head = network.head
        (actionLow, actionHigh) = (network.actionLow, network.actionHigh)
        observationSize = network.inputSize
        actionCount = network.outputSize
        self.observationScale = observationScale
        var shape = network.inputShape
        channelsFirstShape = network.convolutions.isEmpty || !network.channelsFirst ? nil : [shape[2], shape[0], shape[1]]
        convolutions = network.convolutions.map { conv in
            defer { shape = conv.outputShape }
            return Convolution(layer: conv, input: shape)
        }
        (layers, inputPositions) = Self.removeDeadUnits(network.layers, activation: network.activation)
        originalInputSizes = network.layers.map(\.inputSize)
        activation = network.activation
        self.source = source
    }

    /// Hidden units removed: those whose output is always exactly +0 — every incoming weight
    /// zero and a bias of +0 (or, behind a ReLU, below 0), as whole-unit pruning leaves them.
    /// Their products add nothing: a wide layer's chains keep their value, and a narrow layer
    /// keeps each remaining input in the partial sum of its original position, so the Q-values
    /// keep their bits while the arrays shrink.
    public var removedUnits: Int { zip(originalInputSizes, layers).reduce(0) { $0 + $1.0 - $1.1.inputSize } }

    static func removeDeadUnits(_ original: [Linear], activation: Activation) -> ([Linear], [[Int]?]) {
        var layers = original
        var positions = [[Int]?](repeating: nil, count: layers.count)
        for k in 0..<max(layers.count - 1, 0) {
            let l = layers[k]
            let (inputs, outputs) = (l.inputSize, l.outputSize)
            let keep = (0..<outputs).filter { u in
                let b = l.bias.scalars[u]
                let silent = (b == 0 && b.sign == .plus) || (activation == .relu && b < 0)
                return !(silent && (0..<inputs).allSatisfy { l.weight.scalars[$0 * outputs + u] == 0 })
            }
            guard keep.count < outputs, !keep.isEmpty else { continue }
            layers[k] = Linear(weight: Tensor(shape: [inputs, keep.count], scalars: (0..<inputs).flatMap { i in keep.map { l.weight.scalars[i * outputs + $0] } }),
                               bias: Tensor(shape: [keep.count], scalars: keep.map { l.bias.scalars[$0] }))
            let next = layers[k + 1]
            layers[k + 1] = Linear(weight: Tensor(shape: [keep.count, next.outputSize],
                                                  scalars: keep.flatMap { Array(next.weight.scalars[($0 * next.outputSize)..<(($0 + 1) * next.outputSize)]) }),
                                   bias: next.bias)
            positions[k + 1] = keep
        }
        return (layers, positions)
    }

    /// The most floats any activation (the observation included) holds.
    public var widestActivation: Int {
        var widest = observationSize
        for c in convolutions { widest = max(widest, c.output.reduce(1, *)) }
        for l in layers { widest = max(widest, l.outputSize) }
        return widest
    }

    /// The largest receptive field (KH·KW·C) of the convolutions, 0 without them.
    public var widestField: Int { convolutions.map(\.layer.geometry.patchSize).max() ?? 0 }

    /// True when a dense layer of `outputs` takes the wide (chained) form rather than the narrow one.
    public static func isWide(_ outputs: Int) -> Bool { outputs >= 16 }

    /// Letters, digits and `_`, not starting with a digit, and no keyword of C or Swift.
    public static func isUsableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.properties.isAlphabetic && first.isASCII) else { return false }
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }) else {
            return false
        }
        return !keywords.contains(name)
    }

    static let keywords: Set<String> = [
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for",
        "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
        "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary",
        "class", "func", "let", "var", "import", "protocol", "extension", "init", "deinit", "self", "Self", "super", "in",
        "is", "as", "try", "throw", "throws", "where", "guard", "defer", "repeat", "internal", "private", "public", "fileprivate",
        "open", "operator", "subscript", "associatedtype", "true", "false", "nil", "Any", "Type", "some", "any",
    ]

    /// `items` as the lines of an array literal, `perLine` a line, each line indented and ending with a comma.
    static func literalLines(_ items: [String], perLine: Int) -> String {
        stride(from: 0, to: items.count, by: perLine).map { start in
            "    " + items[start..<min(start + perLine, items.count)].joined(separator: ", ") + ","
        }.joined(separator: "\n")
    }

    /// `value` as a literal both C (with an `f`) and Swift read back to the same float: the
    /// shortest decimal that round-trips.
    static func literal(_ value: Float) -> String {
        let text = "\(value)"
        return text.contains(".") || text.contains("e") ? text : text + ".0"
    }
}
