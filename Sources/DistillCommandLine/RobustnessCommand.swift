import ArgumentParser
import Distill
import Environments
import Foundation
import GymEnvironments
import PythonBridge
import Robustness
import Runs

/// `distill robustness`: how models degrade under observation noise, slipping actions and
/// changed dynamics, each model on the same episodes and noise.
struct RobustnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robustness",
        abstract: "Measure models' returns under observation noise, random or sticky actions and changed dynamics.",
        discussion: """
            Every model plays the same episodes (seeds --seed…) at every level, with the same noise \
            (common random numbers), so differences are the models'. The first model is the \
            reference (usually the teacher): normalised returns are (R − random) / (reference − \
            random), both anchors clean, and its visited states set each observation value's \
            spread, of which --obs-noise levels are fractions. Each level's mean comes with a 95% \
            bootstrap interval; each model gets one score per perturbation, the area under its \
            normalised-return curve over the levels divided by their span. A level list of \
            'none' leaves a perturbation out. With --out: robustness.json, robustness.csv and \
            robustness.png (one panel per perturbation; needs matplotlib).
            """)

    @Argument(help: "Model directories; the first is the reference.") var models: [String]
    @Option(name: .customLong("obs-noise"), help: "Observation noise levels: σ as a fraction of each value's spread.")
    var observationNoise = "0,0.01,0.03,0.1,0.3"
    @Option(name: .customLong("random-actions"), help: "Probabilities that a random action replaces the policy's.")
    var randomActions = "0,0.1,0.25"
    @Option(name: .customLong("sticky-actions"), help: "Probabilities that the previous action repeats (as ALE's).")
    var stickyActions = "0,0.1,0.25"
    @Option(name: .customLong("vary"),
            help: "A dynamics parameter and its levels, NAME=v1,v2,… (repeatable): an attribute of the unwrapped environment (CartPole length, Acrobot LINK_MASS_1) or a gymnasium.make keyword (LunarLander gravity).")
    var vary: [String] = []
    @Flag(help: "Add the environment's preset dynamics change (CartPole length, Acrobot LINK_MASS_1, MountainCar force, LunarLander gravity).")
    var preset = false
    @Option(help: "Directory for robustness.json, robustness.csv and robustness.png.") var out: String?
    @Option(help: "Processes measuring the models after the first side by side (each also plays the reference, whose states set the spreads).")
    var jobs = 1
    @OptionGroup var evaluation: EvaluationOptions

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("name at least one model directory; the first is the reference.") }
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 64 (got \(jobs)).") }
    }

    /// `text` as levels: comma-separated numbers, or "none" for no axis.
    static func levels(_ text: String, option: String) throws -> [Double]? {
        if text.trimmingCharacters(in: .whitespaces) == "none" { return nil }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.map(Double.init)
        guard !parts.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite }) else {
            throw ValidationError("\(option) takes comma-separated numbers (or none), e.g. 0,0.1,0.25; got '\(text)'.")
        }
        return values.map { $0! }
    }

    func run() throws {
        evaluation.isolation.apply()
        let loaded = try models.map { try ComparedModel.load(URL(fileURLWithPath: $0)) }
        for (path, (m, _)) in zip(models, loaded) where (m.continuousAct != nil) != (loaded[0].0.continuousAct != nil) {
            throw ValidationError("\(path) acts with \(m.continuousAct != nil ? "continuous" : "discrete") actions and \(models[0]) does not; study models of one environment.")
        }
        let first = loaded[0]
        for (path, (m, _)) in zip(models, loaded) where m.inputSize != first.0.inputSize || m.actionCount != first.0.actionCount {
            throw ValidationError("\(path) maps \(m.inputSize) inputs to \(m.actionCount) actions but \(models[0]) \(first.0.inputSize) to \(first.0.actionCount); study models of one environment.")
        }
        let (recipe, recorded) = try evaluation.recipe(recordedIn: first.1, model: models[0])
        var axes: [PerturbationAxis] = []
        if let l = try Self.levels(observationNoise, option: "--obs-noise") { axes.append(.init(.observationNoise, levels: l)) }
        if let l = try Self.levels(randomActions, option: "--random-actions") { axes.append(.init(.randomActions, levels: l)) }
        if let l = try Self.levels(stickyActions, option: "--sticky-actions") { axes.append(.init(.stickyActions, levels: l)) }
        // Dynamics: the level texts are kept, so a keyword gets an int where the user wrote one.
        var dynamics: [(name: String, texts: [String])] = []
        for spec in vary {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                throw ValidationError("--vary takes NAME=v1,v2,… (e.g. length=0.5,1.0,2.0); got '\(spec)'.")
            }
            let name = String(spec[..<eq]), text = String(spec[spec.index(after: eq)...])
            guard let values = try Self.levels(text, option: "--vary \(name)") else { continue }
            dynamics.append((name, text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }))
            axes.append(.init(.dynamics, levels: values, parameter: name))
        }
        if preset {
            guard let p = EnvironmentParameters.presets[recipe.name] else {
                let known = EnvironmentParameters.presets.keys.sorted().joined(separator: ", ")
                throw ValidationError("there is no preset dynamics change for \(recipe.name) (presets: \(known)); name one with --vary NAME=v1,v2,….")
            }
            dynamics.append((p.name, p.levels))
            axes.append(.init(.dynamics, levels: p.levels.map { Double($0)! }, parameter: p.name))
        }
        guard !axes.isEmpty else { throw ValidationError("every perturbation is 'none'; give at least one list of levels.") }
        let study = RobustnessStudy(axes: axes, episodes: evaluation.episodes, seed: evaluation.seed)
        do { try study.validate() } catch let e as RobustnessError {
            // The library names perturbations by their keys; the command line by its flags.
            var sentence = e.description
            for (key, flag) in [("observation noise levels", "--obs-noise levels"), ("random_actions levels", "--random-actions levels"),
                                ("sticky_actions levels", "--sticky-actions levels")] {
                sentence = sentence.replacingOccurrences(of: key, with: flag)
            }
            throw ValidationError(sentence)
        }

        if jobs > 1 && models.count > 2 {
            try finish(try runInProcesses())
            return
        }
        let nominal = try makeEnvironment(recipe, recorded: recorded)
        if axes.contains(where: { $0.kind == .dynamics }), Corridor.named(recipe.name) != nil {
            throw ValidationError("\(recipe.name) is built in and has no parameters to vary; --vary and --preset need a Gymnasium environment.")
        }
        for (m, _) in loaded { try checkFits(inputs: m.inputSize, actions: m.actionCount, continuous: m.continuousAct != nil, nominal) }
        let open = EnvironmentParameters.opener(recipe: recipe, recorded: recorded, nominal: nominal,
                                                texts: Dictionary(dynamics.map { ($0.name, $0.texts) }, uniquingKeysWith: { a, _ in a }))
        let report = try study.run(models: zip(models, loaded).map { (Self.name($0.0), $0.1.0.acting) }, environment: recipe.description,
                                   open: open)
        try finish(report)
    }

    /// Writes, then prints, the report.
    func finish(_ report: RobustnessReport) throws {
        if let out { try write(report, to: URL(fileURLWithPath: out)) }
        if evaluation.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printTable(report)
        }
    }

    /// `--jobs`: the models after the first split into groups, each measured with the reference
    /// by a `distill robustness … --json` process of its own; the reports merged. Every process
    /// plays the same episodes with the same noise, so the merged report is the one-process one.
    func runInProcesses() throws -> RobustnessReport {
        var common: [String] = ["--obs-noise", observationNoise, "--random-actions", randomActions, "--sticky-actions", stickyActions,
                                "--episodes", "\(evaluation.episodes)", "--seed", "\(evaluation.seed)", "--json",
                                "--env-isolation", evaluation.isolation.isolation.rawValue]
        for v in vary { common += ["--vary", v] }
        if preset { common.append("--preset") }
        if let env = evaluation.env { common += ["--env", env] }
        for a in evaluation.envArgs { common += ["--env-arg", a] }
        for w in evaluation.wrappers { common += ["--wrapper", w] }
        for t in evaluation.trust.trusted { common += ["--trust-env", t] }
        let rest = Array(models.dropFirst())
        let groups = (0..<min(jobs, rest.count)).map { g in stride(from: g, to: rest.count, by: min(jobs, rest.count)).map { rest[$0] } }
        let command = DistillCLI.relaunchCommand
        var processes: [(Process, Pipe, Pipe)] = []
        for group in groups {
            let process = Process(), output = Pipe(), errors = Pipe()
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst()) + ["robustness", models[0]] + group + common
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            processes.append((process, output, errors))
        }
        var reports: [RobustnessReport] = []
        for (process, output, errors) in processes {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ValidationError(message.split(separator: "\n").first.map { String($0).replacingOccurrences(of: "Error: ", with: "") }
                                      ?? "a --jobs worker failed with status \(process.terminationStatus).")
            }
            reports.append(try JSONDecoder().decode(RobustnessReport.self, from: data))
        }
        // Group g holds the models after the first at g, g + k, g + 2k, … (k groups).
        let k = groups.count
        var merged = reports[0]
        for a in merged.axes.indices {
            var results = [[LevelResult]](repeating: [], count: models.count), scores = [Double](repeating: 0, count: models.count)
            var differences = [[Double]](repeating: [0, 0], count: models.count)
            results[0] = reports[0].axes[a].results[0]
            scores[0] = reports[0].axes[a].scores[0]
            for (g, report) in reports.enumerated() {
                for j in 0..<groups[g].count {
                    results[1 + g + j * k] = report.axes[a].results[1 + j]
                    scores[1 + g + j * k] = report.axes[a].scores[1 + j]
                    // Every worker draws the same resamples against the same reference (see the study).
                    differences[1 + g + j * k] = report.axes[a].scoreDifferenceIntervals?[1 + j] ?? [0, 0]
                }
            }
            merged.axes[a].results = results
            merged.axes[a].scores = scores
            merged.axes[a].scoreDifferenceIntervals = differences
        }
        merged.models = models.map(Self.name)
        return merged
    }

    /// A model's name in tables: its directory's last component.
    static func name(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent }

    func printTable(_ r: RobustnessReport) {
        print("\(r.environment): \(r.models.count) model(s), \(r.episodes) episodes per level (seeds \(r.seed)–\(r.seed + r.episodes - 1)), the same noise for each")
        print(String(format: "reference (%@) clean return %.1f, random policy %.1f; mean return [95%% bootstrap interval] and normalised return", r.models[0], r.referenceMeanReturn, r.randomMeanReturn))
        let width = max(12, (r.models.map(\.count).max() ?? 0) + 2)
        for a in r.axes {
            let unit: String
            switch a.axis.kind {
            case .observationNoise: unit = "σ / spread"
            case .randomActions, .stickyActions: unit = "probability"
            case .dynamics: unit = a.axis.parameter ?? ""
            }
            print("\n\(a.axis.label) (\(unit))")
            print("model".padding(toLength: width, withPad: " ", startingAt: 0)
                  + a.axis.levels.map { "\($0)".padding(toLength: 30, withPad: " ", startingAt: 0) }.joined()
                  + "score  − \(r.models[0]) [95% paired interval]")
            for (m, model) in r.models.enumerated() {
                let cells = a.results[m].map { c in
                    String(format: "%.1f [%.1f, %.1f] %.3f", c.mean, c.low, c.high, c.normalizedReturn).padding(toLength: 30, withPad: " ", startingAt: 0)
                }
                var difference = ""
                if m > 0, let interval = a.scoreDifferenceIntervals?[m] {
                    difference = String(format: "  %+.3f [%+.3f, %+.3f]", a.scores[m] - a.scores[0], interval[0], interval[1])
                }
                print(model.padding(toLength: width, withPad: " ", startingAt: 0) + cells.joined() + String(format: "%.3f", a.scores[m]) + difference)
            }
        }
    }

    /// robustness.json, robustness.csv and (with matplotlib) robustness.png, each written whole.
    func write(_ report: RobustnessReport, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = try encoder.encode(report)
        try Data(json).write(to: directory.appendingPathComponent("robustness.json"), options: .atomic)
        try Data(report.csv.utf8).write(to: directory.appendingPathComponent("robustness.csv"), options: .atomic)
        let png = directory.appendingPathComponent("robustness.png")
        do {
            try Self.plot(json: String(decoding: json, as: UTF8.self), to: png.path)
        } catch {
            FileHandle.standardError.write(Data("robustness.png not written (\(error)); the JSON and CSV are.\n".utf8))
        }
    }

    /// One panel per perturbation: each model's mean return against the level, its bootstrap band shaded.
    static func plot(json: String, to path: String) throws {
        let code = """
            import json, os, tempfile
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            def draw(text, path):
                r = json.loads(text)
                axes = r["axes"]
                fig, panels = plt.subplots(1, len(axes), figsize=(4.2 * len(axes), 3.4), squeeze=False)
                for panel, a in zip(panels[0], axes):
                    levels = a["axis"]["levels"]
                    order = sorted(range(len(levels)), key=lambda i: levels[i])
                    xs = [levels[i] for i in order]
                    for name, results in zip(r["models"], a["results"]):
                        mean = [results[i]["mean"] for i in order]
                        panel.plot(xs, mean, marker="o", label=name)
                        panel.fill_between(xs, [results[i]["ci_low"] for i in order], [results[i]["ci_high"] for i in order], alpha=0.2)
                    kind = a["axis"]["kind"]
                    panel.set_title(a["axis"].get("parameter") or kind.replace("_", " "))
                    panel.set_xlabel({"observation_noise": "σ / spread", "random_actions": "probability",
                                      "sticky_actions": "probability"}.get(kind, a["axis"].get("parameter", "")))
                    panel.set_ylabel("mean return")
                    panel.grid(alpha=0.3)
                panels[0][0].legend()
                fig.suptitle(r["environment"])
                fig.tight_layout()
                handle, staging = tempfile.mkstemp(suffix=".png", dir=os.path.dirname(path) or ".")
                os.close(handle)
                fig.savefig(staging, dpi=110)
                plt.close(fig)
                os.chmod(staging, 0o644)
                os.replace(staging, path)
            """
        try Python.withGIL {
            let namespace = try Python.run(code)
            _ = try namespace.item("draw").call(json, path)
        }
    }
}
