import Foundation

/// Settings from a JSON config file: a flat object of settings, optionally with per-environment
/// sections (`{"CartPole-v1": {"learning_rate": 0.001}}`) of which only `section` applies
/// (`SettingsTable.applyFile` applies the result).
public enum ConfigFile {
    /// Why a config file cannot be read; the text completes "The config file X cannot be used: …".
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public static func settings(from data: Data, section: String?) throws -> [String: SettingValue] {
        guard case .object(var values)? = try? JSONDecoder().decode(SettingValue.self, from: data) else {
            throw Problem(description: "it is not a JSON object")
        }
        if let section, case .object(let chosen)? = values[section] { values = chosen }
        return values  // mappings left are other sections, or misplaced values `applyFile` refuses
    }
}
