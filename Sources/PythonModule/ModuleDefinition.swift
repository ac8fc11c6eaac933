import CPython
import Glibc
import PythonBridge

/// Builds the module object: a table of C-callable functions that forward to `Bindings`.
enum ModuleDefinition {
    typealias Function = @convention(c) (UnsafeMutablePointer<PyObject>?, UnsafeMutablePointer<PyObject>?,
                                         UnsafeMutablePointer<PyObject>?) -> UnsafeMutablePointer<PyObject>?

    static func create() -> UnsafeMutablePointer<PyObject>? {
        let functions: [(String, Function, String)] = [
            ("dqn_defaults", { _, a, _ in Bindings.call(a, Bindings.dqnDefaults) },
             "dqn_defaults(env_id) -> JSON of the published DQN settings for that environment."),
            ("distill_defaults", { _, a, _ in Bindings.call(a, Bindings.distillDefaults) },
             "distill_defaults() -> JSON of the distillation defaults."),
            ("train", { _, a, _ in Bindings.call(a, Bindings.train) },
             "train(env, env_name, config_json, out, force, resume, callback) -> dict."),
            ("distill", { _, a, _ in Bindings.call(a, Bindings.distill) },
             "distill(config_json, out, env, force, callback) -> dict."),
            ("q_values", { _, a, _ in Bindings.call(a, Bindings.qValues) },
             "q_values(model_dir, observations) -> ndarray of the Swift core's Q-values."),
            ("compare", { _, a, _ in Bindings.call(a, Bindings.compare) },
             "compare(teacher, student, episodes, seed, env) -> JSON."),
        ]
        // The tables must outlive the module: allocated once per process, never freed.
        let methods = UnsafeMutablePointer<PyMethodDef>.allocate(capacity: functions.count + 1)
        for (i, f) in functions.enumerated() {
            methods[i] = PyMethodDef(ml_name: strdup(f.0), ml_meth: unsafeBitCast(f.1, to: PyCFunction.self),
                                     ml_flags: METH_VARARGS, ml_doc: strdup(f.2))
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
