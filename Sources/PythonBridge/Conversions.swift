import CPython

/// A Swift value that can become a Python object.
public protocol PythonConvertible {
    /// A new Python object for this value.
    func pythonObject() throws -> PythonObject
}

/// A Swift value that can be read from a Python object.
public protocol ConvertibleFromPython {
    /// Reads a value, throwing `PythonError.conversion` when the Python object does not fit.
    init(python: PythonObject) throws
}

extension PythonObject: PythonConvertible {
    public func pythonObject() throws -> PythonObject { self }
}

extension PythonObject {
    /// Reads this object as a Swift value, e.g. `try obs.as(Double.self)`.
    public func `as`<T: ConvertibleFromPython>(_ type: T.Type) throws -> T { try T(python: self) }

    fileprivate func conversionError(_ swiftType: String) -> PythonError {
        .conversion("cannot convert a Python \(typeName) (\(description.prefix(80))) to \(swiftType)")
    }
}

extension Int: PythonConvertible, ConvertibleFromPython {
    public func pythonObject() throws -> PythonObject {
        try Python.withGIL { try PythonObject(checking: PyLong_FromLongLong(Int64(self))) }
    }
    /// Accepts Python ints, bools and anything with `__index__` (NumPy integers); not floats.
    public init(python o: PythonObject) throws {
        self = try Python.withGIL {
            guard let index = PyNumber_Index(o.pointer) else {
                PyErr_Clear()
                throw o.conversionError("Int")
            }
            defer { cpy_decref(index) }
            let v = PyLong_AsLongLong(index)
            if v == -1, PyErr_Occurred() != nil { throw PythonError.fetch() }
            return Int(v)
        }
    }
}

extension Int32: PythonConvertible {
    public func pythonObject() throws -> PythonObject { try Int(self).pythonObject() }
}

extension Double: PythonConvertible, ConvertibleFromPython {
    public func pythonObject() throws -> PythonObject {
        try Python.withGIL { try PythonObject(checking: PyFloat_FromDouble(self)) }
    }
    /// Accepts Python floats, ints, bools and NumPy scalars (anything with `__float__`).
    public init(python o: PythonObject) throws {
        self = try Python.withGIL {
            if cpy_is_unicode(o.pointer) != 0 { throw o.conversionError("Double") }
            let v = PyFloat_AsDouble(o.pointer)
            if v == -1, PyErr_Occurred() != nil {
                PyErr_Clear()
                throw o.conversionError("Double")
            }
            return v
        }
    }
}

extension Float: PythonConvertible, ConvertibleFromPython {
    public func pythonObject() throws -> PythonObject { try Double(self).pythonObject() }
    public init(python o: PythonObject) throws { self = Float(try Double(python: o)) }
}

extension Bool: PythonConvertible, ConvertibleFromPython {
    public func pythonObject() throws -> PythonObject {
        try Python.withGIL { PythonObject(borrowing: self ? cpy_true() : cpy_false()) }
    }
    /// Accepts Python bools, NumPy bools and integers 0/1 — the values Gymnasium's flags take.
    public init(python o: PythonObject) throws {
        self = try Python.withGIL {
            if cpy_is_bool(o.pointer) != 0 { return o.pointer == cpy_true() }
            if let i = try? Int(python: o), i == 0 || i == 1 { return i == 1 }
            let module = (try? String(python: o.attr("__class__").attr("__module__"))) ?? ""
            if module == "numpy" {
                let r = PyObject_IsTrue(o.pointer)
                if r < 0 { throw PythonError.fetch() }
                return r == 1
            }
            throw o.conversionError("Bool")
        }
    }
}

