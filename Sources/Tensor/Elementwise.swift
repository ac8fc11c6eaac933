import Foundation

extension Tensor {
    /// Applies `f` to every element.
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        Tensor(shape: shape, scalars: scalars.map(f))
    }

    /// Combines two tensors of one shape element by element.
    @inlinable
    public func zipWith(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        var out = self
        out.scalars.withUnsafeMutableBufferPointer { o in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<o.count { o[i] = f(o[i], b[i]) }
            }
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, -) }
    /// Element-wise (Hadamard) product.
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipWith(b, *) }
    public static func * (a: Tensor, s: Float) -> Tensor {
        Tensor(shape: a.shape) { out in
            a.scalars.withUnsafeBufferPointer { x in
                guard out.count > 0 else { return }
                Kernels.scale(x.baseAddress!, by: s, out.baseAddress!, count: out.count)
            }
        }
    }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { $0 * s } }
    /// x · s in place (the same bits as `x * s`).
    public mutating func scale(by s: Float) {
        scalars.withUnsafeMutableBufferPointer { x in
            guard let base = x.baseAddress, x.count > 0 else { return }
            Kernels.scale(base, by: s, base, count: x.count)
        }
    }
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }

    /// max(x, 0).
    public func relu() -> Tensor {
        var out = self
        out.scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            scalars.withUnsafeBufferPointer { src in
                if count > 0 { Kernels.relu(src.baseAddress!, buffer.baseAddress!, count: count) }
            }
            initialized = count
        }
        return out
    }
    /// max(x, 0) in place.
    public mutating func applyReLU() {
        scalars.withUnsafeMutableBufferPointer { x in
            guard let base = x.baseAddress, x.count > 0 else { return }
            Kernels.relu(base, base, count: x.count)
        }
    }
    /// The ReLU backward pass: passes `gradient` where the forward input was positive (or, the
    /// same places, where the forward output is).
    public static func reluBackward(_ gradient: Tensor, input: Tensor) -> Tensor {
        precondition(gradient.shape == input.shape, "shapes \(gradient.shape) and \(input.shape) differ")
        return Tensor(shape: gradient.shape) { out in  // one pass: no copy of the gradient first
            gradient.scalars.withUnsafeBufferPointer { g in
                input.scalars.withUnsafeBufferPointer { x in
                    guard out.count > 0 else { return }
                    Kernels.reluBackward(g.baseAddress!, input: x.baseAddress!, out.baseAddress!, count: out.count)
                }
            }
        }
    }

    /// Hyperbolic tangent.
    public func tanh() -> Tensor { map { Foundation.tanh($0) } }
    /// The tanh backward pass given the forward *output* y: g · (1 − y²).
    public static func tanhBackward(_ gradient: Tensor, output: Tensor) -> Tensor {
        gradient.zipWith(output) { g, y in g * (1 - y * y) }
    }

    /// Σ x.
    public func sum() -> Float { scalars.reduce(0, +) }
    /// Mean of all elements.
    public func mean() -> Float { count == 0 ? 0 : sum() / Float(count) }
    /// Σ x² (for gradient norms).
    public func squaredNorm() -> Float {
        scalars.withUnsafeBufferPointer { x in
            guard let base = x.baseAddress, x.count > 0 else { return 0 }
            return Kernels.sumOfSquares(base, count: x.count)
        }
    }
    /// Largest absolute element.
    public func maxAbs() -> Float { scalars.reduce(0) { Swift.max($0, abs($1)) } }

    /// Means of each column of a rank-2 tensor (axis 0).
    public func meanRows() -> Tensor {
        let s = sumRows()
        return s * (1 / Float(Swift.max(rowCount, 1)))
    }

    /// Sums of each row of a rank-2 tensor (axis 1).
    public func sumColumns() -> Tensor {
        precondition(rank == 2, "sumColumns() needs a rank-2 tensor")
        let n = shape[1]
        return Tensor(shape: [shape[0]], scalars: (0..<shape[0]).map { i in
            var s: Float = 0
            for j in 0..<n { s += scalars[i * n + j] }
            return s
        })
    }
}
