import PythonBridge
import Testing

@Suite struct ConversionTests {
    @Test func scalarsRoundTrip() throws {
        #expect(try Int(python: 42.pythonObject()) == 42)
        #expect(try Int(python: (-7_000_000_000_000).pythonObject()) == -7_000_000_000_000)
        #expect(try Double(python: 2.5.pythonObject()) == 2.5)
        #expect(try Float(python: Float(0.1).pythonObject()) == Float(0.1))
        #expect(try Bool(python: true.pythonObject()) == true)
        #expect(try Bool(python: false.pythonObject()) == false)
        #expect(try String(python: "héllo, 世界".pythonObject()) == "héllo, 世界")
        #expect(try Int?(python: PythonObject.none) == nil)
        #expect(try Int?(python: 3.pythonObject()) == 3)
    }

    @Test func valuesArePythonTypes() throws {
        let builtins = try Python.builtins()
        func typeName(_ v: any PythonConvertible) throws -> String {
            try String(python: builtins.attr("type").call(v).attr("__name__"))
        }
        #expect(try typeName(1) == "int")
        #expect(try typeName(1.5) == "float")
        #expect(try typeName(true) == "bool")
        #expect(try typeName("s") == "str")
        #expect(try typeName([1, 2]) == "list")
        #expect(try typeName(["a": 1]) == "dict")
        #expect(try typeName(PythonTuple(1, "a")) == "tuple")
    }

    @Test func collectionsRoundTrip() throws {
        #expect(try [Int](python: [1, 2, 3].pythonObject()) == [1, 2, 3])
        #expect(try [String: Double](python: ["a": 1.0, "b": 2.5].pythonObject()) == ["a": 1.0, "b": 2.5])
        let ns = try Python.run("t = (1, 2.5, 'x')\nr = range(4)")
        let t = try ns.item("t").elements()
        #expect(try Int(python: t[0]) == 1 && Double(python: t[1]) == 2.5 && String(python: t[2]) == "x")
        #expect(try [Int](python: ns.item("r")) == [0, 1, 2, 3])
    }

    @Test func numpyScalarsConvert() throws {
        let np = try Python.import("numpy")
        #expect(try Double(python: np.method("float32", 1.5)) == 1.5)
        #expect(try Int(python: np.method("int64", 9)) == 9)
        #expect(try Bool(python: np.method("bool_", true)) == true)
    }

    @Test func wrongTypesThrowConversionErrors() throws {
        #expect(throws: PythonError.self) { try String(python: 3.pythonObject()) }
        #expect(throws: PythonError.self) { try Int(python: "3".pythonObject()) }
        #expect(throws: PythonError.self) { try Int(python: 3.5.pythonObject()) }
        #expect(throws: PythonError.self) { try Double(python: "x".pythonObject()) }
        #expect(throws: PythonError.self) { try Bool(python: "yes".pythonObject()) }
        do {
            _ = try String(python: 3.pythonObject())
        } catch let e as PythonError {
            guard case .conversion(let text) = e else { Issue.record("expected .conversion, got \(e)"); return }
            #expect(text.contains("int") && text.contains("String"))
        }
    }

    @Test func callsWithKeywordsAndAttributes() throws {
        let ns = try Python.run("""
            class Box:
                def __init__(self, v): self.v = v
            def f(a, b=10, *, c=100):
                return a + b + c
            """)
        #expect(try Int(python: ns.item("f").call(1)) == 111)
        #expect(try Int(python: ns.item("f").call(1, 2, kwargs: ["c": 3])) == 6)
        let box = try ns.item("Box").call(5)
        #expect(try Int(python: box.attr("v")) == 5)
        try box.setAttr("v", 8)
        #expect(try Int(python: box.attr("v")) == 8)
        #expect(try box.hasAttr("missing") == false)
        let list = try [1, 2, 3].pythonObject()
        try list.setItem(0, 9)
        #expect(try Int(python: list.item(0)) == 9)
        #expect(try list.count() == 3)
    }
}
