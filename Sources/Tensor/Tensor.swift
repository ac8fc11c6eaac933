/// A dense, row-major Float32 tensor with value semantics (copy-on-write through its storage).
///
/// Shapes are small arrays; most of the library uses rank 1 (vectors) and rank 2
/// (batch × features). Kernels live in `Kernels.swift`; everything here is safe Swift.
public struct Tensor: Equatable, Sendable {
    /// Dimensions, outermost first. `[]` is a scalar.
    public private(set) var shape: [Int]
    /// Elements in row-major order.
    public var scalars: [Float]

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.scalars = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor of `shape` whose every element `fill` writes (no zero fill first: outputs of
    /// the kernels, which write each element themselves).
    init(shape: [Int], filledBy fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let count = shape.reduce(1, *)
        self.shape = shape
        self.scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer)
            initialized = count
        }
    }

    /// A tensor of `shape` holding `scalars` (row-major).
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.reduce(1, *) == scalars.count,
                      "shape \(shape) needs \(shape.reduce(1, *)) values, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A rank-2 tensor from rows of equal length.
    public init(rows: [[Float]]) {
        let cols = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == cols }, "rows differ in length")
        self.init(shape: [rows.count, cols], scalars: rows.flatMap { $0 })
    }

    /// Total number of elements.
    public var count: Int { scalars.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// Rows of a rank-2 tensor (or the length of a vector).
    public var rowCount: Int { shape.first ?? 1 }
    /// Columns of a rank-2 tensor.
    public var columnCount: Int { shape.count >= 2 ? shape[1] : 1 }

    /// Element `(row, column)` of a rank-2 tensor.
    public subscript(row: Int, column: Int) -> Float {
        get { scalars[row * shape[1] + column] }
        set { scalars[row * shape[1] + column] = newValue }
    }

    /// The same elements with another shape of equal size.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Makes this a `rows × columns` tensor for a kernel to overwrite, reusing its storage: once it
    /// has held that many elements, nothing is allocated (a training step's workspace). New
    /// elements are 0; kept ones keep their values.
    public mutating func prepare(rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0, "negative dimension in [\(rows), \(columns)]")
        if shape.count == 2 {
            if shape[0] != rows { shape[0] = rows }
            if shape[1] != columns { shape[1] = columns }
        } else {
            shape = [rows, columns]
        }
        resizeStorage(rows * columns)
    }

    /// As `prepare(rows:columns:)`, for a vector of `count` elements.
    public mutating func prepare(count: Int) {
        precondition(count >= 0, "negative dimension [\(count)]")
        if shape.count == 1 {
            if shape[0] != count { shape[0] = count }
        } else {
            shape = [count]
        }
        resizeStorage(count)
    }

    /// As `prepare(rows:columns:)`, for any shape (a batch of images, (N, H, W, C)).
    public mutating func prepare(shape newShape: [Int]) {
        precondition(newShape.allSatisfy { $0 >= 0 }, "negative dimension in \(newShape)")
        if shape != newShape { shape = newShape }
        resizeStorage(newShape.reduce(1, *))
    }

    private mutating func resizeStorage(_ count: Int) {
        if scalars.count > count {
            scalars.removeLast(scalars.count - count)  // keeps the capacity
        } else if scalars.count < count {
            scalars.append(contentsOf: repeatElement(0, count: count - scalars.count))
        }
    }

    /// Row `rows[i]` of `source`, a row-major table `width` values wide, into row i of this
    /// tensor's storage, for every i (replay values by slot; the shape is the caller's to set).
    public mutating func setRows(from source: [Float], width: Int, at rows: [Int]) {
        precondition(count == rows.count * width, "\(rows.count) rows of \(width) do not fill \(shape)")
        scalars.withUnsafeMutableBufferPointer { out in
            source.withUnsafeBufferPointer { table in
                for (i, row) in rows.enumerated() {
                    precondition(row >= 0 && (row + 1) * width <= table.count, "row \(row) is outside the table")
                    for a in 0..<width { out[i * width + a] = table[row * width + a] }
                }
            }
        }
    }

    /// Sets every element to `value`.
    public mutating func fill(_ value: Float) {
        scalars.withUnsafeMutableBufferPointer { $0.update(repeating: value) }
    }

    /// An empty vector shared by every use: a placeholder that allocates nothing.
    public static let empty = Tensor(shape: [0])

    /// Row `i` of a rank-2 tensor as an array.
    public func row(_ i: Int) -> [Float] {
        Array(scalars[i * columnCount ..< (i + 1) * columnCount])
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        "Tensor(shape: \(shape), scalars: \(scalars.prefix(8))\(count > 8 ? "…" : ""))"
    }
}
