import CPython
import PythonBridge

/// The CPython extension module `swiftdistill._core`: created when Python imports it.
@_cdecl("PyInit__core")
public func PyInit__core() -> UnsafeMutablePointer<PyObject>? {
    ModuleDefinition.create()
}