extension String: PythonConvertible, ConvertibleFromPython {
    public func pythonObject() throws -> PythonObject {
        try Python.withGIL {
            var copy = self
            return try copy.withUTF8 { bytes in
                try PythonObject(checking: PyUnicode_FromStringAndSize(
                    UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self), bytes.count))
            }
        }
    }
    /// Accepts Python `str` only.
    public init(python o: PythonObject) throws {
        self = try Python.withGIL {
            guard cpy_is_unicode(o.pointer) != 0 else { throw o.conversionError("String") }
            var size = 0
            guard let c = PyUnicode_AsUTF8AndSize(o.pointer, &size) else { throw PythonError.fetch() }
            return String(decoding: UnsafeRawBufferPointer(start: c, count: size), as: UTF8.self)
        }
    }
}

extension Optional: PythonConvertible where Wrapped: PythonConvertible {
    public func pythonObject() throws -> PythonObject {
        switch self {
        case .none: return try PythonObject.none
        case .some(let w): return try w.pythonObject()
        }
    }
}

extension Optional: ConvertibleFromPython where Wrapped: ConvertibleFromPython {
    /// `None` becomes `nil`.
    public init(python o: PythonObject) throws {
        self = o.isNone ? nil : try Wrapped(python: o)
    }
}

extension Array: PythonConvertible where Element: PythonConvertible {
    /// A Python list.
    public func pythonObject() throws -> PythonObject {
        try Python.withGIL {
            let list = try PythonObject(checking: PyList_New(count))
            for (i, e) in enumerated() {
                let o = try e.pythonObject()
                cpy_incref(o.pointer)
                cpy_list_set(list.pointer, i, o.pointer)
            }
            return list
        }
    }
}

extension Array: ConvertibleFromPython where Element: ConvertibleFromPython {
    /// Accepts lists, tuples and any other iterable (e.g. a 1-d ndarray).
    public init(python o: PythonObject) throws {
        if try Python.withGIL({ cpy_is_unicode(o.pointer) != 0 }) { throw o.conversionError("Array") }
        self = try o.elements().map { try Element(python: $0) }
    }
}

extension Dictionary: PythonConvertible where Key == String, Value: PythonConvertible {
    /// A Python dict with `str` keys.
    public func pythonObject() throws -> PythonObject {
        try Python.withGIL {
            let d = try PythonObject(checking: PyDict_New())
            for (k, v) in self {
                let o = try v.pythonObject()
                if PyDict_SetItemString(d.pointer, k, o.pointer) != 0 { throw PythonError.fetch() }
            }
            return d
        }
    }
}

extension Dictionary: ConvertibleFromPython where Key == String, Value: ConvertibleFromPython {
    /// Accepts any mapping with `str` keys.
    public init(python o: PythonObject) throws {
        let items = try o.method("items").elements()
        var result: [String: Value] = [:]
        for pair in items {
            let kv = try pair.elements()
            result[try String(python: kv[0])] = try Value(python: kv[1])
        }
        self = result
    }
}

/// A Python tuple built from Swift values: `try PythonTuple(1, "a", 2.5).pythonObject()`.
public struct PythonTuple: PythonConvertible {
    public let items: [any PythonConvertible]
    public init(_ items: any PythonConvertible...) { self.items = items }
    public init(items: [any PythonConvertible]) { self.items = items }
    public func pythonObject() throws -> PythonObject {
        try Python.withGIL {
            let t = try PythonObject(checking: PyTuple_New(items.count))
            for (i, e) in items.enumerated() {
                let o = try e.pythonObject()
                cpy_incref(o.pointer)
                cpy_tuple_set(t.pointer, i, o.pointer)
            }
            return t
        }
    }
}

extension PythonObject {
    /// A Python dict from values of mixed Swift types.
    public static func dictionary(_ items: [String: any PythonConvertible]) throws -> PythonObject {
        try Python.withGIL {
            let d = try PythonObject(checking: PyDict_New())
            for (k, v) in items {
                let o = try v.pythonObject()
                if PyDict_SetItemString(d.pointer, k, o.pointer) != 0 { throw PythonError.fetch() }
            }
            return d
        }
    }
}
