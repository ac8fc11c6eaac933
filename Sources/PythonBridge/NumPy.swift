import CPython

/// The NumPy dtypes that cross the bridge.
public enum NumPyDType: String, Sendable, CaseIterable {
    case float32, float64, int64, int32, uint8, bool

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .uint8, .bool: return 1
        }
    }

    /// Reads a PEP 3118 format string (as NumPy exports it) with its item size.
    init?(bufferFormat: UnsafePointer<CChar>, itemSize: Int) {
        var p = bufferFormat
        if p[0] == 0x40 || p[0] == 0x3D || p[0] == 0x3C { p += 1 }  // '@', '=', '<'
        guard p[0] != 0, p[1] == 0 else { return nil }
        let c = Character(Unicode.Scalar(UInt8(bitPattern: p[0])))
        switch (c, itemSize) {
        case ("f", 4): self = .float32
        case ("d", 8): self = .float64
        case ("q", 8), ("l", 8): self = .int64
        case ("i", 4), ("l", 4): self = .int32
        case ("B", 1): self = .uint8
        case ("?", 1): self = .bool
        default: return nil
        }
    }
}

/// A Swift scalar type with a NumPy dtype of the same memory layout.
public protocol NumPyScalar: PythonConvertible, Sendable {
    static var numpyDType: NumPyDType { get }
}
extension Float: NumPyScalar { public static var numpyDType: NumPyDType { .float32 } }
extension Double: NumPyScalar { public static var numpyDType: NumPyDType { .float64 } }
extension Int64: NumPyScalar {
    public static var numpyDType: NumPyDType { .int64 }
    public func pythonObject() throws -> PythonObject { try Int(self).pythonObject() }
}
extension Int32: NumPyScalar { public static var numpyDType: NumPyDType { .int32 } }
extension UInt8: NumPyScalar {
    public static var numpyDType: NumPyDType { .uint8 }
    public func pythonObject() throws -> PythonObject { try Int(self).pythonObject() }
}
extension Bool: NumPyScalar { public static var numpyDType: NumPyDType { .bool } }

/// What to do when an array is not C-contiguous or has another dtype than asked.
public enum NumPyConversion: Sendable {
    /// Convert it once with `numpy.ascontiguousarray(x, dtype=...)` (also accepts lists).
    case copyIfNeeded
    /// Throw `PythonError.buffer` saying what was found.
    case reject
}

extension PythonObject {
    /// Lends the array's memory to `body` without copying, as `T`, with the array's shape.
    /// The pointer is valid only inside `body`; the GIL is held throughout.
    public func withUnsafeArray<T: NumPyScalar, R>(
        of type: T.Type, conversion: NumPyConversion = .copyIfNeeded,
        _ body: (UnsafeBufferPointer<T>, _ shape: [Int]) throws -> R
    ) throws -> R {
        try Python.withGIL {
            let attempt: Result<R, PythonError>? = try withBuffer { view, dtype in
                guard dtype == T.numpyDType else { return nil }
                let shape = (0..<Int(view.ndim)).map { view.shape![$0] }
                let start = view.buf?.assumingMemoryBound(to: T.self)
                let count = view.len / T.numpyDType.itemSize
                return .success(try body(UnsafeBufferPointer(start: count == 0 ? nil : start, count: count), shape))
            }
            if case .success(let r)? = attempt { return r }
            guard conversion == .copyIfNeeded else {
                throw PythonError.buffer("expected a C-contiguous \(T.numpyDType.rawValue) array, got \(try layoutDescription())")
            }
            let converted = try PythonObject.numpy().method(
                "ascontiguousarray", self, kwargs: ["dtype": T.numpyDType.rawValue])
            return try converted.withUnsafeArray(of: T.self, conversion: .reject, body)
        }
    }

