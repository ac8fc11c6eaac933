import Foundation

/// Per-row operations on rank-2 tensors of logits or Q-values.
extension Tensor {
    /// The rows at `indices` (repeats allowed), in that order.
    public func rows(at indices: [Int]) -> Tensor {
        precondition(rank == 2, "rows(at:) needs a rank-2 tensor, got \(shape)")
        let width = shape[1]
        var out = [Float]()
        out.reserveCapacity(indices.count * width)
        for i in indices {
            precondition(i >= 0 && i < shape[0], "row \(i) is outside a tensor of \(shape[0]) rows")
            out.append(contentsOf: scalars[(i * width)..<((i + 1) * width)])
        }
        return Tensor(shape: [indices.count, width], scalars: out)
    }

    /// The rows in `range`, in order (a contiguous copy).
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank == 2 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "rows \(range) are outside a tensor of shape \(shape)")
        let width = shape[1]
        return Tensor(shape: [range.count, width], scalars: Array(scalars[(range.lowerBound * width)..<(range.upperBound * width)]))
    }

    /// Index of the largest element of each row (ties go to the first, as NumPy's argmax).
    public func argmaxRows() -> [Int] {
        precondition(rank == 2, "argmaxRows() needs a rank-2 tensor")
        return (0..<shape[0]).map { argmax(row: $0) }
    }

    /// `argmaxRows` into `out` (its storage reused).
    public func argmaxRows(into out: inout [Int]) {
        precondition(rank == 2, "argmaxRows() needs a rank-2 tensor")
        out.removeAll(keepingCapacity: true)
        for i in 0..<shape[0] { out.append(argmax(row: i)) }
    }

    /// The index of row `i`'s largest element (the first of equal maxima).
    public func argmax(row i: Int) -> Int {
        let n = shape[1]
        var best = 0
        var bestValue = scalars[i * n]
        for j in 1..<n where scalars[i * n + j] > bestValue {
            best = j
            bestValue = scalars[i * n + j]
        }
        return best
    }

    /// Largest element of each row.
    public func maxRows() -> Tensor {
        var out = Tensor(shape: [0])
        maxRows(into: &out)
        return out
    }

    /// `maxRows` into `out` (its storage reused).
    public func maxRows(into out: inout Tensor) {
        precondition(rank == 2, "maxRows() needs a rank-2 tensor")
        out.prepare(count: shape[0])
        for i in 0..<shape[0] { out.scalars[i] = self[i, argmax(row: i)] }
    }

    /// One element per row: `out[i] = self[i, columns[i]]` (Q(s, a) from a batch of Q-values).
    public func gather(columns: [Int]) -> Tensor {
        var out = Tensor(shape: [0])
        gather(columns: columns, into: &out)
        return out
    }

    /// `gather` into `out` (its storage reused).
    public func gather(columns: [Int], into out: inout Tensor) {
        precondition(rank == 2 && columns.count == shape[0], "gather needs one column per row")
        out.prepare(count: shape[0])
        for (i, j) in columns.enumerated() {
            precondition(j >= 0 && j < shape[1], "column \(j) out of range 0..<\(shape[1])")
            out.scalars[i] = self[i, j]
        }
    }

    /// The adjoint of `gather`: a zero tensor of `shape` with `values[i]` at `(i, columns[i])`.
    public static func scatter(_ values: Tensor, columns: [Int], shape: [Int]) -> Tensor {
        precondition(shape.count == 2, "scatter makes a rank-2 tensor")
        var out = Tensor(shape: [0])
        scatter(values, columns: columns, rows: shape[0], columns: shape[1], into: &out)
        return out
    }

    /// `scatter` into `out`, made `rows × width` (its storage reused).
    public static func scatter(_ values: Tensor, columns: [Int], rows: Int, columns width: Int, into out: inout Tensor) {
        precondition(columns.count == rows && values.count == rows, "scatter needs one column and one value per row")
        out.prepare(rows: rows, columns: width)
        out.fill(0)
        for (i, j) in columns.enumerated() { out[i, j] = values.scalars[i] }
    }

    /// log softmax(x / temperature) per row, computed stably (the row max is subtracted first).
    public func logSoftmaxRows(temperature: Float = 1) -> Tensor {
        precondition(rank == 2, "logSoftmaxRows() needs a rank-2 tensor")
        precondition(temperature > 0, "temperature must be positive")
        let n = shape[1]
        var x = scalars
        for i in 0..<shape[0] {
            let row = (i * n)..<((i + 1) * n)
            var m = -Float.infinity
            for j in row { x[j] /= temperature; m = Swift.max(m, x[j]) }
            var s: Double = 0
            for j in row { s += Double(expf(x[j] - m)) }
            // (x − m) − log Σ: subtracting the max first keeps precision for large logits.
            let logSum = Float(Foundation.log(s))
            for j in row { x[j] = (x[j] - m) - logSum }
        }
        let out = Tensor(shape: shape, scalars: x)
        return out
    }

    /// softmax(x / temperature) per row.
    public func softmaxRows(temperature: Float = 1) -> Tensor {
        logSoftmaxRows(temperature: temperature).map { expf($0) }
    }
}
