import PythonBridge
import Testing

@Suite struct ExceptionTests {
    @Test func exceptionCarriesTypeMessageAndTraceback() throws {
        let ns = try Python.run("""
            def inner():
                raise ValueError("bad value 17")
            def outer():
                inner()
            """)
        do {
            try ns.item("outer").call()
            Issue.record("expected an exception")
        } catch let error as PythonError {
            let e = try #require(error.exception)
            #expect(e.typeName == "ValueError")
            #expect(e.message == "bad value 17")
            #expect(e.traceback.contains("Traceback (most recent call last)"))
            #expect(e.traceback.contains("in inner"))
            #expect(e.traceback.contains("in outer"))
            #expect(e.isKind(of: "Exception"))
            #expect(error.description == "ValueError: bad value 17")
        }
    }

    @Test func customExceptionIsQualified() throws {
        let ns = try Python.run("""
            import types, sys
            mod = types.ModuleType("mylib.errors")
            exec("class EnvBroken(RuntimeError):\\n    pass", mod.__dict__)
            def fail():
                raise mod.EnvBroken("it broke")
            """)
        do {
            try ns.item("fail").call()
            Issue.record("expected an exception")
        } catch let error as PythonError {
            let e = try #require(error.exception)
            #expect(e.typeName == "mylib.errors.EnvBroken")
            #expect(e.isKind(of: "RuntimeError"))
        }
    }

    @Test func failuresAreErrorsNotCrashes() throws {
        #expect(throws: PythonError.self) { try Python.import("no_such_module_xyz") }
        #expect(throws: PythonError.self) { try 3.pythonObject().attr("nope") }
        #expect(throws: PythonError.self) { try 3.pythonObject().call() }
        #expect(throws: PythonError.self) { try [1].pythonObject().item(5) }
        #expect(throws: PythonError.self) { try Python.run("1/0") }
        #expect(throws: PythonError.self) { try Python.run("def broken(:") }
        // The interpreter is still usable afterwards.
        #expect(try Int(python: Python.run("x = 2 + 2").item("x")) == 4)
    }

    @Test func callsFromOtherThreadsWork() async throws {
        let ns = try Python.run("def square(x): return x * x")
        let f = try ns.item("square")
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<8 {
                group.addTask { try (0..<200).reduce(0) { acc, _ in try Int(python: f.call(i)) + acc * 0 } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == (0..<8).map { $0 * $0 })
    }

    @Test func detachedThreadCallsWork() throws {
        let ns = try Python.run("def add(a, b): return a + b")
        let f = try ns.item("add")
        final class Box: @unchecked Sendable { var value: Int? }
        let box = Box()
        let thread = Thread { box.value = try? Int(python: f.call(20, 22)) }
        thread.start()
        while !thread.isFinished { Thread.sleep(forTimeInterval: 0.001) }
        #expect(box.value == 42)
    }

    @Test func releasingTheGILLetsPythonThreadsRun() throws {
        let ns = try Python.run("""
            import threading, time
            count = [0]
            stop = [False]
            def spin():
                while not stop[0]:
                    count[0] += 1
                    time.sleep(0.0005)
            t = threading.Thread(target=spin, daemon=True)
            """)
        try Python.withGIL {
            try ns.item("t").method("start")
            let before = try Int(python: ns.item("count").item(0))
            Python.withoutGIL { Thread.sleep(forTimeInterval: 0.2) }
            let after = try Int(python: ns.item("count").item(0))
            try ns.item("stop").setItem(0, true)
            #expect(after - before > 10, "the Python thread advanced \(after - before) times")
        }
    }
}

import Foundation
