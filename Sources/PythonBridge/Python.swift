import CPython
import Foundation

/// The embedded (or hosting) CPython interpreter: started once per process and never finalised,
/// because NumPy cannot be initialised twice in one process.
public enum Python {
    /// What the interpreter was started with; useful in `--version`-style diagnostics.
    public struct StartupInfo: Sendable {
        /// The virtual environment activated, if any.
        public let virtualEnvironment: String?
        /// True when the library was loaded into an already running Python process.
        public let hosted: Bool
        /// `sys.version` of the running interpreter.
        public let version: String
    }

    private static let startup: Result<StartupInfo, PythonError> = start()
    /// The start-up failure alone, so the per-call check copies nothing.
    private static let startupError: PythonError? = {
        if case .failure(let e) = startup { return e }
        return nil
    }()

    /// Starts the interpreter if needed. Every bridge call does this itself; call it early to
    /// report a start-up problem (e.g. a venv made by another Python) before any work.
    @discardableResult
    public static func initialize() throws -> StartupInfo {
        try startup.get()
    }

    /// Runs `body` holding the GIL. Re-entrant and callable from any thread.
    @inline(__always)
    public static func withGIL<R>(_ body: () throws -> R) throws -> R {
        if let startupError { throw startupError }
        let state = PyGILState_Ensure()
        defer { PyGILState_Release(state) }
        return try body()
    }

    /// Runs pure-Swift `body` with the GIL released, so Python threads make progress meanwhile.
    /// When the calling thread does not hold the GIL this simply runs `body`.
    public static func withoutGIL<R>(_ body: () throws -> R) rethrows -> R {
        guard Py_IsInitialized() != 0, PyGILState_Check() != 0 else { return try body() }
        let saved = PyEval_SaveThread()
        defer { PyEval_RestoreThread(saved) }
        return try body()
    }

    /// Imports a module, e.g. `try Python.import("numpy")`.
    public static func `import`(_ name: String) throws -> PythonObject {
        try withGIL { try PythonObject(checking: PyImport_ImportModule(name)) }
    }

    /// Runs Python source in a fresh namespace and returns that namespace (a dict), so tests and
    /// benchmarks can define helper functions in plain Python.
    public static func run(_ source: String) throws -> PythonObject {
        try withGIL {
            let globals = try PythonObject(checking: PyDict_New())
            let builtins = try PythonObject(checking: PyEval_GetBuiltins().map { cpy_incref($0); return $0 })
            PyDict_SetItemString(globals.pointer, "__builtins__", builtins.pointer)
            let result = PyRun_StringFlags(source, Py_file_input, globals.pointer, globals.pointer, nil)
            _ = try PythonObject(checking: result)
            return globals
        }
    }

    /// The `builtins` module (for `len`, `isinstance`, `getattr`, ...).
    public static func builtins() throws -> PythonObject { try `import`("builtins") }

    // MARK: - Start-up

    private static func start() -> Result<StartupInfo, PythonError> {
        if Py_IsInitialized() != 0 {
            // Loaded into a running interpreter (a Python extension): use it as it is.
            return .success(StartupInfo(virtualEnvironment: nil, hosted: true, version: runningVersion()))
        }
        let venv = VirtualEnvironment.find()
        if let venv {
            if let problem = venv.mismatch(withEmbeddedVersion: embeddedVersion()) {
                return .failure(.startup(problem))
            }
        }
        var message = [CChar](repeating: 0, count: 512)
        let status = cpy_initialize(venv?.python, &message, message.count)
        guard status == 0 else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(.startup("The embedded Python could not start: \(text)."))
        }
        let version = runningVersion()
        // Release the GIL taken by initialisation, so any thread can take it with PyGILState_Ensure.
        _ = PyEval_SaveThread()
        return .success(StartupInfo(virtualEnvironment: venv?.root, hosted: false, version: version))
    }

    /// "3.11.2" from the linked libpython, readable before initialisation.
    static func embeddedVersion() -> String {
        let full = String(cString: Py_GetVersion())
        return String(full.prefix { $0 != " " })
    }

    private static func runningVersion() -> String {
        let state = PyGILState_Ensure()
        defer { PyGILState_Release(state) }
        return String(cString: Py_GetVersion())
    }
}

/// A Python virtual environment the embedded interpreter activates by taking its python as
/// `sys.executable` (site.py then reads its `pyvenv.cfg`).
struct VirtualEnvironment {
    let root: String
    var python: String { root + "/bin/python" }

    /// `$VIRTUAL_ENV` if set, else the nearest `.venv` above the working directory, else the
    /// nearest `.venv` above the executable (e.g. the project's, for `.build/release/distill`).
    static func find() -> VirtualEnvironment? {
        let env = ProcessInfo.processInfo.environment
        if let active = env["VIRTUAL_ENV"], !active.isEmpty {
            return VirtualEnvironment(root: active)
        }
        let starts = [FileManager.default.currentDirectoryPath,
                      URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
                        .deletingLastPathComponent().path]
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            while true {
                let candidate = dir.appendingPathComponent(".venv")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("pyvenv.cfg").path) {
                    return VirtualEnvironment(root: candidate.path)
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        return nil
    }

    /// A sentence saying why this venv cannot be used with the linked libpython, or nil.
    func mismatch(withEmbeddedVersion embedded: String) -> String? {
        guard let cfg = try? String(contentsOfFile: root + "/pyvenv.cfg", encoding: .utf8) else {
            return "\(root) is not a Python virtual environment (no readable pyvenv.cfg); unset VIRTUAL_ENV or recreate it with `make setup`."
        }
        var values: [String: String] = [:]
        for line in cfg.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        let venvVersion = values["version"] ?? values["version_info"] ?? "?"
        if venvVersion != embedded && !venvVersion.hasPrefix(embedded + ".") {
            let home = values["home"] ?? "?"
            return "The virtual environment \(root) was made by Python \(venvVersion) (\(home)), but this program embeds libpython \(embedded); rebuild with the same interpreter (PYTHON=... make setup) or point VIRTUAL_ENV at a venv made by Python \(embedded)."
        }
        return nil
    }
}