    /// Copies a numeric array (any supported dtype, any shape, converted in Swift) into Float32s.
    /// This is how observations cross: one copy, no Python-side conversion for the common dtypes.
    public func floatArray() throws -> [Float] {
        var out: [Float] = []
        try readFloats { source, count in
            out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                source(buffer.baseAddress!)
                initialized = count
            }
        }
        return out
    }

    /// Copies a numeric array into `destination`, which must have exactly as many elements.
    public func copyFloats(into destination: UnsafeMutableBufferPointer<Float>) throws {
        try readFloats { source, count in
            guard count == destination.count else {
                throw PythonError.buffer("expected \(destination.count) values, got an array of \(count)")
            }
            if count > 0 { source(destination.baseAddress!) }
        }
    }

    /// The shape of an ndarray (or anything with a buffer).
    public func arrayShape() throws -> [Int] {
        try Python.withGIL {
            if let s = try withBuffer({ view, _ in (0..<Int(view.ndim)).map { view.shape![$0] } }) { return s }
            return try [Int](python: attr("shape"))
        }
    }

    /// A new ndarray holding a copy of `values` with the given shape (one copy, into NumPy's memory).
    public static func ndarray<T: NumPyScalar>(_ values: [T], shape: [Int]? = nil) throws -> PythonObject {
        let shape = shape ?? [values.count]
        guard shape.reduce(1, *) == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw PythonError.buffer("shape \(shape) does not hold \(values.count) values")
        }
        return try Python.withGIL {
            let array = try numpy().method("empty", shape.map { $0 } as [Int], kwargs: ["dtype": T.numpyDType.rawValue])
            var view = Py_buffer()
            if PyObject_GetBuffer(array.pointer, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0 {
                throw PythonError.fetch()
            }
            defer { PyBuffer_Release(&view) }
            values.withUnsafeBytes { bytes in
                if bytes.count > 0 { view.buf!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            }
            return array
        }
    }

    // MARK: - Internals

    static func numpy() throws -> PythonObject { try Python.import("numpy") }

    /// Gives `body` a strided-format buffer view; nil when the object has no buffer or is not
    /// C-contiguous or has an unsupported format (the caller then converts or rejects).
    private func withBuffer<R>(_ body: (Py_buffer, NumPyDType) throws -> R?) throws -> R? {
        try Self.withBuffer(of: pointer, body)
    }

    private static func withBuffer<R>(of pointer: UnsafeMutablePointer<PyObject>,
                                      _ body: (Py_buffer, NumPyDType) throws -> R?) throws -> R? {
        guard PyObject_CheckBuffer(pointer) != 0 else { return nil }
        var view = Py_buffer()
        if PyObject_GetBuffer(pointer, &view, PyBUF_RECORDS_RO) != 0 {
            PyErr_Clear()
            return nil
        }
        defer { PyBuffer_Release(&view) }
        guard PyBuffer_IsContiguous(&view, CChar(UInt8(ascii: "C"))) != 0,
              let format = view.format,
              let dtype = NumPyDType(bufferFormat: format, itemSize: view.itemsize)
        else { return nil }
        return try body(view, dtype)
    }

    /// Hands `body` a function that converts the array's elements into a Float destination.
    private func readFloats(_ body: (_ copy: (UnsafeMutablePointer<Float>) -> Void, _ count: Int) throws -> Void) throws {
        try Python.withGIL { try Self.readFloats(of: pointer, body) }
    }

    /// Reads any supported array (the GIL must be held), converting in Swift; other objects
    /// (lists, non-contiguous arrays) are converted once by NumPy first.
    static func readFloats(of pointer: UnsafeMutablePointer<PyObject>,
                           _ body: (_ copy: (UnsafeMutablePointer<Float>) -> Void, _ count: Int) throws -> Void) throws {
            let done: Bool? = try withBuffer(of: pointer) { view, dtype in
                let n = view.len / dtype.itemSize
                let raw = UnsafeRawPointer(view.buf)
                try body({ dst in
                    guard let raw else { return }
                    switch dtype {
                    case .float32: dst.update(from: raw.assumingMemoryBound(to: Float.self), count: n)
                    case .float64: convert(raw.assumingMemoryBound(to: Double.self), dst, n) { Float($0) }
                    case .int64: convert(raw.assumingMemoryBound(to: Int64.self), dst, n) { Float($0) }
                    case .int32: convert(raw.assumingMemoryBound(to: Int32.self), dst, n) { Float($0) }
                    case .uint8: convert(raw.assumingMemoryBound(to: UInt8.self), dst, n) { Float($0) }
                    case .bool: convert(raw.assumingMemoryBound(to: UInt8.self), dst, n) { $0 == 0 ? 0 : 1 }
                    }
                }, n)
                return true
            }
            if done == nil {
                let converted = try PythonObject.numpy().method(
                    "ascontiguousarray", PythonObject(borrowing: pointer), kwargs: ["dtype": "float32"])
            try readFloats(of: converted.pointer, body)
        }
    }

    private static func convert<S>(_ src: UnsafePointer<S>, _ dst: UnsafeMutablePointer<Float>, _ n: Int,
                                   _ f: (S) -> Float) {
        for i in 0..<n { dst[i] = f(src[i]) }
    }

    private func layoutDescription() throws -> String {
        guard try hasAttr("dtype") else { return "a \(typeName)" }
        let contiguous = (try? Bool(python: attr("flags").item("C_CONTIGUOUS"))) ?? false
        return "a \(contiguous ? "" : "non-contiguous ")\(try attr("dtype")) array of shape \(try attr("shape"))"
    }
}
