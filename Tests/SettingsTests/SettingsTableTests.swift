import Foundation
import Settings
import Testing

/// A toy configuration with one setting of each kind.
struct Toy: Configurable {
    enum Mode: String, CaseIterable, Codable, Sendable { case fast, careful }
    var steps = 10
    var rate: Float = 0.5
    var on = false
    var sizes = [4, 4]
    var mode = Mode.fast
    var path: String?
    var names: [String] = []

    init() {}
    init(from decoder: Decoder) throws { self = try Self.decoded(from: decoder) }
    func encode(to encoder: Encoder) throws { try encodeSettings(to: encoder) }

    static var settings: SettingsTable<Toy> {
        SettingsTable([
            .int("steps", \.steps, min: 1, flag: "n", help: "Steps."),
            .float("rate", \.rate, .fractionExcludingZero, aliases: ["lr"], help: "Rate."),
            .bool("on", \.on, help: "Switch."),
            .sizes("hidden_sizes", \.sizes, example: "4,4", flag: "hidden", help: "Sizes."),
            .choice("mode", \.mode, help: "Mode."),
            .optionalString("path", \.path, help: "Path."),
            .stringList("names", \.names, help: "Names."),
        ], crossChecks: [{ $0.on && $0.path == nil ? SettingError(key: "on", template: "{on} needs {path}.") : nil }])
    }
}

@Suite struct SettingsTableTests {
    @Test func namesMatchInAnySpellingAndAliases() throws {
        var t = Toy()
        try Toy.settings.apply([("Steps", .int(3)), ("LR", .number(0.25)), ("hidden-sizes", .string("8,2")), ("mode", .string("careful"))], to: &t)
        #expect(t.steps == 3 && t.rate == 0.25 && t.sizes == [8, 2] && t.mode == .careful)
        try Toy.settings.set("hidden", .list([.int(1)]), in: &t)
        #expect(t.sizes == [1])
    }

    @Test func wrongKindsAndRangesGiveOneSentenceWordedPerFrontEnd() throws {
        var t = Toy()
        #expect { try Toy.settings.set("steps", .number(2.5), in: &t) } throws: {
            ($0 as? SettingError)?.description == "steps must be an integer (got 2.5)."
        }
        #expect { try Toy.settings.set("mode", .string("slow"), in: &t) } throws: {
            ($0 as? SettingError)?.description == "mode must be fast or careful (got slow)."
        }
        #expect { try Toy.settings.set("hidden", .string("4,x"), in: &t) } throws: {
            ($0 as? SettingError)?.description == "hidden_sizes takes positive sizes separated by commas, e.g. 4,4 (got '4,x')."
        }
        t.rate = 1.5
        #expect(t.validationError() == "--rate must be in (0, 1] (got 1.5).")
        t.rate = .nan
        #expect(t.validationError() == "--rate must be a finite number (got nan).")
        t = Toy()
        t.steps = 0
        #expect(t.validationError() == "--n must be at least 1 (got 0).")
        t = Toy()
        t.on = true
        #expect(t.validationError() == "--on needs --path.")
        do { try t.validate() } catch let e as SettingError { #expect(e.description == "on needs path.") }
    }

    @Test func unknownNamesSuggestTheClosest() {
        var t = Toy()
        #expect { try Toy.settings.set("stpes", .int(1), in: &t) } throws: {
            guard let e = $0 as? SettingError, case .unknownKey(let hint) = e.problem else { return false }
            return hint == "steps" && e.description == "unknown setting 'stpes'; did you mean steps?"
        }
        #expect(Toy.settings.suggestion(for: "zzzzzz") == nil)
    }

    @Test func codableThroughTheTableRoundTrips() throws {
        var t = Toy()
        t.rate = 0.0023
        t.names = ["a", "b"]
        t.path = "p.npy"
        let data = try JSONEncoder().encode(t)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"rate\":0.0023") && text.contains("\"hidden_sizes\":[4,4]"), "\(text)")
        #expect(try JSONDecoder().decode(Toy.self, from: data) == t)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Toy.self, from: Data(#"{"nope": 1}"#.utf8)) }
    }

    @Test func configFilesWithSections() throws {
        let data = Data(#"{"rate": 0.1, "Env-v1": {"steps": 7}, "Other-v0": {"steps": 9}}"#.utf8)
        #expect(try ConfigFile.settings(from: data, section: "Env-v1") == ["steps": .int(7)])
        var toy = Toy()
        try Toy.settings.applyFile(try ConfigFile.settings(from: data, section: "Missing"), to: &toy)
        #expect(toy.rate == 0.1 && toy.steps == 10, "other environments' sections are skipped")
        #expect(throws: ConfigFile.Problem.self) { try ConfigFile.settings(from: Data("[1]".utf8), section: nil) }
    }

    @Test func aFilesMappingOrOutOfRangeValueIsRefusedUnderItsKey() throws {
        var toy = Toy()
        #expect { try Toy.settings.applyFile(["rate": .object(["a": .int(1)])], to: &toy) } throws: {
            ($0 as? SettingError)?.description.hasPrefix("rate must be a number") ?? false
        }
        // Range-checked as the file is applied, before anything else can set the value again.
        #expect { try Toy.settings.applyFile(["steps": .int(3), "rate": .number(2)], to: &toy) } throws: {
            ($0 as? SettingError)?.key == "rate"
        }
    }
}
