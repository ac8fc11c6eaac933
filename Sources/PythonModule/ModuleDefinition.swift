import CPython
import Glibc
import PythonBridge

/// Builds the module object: a table of C-callable functions, each taking keyword arguments,
/// that forward to `Bindings`. All pointer handling of the extension is here.
enum ModuleDefinition {
    typealias Function = @convention(c) (UnsafeMutablePointer<PyObject>?, UnsafeMutablePointer<PyObject>?,
                                         UnsafeMutablePointer<PyObject>?) -> UnsafeMutablePointer<PyObject>?

    static func create() -> UnsafeMutablePointer<PyObject>? {
        let functions: [(Bindings.Function, Function)] = [
            (Bindings.settingsSchema, { _, a, k in ModuleDefinition.call(Bindings.settingsSchema, a, k) }),
            (Bindings.parseLosses, { _, a, k in ModuleDefinition.call(Bindings.parseLosses, a, k) }),
            (Bindings.checkSettings, { _, a, k in ModuleDefinition.call(Bindings.checkSettings, a, k) }),
            (Bindings.train, { _, a, k in ModuleDefinition.call(Bindings.train, a, k) }),
            (Bindings.distill, { _, a, k in ModuleDefinition.call(Bindings.distill, a, k) }),
            (Bindings.codistill, { _, a, k in ModuleDefinition.call(Bindings.codistill, a, k) }),
            (Bindings.qValues, { _, a, k in ModuleDefinition.call(Bindings.qValues, a, k) }),
            (Bindings.liveQValues, { _, a, k in ModuleDefinition.call(Bindings.liveQValues, a, k) }),
            (Bindings.liveObservationsFunction, { _, a, k in ModuleDefinition.call(Bindings.liveObservationsFunction, a, k) }),
            (Bindings.environmentSessionObservations, { _, a, k in ModuleDefinition.call(Bindings.environmentSessionObservations, a, k) }),
            (Bindings.releaseEnvironmentSession, { _, a, k in ModuleDefinition.call(Bindings.releaseEnvironmentSession, a, k) }),
            (Bindings.compare, { _, a, k in ModuleDefinition.call(Bindings.compare, a, k) }),
            (Bindings.quantize, { _, a, k in ModuleDefinition.call(Bindings.quantize, a, k) }),
            (Bindings.robustness, { _, a, k in ModuleDefinition.call(Bindings.robustness, a, k) }),
            (Bindings.exportCode, { _, a, k in ModuleDefinition.call(Bindings.exportCode, a, k) }),
            (Bindings.setEnvironmentIsolation, { _, a, k in ModuleDefinition.call(Bindings.setEnvironmentIsolation, a, k) }),
            (Bindings.runCommandLine, { _, a, k in ModuleDefinition.call(Bindings.runCommandLine, a, k) }),
        ]
        // The tables must outlive the module: allocated once per process, never freed.
        let methods = UnsafeMutablePointer<PyMethodDef>.allocate(capacity: functions.count + 1)
        for (i, (f, c)) in functions.enumerated() {
            let doc = "\(f.name)(\(f.parameters.joined(separator: ", "))) — \(f.doc)"
            methods[i] = PyMethodDef(ml_name: strdup(f.name), ml_meth: unsafeBitCast(c, to: PyCFunction.self),
                                     ml_flags: METH_VARARGS | METH_KEYWORDS, ml_doc: strdup(doc))
        }
        methods[functions.count] = PyMethodDef(ml_name: nil, ml_meth: nil, ml_flags: 0, ml_doc: nil)
        let definition = UnsafeMutablePointer<PyModuleDef>.allocate(capacity: 1)
        definition.initialize(to: PyModuleDef(
            m_base: PyModuleDef_Base(ob_base: PyObject(ob_refcnt: 1, ob_type: nil), m_init: nil, m_index: 0, m_copy: nil),
            m_name: strdup("swiftdistill._core"), m_doc: strdup("The swift-distill core, in process."), m_size: -1,
            m_methods: methods, m_slots: nil, m_traverse: nil, m_clear: nil, m_free: nil))
        return PyModule_Create2(definition, PYTHON_API_VERSION)
    }

    /// Reads the arguments by name, runs the function, and turns a Swift error into the
    /// matching Python exception (the return value is then NULL, as CPython expects).
    static func call(_ function: Bindings.Function, _ args: UnsafeMutablePointer<PyObject>?,
                     _ kwargs: UnsafeMutablePointer<PyObject>?) -> UnsafeMutablePointer<PyObject>? {
        do {
            let positional = try args.map { try PythonObject(borrowing: $0).elements() } ?? []
            var keywords: [String: PythonObject] = [:]
            if let kwargs {
                for pair in try PythonObject(borrowing: kwargs).method("items").elements() {
                    let kv = try pair.elements()
                    keywords[try String(python: kv[0])] = kv[1]
                }
            }
            let arguments = try Arguments(function: function, positional: positional, keywords: keywords)
            let result = try function.body(arguments)
            cpy_incref(result.pointer)
            return result.pointer
        } catch {
            Bindings.raise(error, in: function.name)
            return nil
        }
    }
}
