import PythonBridge

/// A binding's arguments by name, from positional and keyword arguments as Python passes them.
struct Arguments {
    let function: String
    private let values: [String: PythonObject]

    init(function: Bindings.Function, positional: [PythonObject], keywords: [String: PythonObject]) throws {
        self.function = function.name
        guard positional.count <= function.parameters.count else {
            throw Bindings.ArgumentError.type("\(function.name)() takes \(function.parameters.count) arguments but \(positional.count) were given")
        }
        var values = Dictionary(uniqueKeysWithValues: zip(function.parameters, positional))
        for (name, value) in keywords {
            guard function.parameters.contains(name) else {
                throw Bindings.ArgumentError.type("\(function.name)() got an unexpected keyword argument '\(name)'")
            }
            values[name] = value
        }
        self.values = values
    }

    /// The argument, or nil when it is missing or None.
    func optional(_ name: String) -> PythonObject? {
        guard let v = values[name], !v.isNone else { return nil }
        return v
    }

    func object(_ name: String) throws -> PythonObject {
        guard let v = optional(name) else { throw Bindings.ArgumentError.type("\(function)() missing required argument '\(name)'") }
        return v
    }

    func string(_ name: String) throws -> String {
        do { return try String(python: object(name)) } catch is PythonError {
            throw Bindings.ArgumentError.type("\(function)(): \(name) must be a string")
        }
    }

    func optionalString(_ name: String) throws -> String? {
        try optional(name).map { _ in try string(name) }
    }

    func bool(_ name: String, default value: Bool = false) throws -> Bool {
        guard let o = optional(name) else { return value }
        do { return try Bool(python: o) } catch is PythonError {
            throw Bindings.ArgumentError.type("\(function)(): \(name) must be True or False")
        }
    }

    func int(_ name: String) throws -> Int? {
        guard let o = optional(name) else { return nil }
        do { return try Int(python: o) } catch is PythonError {
            throw Bindings.ArgumentError.value("\(name) must be an integer (got \(o)).")
        }
    }
}
