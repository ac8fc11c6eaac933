import CPython

/// A Python exception caught at the bridge: its type, message and formatted traceback.
public struct PythonException: Error, CustomStringConvertible, Sendable {
    /// Qualified type name, e.g. `ValueError` or `gymnasium.error.NameNotFound`.
    public let typeName: String
    /// `str(exception)`.
    public let message: String
    /// The traceback as `traceback.format_exception` prints it (empty when there was none).
    public let traceback: String

    public var description: String {
        message.isEmpty ? typeName : "\(typeName): \(message)"
    }

    /// True when this exception is (a subclass of) the named built-in, e.g. "KeyboardInterrupt".
    public func isKind(of builtin: String) -> Bool { mro.contains(builtin) }
    let mro: [String]
    /// The exception object itself, so it can be raised again unchanged (e.g. when Swift code
    /// called from Python passes a user's exception back up).
    public let value: PythonObject?

    /// Makes this exception the pending Python exception again (the GIL must be held).
    public func restore() {
        guard let value else { return }
        PyErr_SetObject(cpy_type_of(value.pointer), value.pointer)
    }
}

/// Every failure the bridge reports. Nothing Python does is allowed to crash the Swift process.
public enum PythonError: Error, CustomStringConvertible, Sendable {
    /// Python raised an exception.
    case exception(PythonException)
    /// The interpreter could not start, or does not match the packages it would import.
    case startup(String)
    /// A Python value could not be converted to the Swift type asked for.
    case conversion(String)
    /// An array's buffer does not have the dtype or layout asked for.
    case buffer(String)

    public var description: String {
        switch self {
        case .exception(let e): return e.description
        case .startup(let s), .conversion(let s), .buffer(let s): return s
        }
    }

    /// The Python exception, when this error is one.
    public var exception: PythonException? {
        if case .exception(let e) = self { return e }
        return nil
    }
}

extension PythonError {
    /// Takes the pending Python exception (the GIL must be held) and clears it.
    public static func fetch() -> PythonError {
        var pendingType: UnsafeMutablePointer<PyObject>?
        var value: UnsafeMutablePointer<PyObject>?
        var tb: UnsafeMutablePointer<PyObject>?
        PyErr_Fetch(&pendingType, &value, &tb)
        guard pendingType != nil else {
            return .conversion("a Python call failed without setting an exception")
        }
        PyErr_NormalizeException(&pendingType, &value, &tb)
        guard let type = pendingType else { return .conversion("a Python exception could not be read") }
        if let tb, let value { PyException_SetTraceback(value, tb) }
        defer { cpy_xdecref(type); cpy_xdecref(value); cpy_xdecref(tb) }

        let typeName = qualifiedName(ofType: type)
        let message = value.map { describe($0) } ?? ""
        var mro: [String] = []
        if let names = PyObject_GetAttrString(type, "__mro__") {
            for i in 0..<cpy_tuple_size(names) {
                if let n = PyObject_GetAttrString(cpy_tuple_item(names, i), "__name__") {
                    if let c = PyUnicode_AsUTF8(n) { mro.append(String(cString: c)) }
                    cpy_decref(n)
                }
            }
            cpy_decref(names)
        }
        PyErr_Clear()
        let traceback = formatTraceback(type: type, value: value, tb: tb)
        return .exception(PythonException(typeName: typeName, message: message, traceback: traceback,
                                          mro: mro, value: value.map { PythonObject(borrowing: $0) }))
    }

    private static func qualifiedName(ofType type: UnsafeMutablePointer<PyObject>) -> String {
        let name = attributeString(type, "__qualname__") ?? "Exception"
        guard let module = attributeString(type, "__module__"), module != "builtins" else { return name }
        return "\(module).\(name)"
    }

    private static func attributeString(_ o: UnsafeMutablePointer<PyObject>, _ name: String) -> String? {
        guard let a = PyObject_GetAttrString(o, name) else { PyErr_Clear(); return nil }
        defer { cpy_decref(a) }
        guard cpy_is_unicode(a) != 0, let c = PyUnicode_AsUTF8(a) else { PyErr_Clear(); return nil }
        return String(cString: c)
    }

    private static func describe(_ o: UnsafeMutablePointer<PyObject>) -> String {
        guard let s = PyObject_Str(o) else { PyErr_Clear(); return "<unprintable exception>" }
        defer { cpy_decref(s) }
        guard let c = PyUnicode_AsUTF8(s) else { PyErr_Clear(); return "<unprintable exception>" }
        return String(cString: c)
    }

    private static func formatTraceback(type: UnsafeMutablePointer<PyObject>,
                                        value: UnsafeMutablePointer<PyObject>?,
                                        tb: UnsafeMutablePointer<PyObject>?) -> String {
        guard let module = PyImport_ImportModule("traceback") else { PyErr_Clear(); return "" }
        defer { cpy_decref(module) }
        guard let format = PyObject_GetAttrString(module, "format_exception") else { PyErr_Clear(); return "" }
        defer { cpy_decref(format) }
        guard let args = PyTuple_New(3) else { PyErr_Clear(); return "" }
        defer { cpy_decref(args) }
        for (i, o) in [type, value ?? cpy_none(), tb ?? cpy_none()].enumerated() {
            cpy_incref(o)
            cpy_tuple_set(args, i, o)
        }
        guard let lines = PyObject_CallObject(format, args) else { PyErr_Clear(); return "" }
        defer { cpy_decref(lines) }
        var text = ""
        for i in 0..<PyList_Size(lines) {
            if let c = PyUnicode_AsUTF8(cpy_list_item(lines, i)) { text += String(cString: c) }
        }
        PyErr_Clear()
        return text
    }
}
