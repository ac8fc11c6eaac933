import CPython

/// Borrowed, typed access to a tuple's items without wrapping each in a `PythonObject`:
/// the hot path for unpacking results such as `env.step`'s five-tuple. Valid only inside
/// `PythonObject.withTupleView`, which holds the GIL and the tuple.
public struct PythonTupleView {
    private let tuple: UnsafeMutablePointer<PyObject>
    /// Number of items (0 when the object was not a tuple).
    public let count: Int

    fileprivate init(_ tuple: UnsafeMutablePointer<PyObject>, count: Int) {
        self.tuple = tuple
        self.count = count
    }

    private func item(_ i: Int) -> UnsafeMutablePointer<PyObject> {
        precondition(i >= 0 && i < count, "tuple index \(i) out of range 0..<\(count)")
        return cpy_tuple_item(tuple, i)!
    }

    /// Item `i` as an owning object.
    public func object(_ i: Int) -> PythonObject { PythonObject(borrowing: item(i)) }

    /// Item `i` as a Double (floats, ints, bools, NumPy scalars); nil when it is not a number.
    public func double(_ i: Int) -> Double? {
        let p = item(i)
        if cpy_is_unicode(p) != 0 { return nil }
        let v = PyFloat_AsDouble(p)
        if v == -1, PyErr_Occurred() != nil { PyErr_Clear(); return nil }
        return v
    }

    /// Item `i` as a Bool (Python or NumPy bool, or the ints 0 and 1); nil otherwise.
    public func bool(_ i: Int) -> Bool? {
        let p = item(i)
        if cpy_is_bool(p) != 0 { return p == cpy_true() }
        return try? Bool(python: PythonObject(borrowing: p))
    }

    /// True when item `i` is a dict.
    public func isDict(_ i: Int) -> Bool { cpy_is_dict(item(i)) != 0 }

    /// Item `i` (an array or sequence of numbers) copied into Float32s, converted as needed.
    public func floats(_ i: Int) throws -> [Float] {
        var out: [Float] = []
        try PythonObject.readFloats(of: item(i)) { copy, n in
            out = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
                if n > 0 { copy(buffer.baseAddress!) }
                initialized = n
            }
        }
        return out
    }
}

extension PythonObject {
    /// Runs `body` with typed, borrowed access to this tuple's items (count 0 if not a tuple).
    public func withTupleView<R>(_ body: (PythonTupleView) throws -> R) throws -> R {
        try Python.withGIL {
            let isTuple = cpy_is_tuple(pointer) != 0
            let view = PythonTupleView(pointer, count: isTuple ? cpy_tuple_size(pointer) : 0)
            return try body(view)
        }
    }
}
