import CPython

/// An owned reference to a Python object, released when the Swift value goes away.
///
/// Every operation takes the GIL itself, so a `PythonObject` may be used from any thread.
/// Failing operations throw `PythonError`; none of them crash.
public final class PythonObject: @unchecked Sendable {
    /// The strong reference this object owns.
    package let pointer: UnsafeMutablePointer<PyObject>

    /// Takes ownership of a new reference.
    package init(owning pointer: UnsafeMutablePointer<PyObject>) {
        self.pointer = pointer
    }

    /// Adds a reference to a borrowed pointer (the GIL must be held).
    package init(borrowing pointer: UnsafeMutablePointer<PyObject>) {
        cpy_incref(pointer)
        self.pointer = pointer
    }

    /// Takes ownership of the result of a C-API call, turning NULL into the pending exception.
    init(checking pointer: UnsafeMutablePointer<PyObject>?) throws {
        guard let pointer else { throw PythonError.fetch() }
        self.pointer = pointer
    }

    deinit {
        if PyGILState_Check() != 0 {
            cpy_decref(pointer)
        } else {
            let state = PyGILState_Ensure()
            cpy_decref(pointer)
            PyGILState_Release(state)
        }
    }

    /// Python's `None`.
    public static var none: PythonObject {
        get throws { try Python.withGIL { PythonObject(borrowing: cpy_none()) } }
    }

    // MARK: Attributes, items, calls

    /// `getattr(self, name)`.
    public func attr(_ name: String) throws -> PythonObject {
        try Python.withGIL { try PythonObject(checking: PyObject_GetAttrString(pointer, name)) }
    }

    /// `hasattr(self, name)`.
    public func hasAttr(_ name: String) throws -> Bool {
        try Python.withGIL { PyObject_HasAttrString(pointer, name) != 0 }
    }

    /// `setattr(self, name, value)`.
    public func setAttr(_ name: String, _ value: any PythonConvertible) throws {
        try Python.withGIL {
            let v = try value.pythonObject()
            if PyObject_SetAttrString(pointer, name, v.pointer) != 0 { throw PythonError.fetch() }
        }
    }

    /// `self[key]`.
    public func item(_ key: any PythonConvertible) throws -> PythonObject {
        try Python.withGIL {
            let k = try key.pythonObject()
            return try PythonObject(checking: PyObject_GetItem(pointer, k.pointer))
        }
    }

    /// `self[key] = value`.
    public func setItem(_ key: any PythonConvertible, _ value: any PythonConvertible) throws {
        try Python.withGIL {
            let k = try key.pythonObject(), v = try value.pythonObject()
            if PyObject_SetItem(pointer, k.pointer, v.pointer) != 0 { throw PythonError.fetch() }
        }
    }

    /// `len(self)`.
    public func count() throws -> Int {
        try Python.withGIL {
            let n = PyObject_Size(pointer)
            if n < 0 { throw PythonError.fetch() }
            return n
        }
    }

    /// `self(*args, **kwargs)`.
    @discardableResult
    public func call(_ args: any PythonConvertible..., kwargs: [String: any PythonConvertible] = [:]) throws -> PythonObject {
        try call(arguments: args, kwargs: kwargs)
    }

    /// `self(*args, **kwargs)` with the arguments as an array.
    @discardableResult
    public func call(arguments args: [any PythonConvertible], kwargs: [String: any PythonConvertible] = [:]) throws -> PythonObject {
        try Python.withGIL {
            let tuple = try PythonObject(checking: PyTuple_New(args.count))
            for (i, a) in args.enumerated() {
                let o = try a.pythonObject()
                cpy_incref(o.pointer)
                cpy_tuple_set(tuple.pointer, i, o.pointer)
            }
            var dict: PythonObject?
            if !kwargs.isEmpty {
                let d = try PythonObject(checking: PyDict_New())
                for (k, v) in kwargs.sorted(by: { $0.key < $1.key }) {
                    let o = try v.pythonObject()
                    if PyDict_SetItemString(d.pointer, k, o.pointer) != 0 { throw PythonError.fetch() }
                }
                dict = d
            }
            return try PythonObject(checking: PyObject_Call(pointer, tuple.pointer, dict?.pointer))
        }
    }

