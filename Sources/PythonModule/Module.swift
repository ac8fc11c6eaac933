import CPython
import PythonBridge
import Tensor

/// The CPython extension module `swiftdistill._core`: created when Python imports it.
@_cdecl("PyInit__core")
public func PyInit__core() -> UnsafeMutablePointer<PyObject>? {
    return ModuleDefinition.create()
}
