import CPython
import PythonBridge
import Tensor

/// The CPython extension module `swiftdistill._core`: created when Python imports it.
@_cdecl("PyInit__core")
public func PyInit__core() -> UnsafeMutablePointer<PyObject>? {
    guard CPUSupport.isSupported else {
        PyErr_SetString(cpy_exc_import_error(), CPUSupport.requirement)
        return nil
    }
    return ModuleDefinition.create()
}
