import CPython
import PythonBridge

/// Builds the module object: a table of C-callable functions that forward to Swift.
enum ModuleDefinition {
    typealias Function = @convention(c) (UnsafeMutablePointer<PyObject>?, UnsafeMutablePointer<PyObject>?,
                                         UnsafeMutablePointer<PyObject>?) -> UnsafeMutablePointer<PyObject>?

    static func create() -> UnsafeMutablePointer<PyObject>? {
        let functions: [(String, Function, String)] = [
            ("version", { _, _, _ in Bindings.call { try "swift-distill core".pythonObject() } }, "Version string of the Swift core."),
        ]
        // The tables must outlive the module: allocate them once and never free them.
        let methods = UnsafeMutablePointer<PyMethodDef>.allocate(capacity: functions.count + 1)
        for (i, f) in functions.enumerated() {
            methods[i] = PyMethodDef(ml_name: strdup(f.0), ml_meth: unsafeBitCast(f.1, to: PyCFunction.self),
                                     ml_flags: METH_VARARGS | METH_KEYWORDS, ml_doc: strdup(f.2))
        }
        methods[functions.count] = PyMethodDef(ml_name: nil, ml_meth: nil, ml_flags: 0, ml_doc: nil)
        let definition = UnsafeMutablePointer<PyModuleDef>.allocate(capacity: 1)
        definition.initialize(to: PyModuleDef(
            m_base: PyModuleDef_Base(ob_base: PyObject(ob_refcnt: 1, ob_type: nil), m_init: nil, m_index: 0, m_copy: nil),
            m_name: strdup("swiftdistill._core"), m_doc: strdup("The swift-distill core, in process."), m_size: -1,
            m_methods: methods, m_slots: nil, m_traverse: nil, m_clear: nil, m_free: nil))
        return PyModule_Create2(definition, PYTHON_API_VERSION)
    }
}

/// Runs a binding body, turning Swift errors into Python exceptions (returns NULL with one set).
enum Bindings {
    static func call(_ body: () throws -> PythonObject) -> UnsafeMutablePointer<PyObject>? {
        do {
            let result = try body()
            cpy_incref(result.pointer)
            return result.pointer
        } catch {
            PyErr_SetString(cpy_exc_runtime_error(), "\(error)")
            return nil
        }
    }
}

import Glibc
