import DQN
import Foundation
import PythonBridge
import Runs
import Settings

/// `--config FILE`: JSON, or YAML as rl-baselines3-zoo writes its hyper-parameter files
/// (`hyperparams/dqn.yml`: per-environment sections, `n_timesteps`, `policy_kwargs`). YAML is
/// read by the embedded Python's PyYAML (`yaml.safe_load`: data only, never code).
enum ConfigFiles {
    /// The largest settings file read (rl-zoo's whole dqn.yml is a few kilobytes).
    static let maxBytes = 1 << 20

    static func read(_ path: String, environment: String) throws -> [String: SettingValue] {
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
           attributes[.type] as? FileAttributeType != .typeRegular {
            throw RunError.badConfigFile(path, detail: "it is not a regular file (a directory, device or pipe)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunError.badConfigFile(path, detail: "it does not exist or cannot be read")
        }
        guard data.count <= maxBytes else {
            throw RunError.badConfigFile(path, detail: "it holds \(data.count) bytes, more than the \(maxBytes) a settings file may have")
        }
        do {
            guard path.hasSuffix(".yml") || path.hasSuffix(".yaml") else {
                return try ConfigFile.settings(from: data, section: environment)
            }
            let yaml: PythonObject
            do { yaml = try Python.import("yaml") } catch {
                throw RunError.badConfigFile(path, detail: "reading YAML needs PyYAML in this Python (Debian's python3-yaml, or pip install pyyaml)")
            }
            let text = String(decoding: data, as: UTF8.self)
            let parsed: PythonObject
            do {
                // Anchors and aliases (&a, *a) let a few lines expand into gigabytes (an "alias
                // bomb"); a settings file has no use for them, so they are refused before loading.
                let tokens = try Python.import("builtins").attr("list").call(yaml.method("scan", text)).elements()
                if tokens.contains(where: { $0.typeName == "AliasToken" || $0.typeName == "AnchorToken" }) {
                    throw RunError.badConfigFile(path, detail: "it uses YAML anchors or aliases (& or *), which a settings file does not need; write each value out")
                }
                parsed = try yaml.method("safe_load", text)
            } catch let e as PythonError {
                throw RunError.badConfigFile(path, detail: "it is not valid YAML (\(e.exception?.message ?? "\(e)"))")
            }
            guard case .object(var values) = try settingValue(parsed) else {
                throw ConfigFile.Problem(description: "it is not a mapping of settings")
            }
            if case .object(let section)? = values[environment] { values = section }
            return values
        } catch let e as ConfigFile.Problem {
            throw RunError.badConfigFile(path, detail: e.description)
        }
    }

    /// A YAML value (as PyYAML returns it) as a setting value.
    static func settingValue(_ o: PythonObject) throws -> SettingValue {
        if o.isNone { return .null }
        switch o.typeName {
        case "bool": return .bool(try Bool(python: o))
        case "int": return .int(try Int(python: o))
        case "float": return .number(try Double(python: o))
        case "str": return .string(try String(python: o))
        case "list", "tuple": return .list(try o.elements().map(settingValue))
        case "dict":
            var out: [String: SettingValue] = [:]
            for pair in try o.method("items").elements() {
                let kv = try pair.elements()
                out[try String(python: kv[0].method("__str__"))] = try settingValue(kv[1])
            }
            return .object(out)
        default: return .string(o.description)
        }
    }
}
