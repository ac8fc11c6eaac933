import PythonBridge
import Testing

@Suite struct NumPyTests {
    let np: PythonObject
    init() throws { np = try Python.import("numpy") }

    @Test func readsFloat32WithoutCopying() throws {
        let a = try np.method("arange", 12, kwargs: ["dtype": "float32"]).method("reshape", 3, 4)
        let address = try Int(python: a.attr("ctypes").attr("data"))
        try a.withUnsafeArray(of: Float.self, conversion: .reject) { buffer, shape in
            #expect(Int(bitPattern: buffer.baseAddress) == address)
            #expect(shape == [3, 4])
            #expect(Array(buffer) == (0..<12).map(Float.init))
        }
    }

    @Test func eachDTypeReadsAsItself() throws {
        try check(Double.self, "float64", [1.5, -2.25])
        try check(Int64.self, "int64", [1, -9_000_000_000])
        try check(Int32.self, "int32", [7, -7])
        try check(UInt8.self, "uint8", [0, 255])
        try check(Bool.self, "bool", [true, false])
    }

    private func check<T: NumPyScalar & Equatable>(_ type: T.Type, _ dtype: String, _ values: [T]) throws {
        let a = try np.method("array", values, kwargs: ["dtype": dtype])
        let read = try a.withUnsafeArray(of: T.self, conversion: .reject) { b, _ in Array(b) }
        #expect(read == values)
        #expect(try a.floatArray().count == values.count)
    }

    @Test func nonContiguousIsRejectedOrConvertedOnce() throws {
        let a = try np.method("arange", 10, kwargs: ["dtype": "float32"])
        let strided = try a.item(Python.builtins().attr("slice").call(PythonObject.none, PythonObject.none, 2))
        do {
            try strided.withUnsafeArray(of: Float.self, conversion: .reject) { _, _ in }
            Issue.record("expected a buffer error")
        } catch let e as PythonError {
            guard case .buffer(let text) = e else { Issue.record("got \(e)"); return }
            #expect(text.contains("non-contiguous"))
        }
        let values = try strided.withUnsafeArray(of: Float.self) { b, _ in Array(b) }
        #expect(values == [0, 2, 4, 6, 8])
        #expect(try strided.floatArray() == [0, 2, 4, 6, 8])
    }

    @Test func wrongDTypeIsRejectedOrConverted() throws {
        let a = try np.method("array", [1.5, 2.5], kwargs: ["dtype": "float64"])
        #expect(throws: PythonError.self) { try a.withUnsafeArray(of: Float.self, conversion: .reject) { _, _ in } }
        #expect(try a.withUnsafeArray(of: Float.self) { b, _ in Array(b) } == [1.5, 2.5])
        // Float conversion of other dtypes happens in Swift.
        #expect(try np.method("array", [3, 4], kwargs: ["dtype": "int64"]).floatArray() == [3, 4])
        #expect(try [0.5, 1.5].pythonObject().floatArray() == [0.5, 1.5])
        #expect(throws: PythonError.self) { try "abc".pythonObject().floatArray() }
    }

    @Test func makesArraysFromSwift() throws {
        let values: [Float] = [1, 2, 3, 4, 5, 6]
        let a = try PythonObject.ndarray(values, shape: [2, 3])
        #expect(try String(python: a.attr("dtype").attr("name")) == "float32")
        #expect(try a.arrayShape() == [2, 3])
        #expect(try Double(python: a.item(PythonTuple(1, 2))) == 6)
        let flags = try Bool(python: a.attr("flags").item("OWNDATA"))
        #expect(flags)
        let i = try PythonObject.ndarray([Int64(5), 6])
        #expect(try String(python: i.attr("dtype").attr("name")) == "int64")
        let scalar = try PythonObject.ndarray([Double(2.5)], shape: [])
        #expect(try a.arrayShape() == [2, 3] && scalar.arrayShape() == [])
        #expect(throws: PythonError.self) { try PythonObject.ndarray(values, shape: [4, 2]) }
    }
}