    /// `self.name(*args, **kwargs)`.
    @discardableResult
    public func method(_ name: String, _ args: any PythonConvertible..., kwargs: [String: any PythonConvertible] = [:]) throws -> PythonObject {
        try Python.withGIL { try attr(name).call(arguments: args, kwargs: kwargs) }
    }

    /// `self.name()` without building an argument tuple (a hot path for `env.reset()`-like calls).
    @discardableResult
    public func method(_ name: String) throws -> PythonObject {
        try Python.withGIL {
            let n = try PythonObject(checking: PyUnicode_FromString(name))
            return try PythonObject(checking: PyObject_CallMethodNoArgs(pointer, n.pointer))
        }
    }

    /// `self.<name>(arg)` with a prebuilt method name: the hot path for `env.step(action)`.
    @discardableResult
    public func callMethod(_ name: PythonObject, _ arg: any PythonConvertible) throws -> PythonObject {
        try Python.withGIL {
            let a = try arg.pythonObject()
            return try PythonObject(checking: PyObject_CallMethodOneArg(pointer, name.pointer, a.pointer))
        }
    }

    /// The items of a tuple; an empty array for anything else.
    public func tupleItems() throws -> [PythonObject] {
        try Python.withGIL {
            guard cpy_is_tuple(pointer) != 0 else { return [] }
            return (0..<cpy_tuple_size(pointer)).map { PythonObject(borrowing: cpy_tuple_item(pointer, $0)) }
        }
    }

    /// The elements of a tuple or list (or any iterable), e.g. to unpack `env.step` results.
    public func elements() throws -> [PythonObject] {
        try Python.withGIL {
            if cpy_is_tuple(pointer) != 0 {
                return (0..<cpy_tuple_size(pointer)).map { PythonObject(borrowing: cpy_tuple_item(pointer, $0)) }
            }
            if cpy_is_list(pointer) != 0 {
                return (0..<cpy_list_size(pointer)).map { PythonObject(borrowing: cpy_list_item(pointer, $0)) }
            }
            let iterator = try PythonObject(checking: PyObject_GetIter(pointer))
            var items: [PythonObject] = []
            while let next = PyIter_Next(iterator.pointer) { items.append(PythonObject(owning: next)) }
            if PyErr_Occurred() != nil { throw PythonError.fetch() }
            return items
        }
    }

    // MARK: Identity and type

    /// `self is None`.
    public var isNone: Bool { pointer == cpy_none() }

    /// True for Python tuples.
    public var isTuple: Bool { (try? Python.withGIL { cpy_is_tuple(pointer) != 0 }) ?? false }

    /// True for Python dicts.
    public var isDict: Bool { (try? Python.withGIL { cpy_is_dict(pointer) != 0 }) ?? false }

    /// True for classes (types), as opposed to instances and functions.
    public var isType: Bool { (try? Python.withGIL { cpy_is_type(pointer) != 0 }) ?? false }

    /// `callable(self)`.
    public var isCallable: Bool { (try? Python.withGIL { PyCallable_Check(pointer) != 0 }) ?? false }

    /// `isinstance(self, cls)`.
    public func isInstance(of cls: PythonObject) throws -> Bool {
        try Python.withGIL {
            let r = PyObject_IsInstance(pointer, cls.pointer)
            if r < 0 { throw PythonError.fetch() }
            return r == 1
        }
    }

    /// `type(self).__name__`, for messages.
    public var typeName: String {
        (try? Python.withGIL {
            let t = PythonObject(borrowing: cpy_type_of(pointer))
            return try String(python: t.attr("__name__"))
        }) ?? "?"
    }
}

extension PythonObject: CustomStringConvertible {
    /// `str(self)`.
    public var description: String {
        (try? Python.withGIL {
            let s = try PythonObject(checking: PyObject_Str(pointer))
            return try String(python: s)
        }) ?? "<unprintable \(typeName)>"
    }
}
