import Checkpoint
import CodeExport
import CPython
import DQN
import Distill
import Environments
import Foundation
import GymEnvironments
import NN
import PythonBridge
import Quantization
import Robustness
import Runs
import Settings
import Tensor

/// The functions behind `swiftdistill._core`, called with keyword arguments by the Python
/// package (python/swiftdistill). Settings arrive as one JSON object and are checked here, by
/// the same tables as the command line, so a bad value gives the same sentence in both.
enum Bindings {
    /// A function of the module: its name, parameters (in positional order), doc and body.
    struct Function: Sendable {
        let name: String
        let parameters: [String]
        let doc: String
        let body: @Sendable (Arguments) throws -> PythonObject
    }

    /// Wrong arguments to a binding: becomes TypeError or ValueError.
    enum ArgumentError: Error, CustomStringConvertible {
        case type(String)
        case value(String)
        var description: String {
            switch self { case .type(let s), .value(let s): return s }
        }
    }

    /// A KeyboardInterrupt caught while Swift was running; raised again after the checkpoint.
    struct Interrupted: Error { let exception: PythonException }

    /// Sets the Python exception that best matches a Swift error.
    static func raise(_ error: Error, in function: String) {
        if let interrupt = error as? Interrupted { interrupt.exception.restore(); return }
        if let e = error as? PythonError, let ex = e.exception, ex.value != nil { ex.restore(); return }
        if let e = error as? EnvironmentError, let ex = e.pythonException, ex.value != nil {
            ex.restore()
            return
        }
        var message = "\(error)"
        let type: UnsafeMutablePointer<PyObject>
        switch error {
        case let e as SettingError:
            if case .unknownKey(let hint) = e.problem {
                message = "\(function)() got an unexpected keyword argument '\(e.key)'" + (hint.map { "; did you mean '\($0)'?" } ?? "")
                type = cpy_exc_type_error()
            } else {
                type = cpy_exc_value_error()
            }
        case ArgumentError.type: type = cpy_exc_type_error()
        case RunError.alreadyExists: type = cpy_exc_file_exists()
        case RunError.nothingToResume, CheckpointError.missingFile: type = cpy_exc_file_not_found()
        case RunError.busy: type = cpy_exc_runtime_error()
        case CodeExportError.outputExists: type = cpy_exc_file_exists()
        case is RunError, is CheckpointError, is DistillError, is EnvironmentError, is PythonError, is ArgumentError, is CodeExportError:
            type = cpy_exc_value_error()
        default: type = cpy_exc_runtime_error()
        }
        PyErr_SetString(type, message)
    }

    // MARK: - Settings

    static let settingsSchema = Function(
        name: "settings_schema", parameters: ["algorithm", "env"],
        doc: "JSON of an algorithm's settings table ('dqn' or 'distill'): each setting's key, kind, default, aliases, choices and help.",
        body: { a in
            switch try a.string("algorithm") {
            case "dqn": return try schema(DQNConfig.settings, defaults: DQNConfig.defaults(for: a.optionalString("env") ?? "CartPole-v1"))
            case "distill": return try schema(DistillConfig.settings, defaults: DistillConfig())
            case let other: throw ArgumentError.value("algorithm must be 'dqn' or 'distill' (got '\(other)').")
            }
        })

    static func schema<C>(_ table: SettingsTable<C>, defaults: C) throws -> PythonObject {
        let entries: [SettingValue] = table.entries.map { e in
            .object(["key": .string(e.key), "kind": .string(e.kind.rawValue), "help": .string(e.help),
                     "default": e.read(defaults), "aliases": .list(e.aliases.map { .string($0) }),
                     "choices": .list(e.choices.map { .string($0) }), "flag": .string("--" + e.flag), "stored": .bool(e.isStored)])
        }
        return try json(SettingValue.list(entries))
    }

    static let checkSettings = Function(
        name: "check_settings", parameters: ["algorithm", "settings", "env"],
        doc: "Raises ValueError (or TypeError for an unknown name) when a setting of the JSON object is not one the table accepts; returns None.",
        body: { a in
            let values = try settings(a.string("settings"))
            switch try a.string("algorithm") {
            case "dqn":
                var config = DQNConfig.defaults(for: try a.optionalString("env") ?? "CartPole-v1")
                try DQNConfig.settings.applyFile(values, to: &config)
            case "distill":
                var config = DistillConfig()
                try DistillConfig.settings.applyFile(values, to: &config)
            case let other: throw ArgumentError.value("algorithm must be 'dqn' or 'distill' (got '\(other)').")
            }
            return try PythonObject.none
        })

    static let parseLosses = Function(
        name: "parse_losses", parameters: ["spec"],
        doc: "[(loss, weight), …] of a loss spec such as 'kl,q-mse:0.5', in summation order.",
        body: { a in
            let terms = try LossSpec.parse(a.string("spec"))
            return try terms.map { PythonTuple($0.kind.rawValue, Double($0.weight)) }.pythonObject()
        })

    /// Issues each setting warning as a Python `UserWarning`, in Python names.
    static func warn(_ warnings: [SettingError]) throws {
        guard !warnings.isEmpty else { return }
        let module = try Python.import("warnings")
        for w in warnings { try module.method("warn", w.description, kwargs: ["stacklevel": 3]) }
    }

    /// The wrappers the Python package read from an instance's spec (JSON), if any.
    static func wrappers(_ text: String?) throws -> [EnvironmentWrapper] {
        guard let text else { return [] }
        do { return try JSONDecoder().decode([EnvironmentWrapper].self, from: Data(text.utf8)) } catch {
            throw ArgumentError.value("env_wrappers is not a list of wrapper records (\(error)).")
        }
    }

    /// The keyword arguments the Python package read from an instance's spec (JSON), if any.
    static func arguments(_ text: String?) throws -> [String: EnvironmentArgument] {
        guard let text else { return [:] }
        do { return try JSONDecoder().decode([String: EnvironmentArgument].self, from: Data(text.utf8)) } catch {
            throw ArgumentError.value("env_arguments is not an object of plain values (\(error)).")
        }
    }

    /// Settings from the JSON object the Python package sends.
    static func settings(_ text: String) throws -> [String: SettingValue] {
        guard case .object(let values)? = try? JSONDecoder().decode(SettingValue.self, from: Data(text.utf8)) else {
            throw ArgumentError.value("the settings are not a JSON object.")
        }
        return values
    }

    // MARK: - Runs

    static let train = Function(
        name: "train", parameters: ["env", "env_name", "env_wrappers", "env_arguments", "settings", "out", "force", "resume", "callback", "resume_steps",
                                    "event_interval", "share_policy", "replay_from", "env_session", "continue_episodes",
                                    "continue_from", "learning_rate_schedule"],
        doc: "Trains a DQN teacher into out; returns a summary dict. A resumed run samples the replay buffer its checkpoint kept, "
            + "or the one in the directory replay_from (replay.* files). With env_session, the environments are kept for the next "
            + "train of that session, which with continue_episodes goes on with their episodes instead of resetting them; continue_from "
            + "(a dict of values, returns, lengths, as env_session_observations gives) says where the episodes of environments "
            + "given afresh stand. learning_rate_schedule, a function of the run's step, gives the learning rate of each training round.",
        body: { a in
            let envArg = try a.object("env"), envName = try a.string("env_name"), out = try a.string("out")
            let given = try settings(a.optionalString("settings") ?? "{}")
            var run = TrainingRun(directory: URL(fileURLWithPath: out))
            let control = RunControl(callback: a.optional("callback"))
            control.attach(to: &run.hooks)
            if let interval = try a.int("event_interval") {
                guard interval >= 1 else { throw ArgumentError.value("event_interval must be at least 1 (got \(interval)).") }
                run.hooks.progressInterval = interval
            }
            if try a.bool("share_policy") {
                run.hooks.onPolicy = { Bindings.livePolicy = $0 }
                run.hooks.onObservations = { Bindings.liveObservations = ($0, $1) }
            }
            defer { Bindings.livePolicy = nil; Bindings.liveObservations = nil }
            // A session's environments are handed out again, in order; new ones are opened after them.
            let session = try a.int("env_session")
            let kept = session.flatMap { Bindings.environmentSessions.removeValue(forKey: $0) }
            var opened: [any Environment] = []
            let makeEnv: EnvironmentFactory = {
                let made = try kept.flatMap { opened.count < $0.environments.count ? $0.environments[opened.count] : nil } ?? environment(envArg)
                opened.append(made)
                return made
            }
            if let schedule = a.optional("learning_rate_schedule") {
                run.learningRateSchedule = { step in Float(try Double(python: try schedule.call(step))) }
            }
            var continuing = try a.bool("continue_episodes") ? kept?.episodes : nil
            if continuing == nil, let given = a.optional("continue_from") {
                continuing = try episodes(from: given)
            }
            let outcome: TrainingOutcome
            if try a.bool("resume") {
                outcome = try run.resume(makeEnv: makeEnv, changes: given.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                         totalSteps: a.int("resume_steps"),
                                         replayFrom: try a.optionalString("replay_from").map { URL(fileURLWithPath: $0) },
                                         continuing: continuing)
            } else {
                var config = DQNConfig.defaults(for: envName)
                try DQNConfig.settings.apply(given, to: &config)
                try warn(DQNConfig.settings.warnings(config))
                if !DQNConfig.hasTunedDefaults(envName) {
                    try Python.import("warnings").method("warn", DQNConfig.genericDefaultsNotice(envName), kwargs: ["stacklevel": 3])
                }
                let recipe = EnvironmentRecipe(name: envName, arguments: try arguments(a.optionalString("env_arguments")),
                                               wrappers: try wrappers(a.optionalString("env_wrappers")))
                outcome = try run.start(config: config, environment: recipe, makeEnv: makeEnv, force: a.bool("force"),
                                        replayFrom: try a.optionalString("replay_from").map { URL(fileURLWithPath: $0) })
            }
            if let session {
                let count = outcome.episodesInProgress.observations.count
                Bindings.environmentSessions[session] = EnvironmentSession(environments: Array(opened.prefix(count)),
                                                                           episodes: outcome.episodesInProgress, spec: opened[0].spec)
            }
            try control.finish()
            var summary: [String: any PythonConvertible] = [
                "out": out, "steps": outcome.state.step, "episodes": outcome.state.episodes,
                "gradient_steps": outcome.state.gradientSteps, "wall_time": outcome.state.elapsedSeconds,
                "interrupted": outcome.interrupted,
            ]
            if let best = outcome.state.bestMeanReturn { summary["best_mean_return"] = best }
            return try PythonObject.dictionary(summary)
        })

    static let distill = Function(
        name: "distill", parameters: ["settings", "out", "env", "env_name", "env_wrappers", "env_arguments", "force", "callback", "resume"],
        doc: "Distils the teachers named in settings into a student in out (or, with resume, continues its checkpoint); returns a summary dict.",
        body: { a in
            let given = try settings(a.string("settings"))
            let out = try a.string("out")
            var run = DistillationRun(directory: URL(fileURLWithPath: out))
            let control = RunControl(callback: a.optional("callback"))
            control.attach(to: &run.hooks)
            // env is an id, or a factory from the Python package (with env_name for the manifest).
            let envArg = a.optional("env")
            let recordedWrappers = try wrappers(a.optionalString("env_wrappers"))
            let recordedArguments = try arguments(a.optionalString("env_arguments"))
            let recipe: EnvironmentRecipe? = try a.optionalString("env_name").map {
                EnvironmentRecipe(name: $0, arguments: recordedArguments, wrappers: recordedWrappers)
            }
            let makeEnv = { (recipe: EnvironmentRecipe, recorded: Bool) throws -> any Environment in
                if let envArg, let name = try? String(python: envArg) {
                    // An id: opened as the recipe says (with collect_perturbation's dynamics keyword, if any).
                    return try makeEnvironment(EnvironmentRecipe(name: name, arguments: recipe.arguments, wrappers: recipe.wrappers), recorded: false)
                }
                if let envArg {
                    // A keyword of collect_perturbation's dynamics cannot reach an environment the caller makes.
                    if let extra = recipe.arguments.keys.sorted().first(where: { recordedArguments[$0] == nil }) {
                        throw RunError.invalidSetting("collect_perturbation varies \(extra) as a gymnasium.make keyword, which cannot reach an environment you make yourself (env=); pass env as an id, e.g. env=\"LunarLander-v3\", or vary an attribute of your environment.")
                    }
                    return try environment(envArg)
                }
                return try makeEnvironment(recipe, recorded: recorded)
            }
            let outcome: DistillOutcome
            if try a.bool("resume") {
                outcome = try run.resume(changes: given.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                         environmentGiven: envArg != nil, makeEnv: makeEnv)
            } else {
                var config = DistillConfig()
                try DistillConfig.settings.apply(given, to: &config)
                outcome = try run.start(config: config, environment: recipe, force: a.bool("force"), makeEnv: makeEnv)
            }
            try control.finish()
            var summary: [String: any PythonConvertible] = [
                "out": out, "labels": outcome.labels, "gradient_steps": outcome.gradientSteps,
                "wall_time": outcome.elapsed, "interrupted": outcome.interrupted,
            ]
            if let best = outcome.bestEvaluation { summary[outcome.tasks.isEmpty ? "best_mean_return" : "mean_normalized_return"] = best.mean }
            if !outcome.tasks.isEmpty {
                var tasks: [String: PythonObject] = [:]
                for t in outcome.tasks {
                    tasks[t.name] = try PythonObject.dictionary([
                        "mean_return": t.studentReturn?.mean ?? .nan, "std_return": t.studentReturn?.std ?? .nan,
                        "teacher_mean_return": t.teacherReturn, "random_mean_return": t.randomReturn,
                        "normalized_return": t.normalizedReturn ?? .nan, "parameters": t.parameters,
                        "teacher_parameters": t.teacherParameters,
                    ])
                }
                summary["tasks"] = tasks
            }
            if !outcome.generations.isEmpty {
                summary["generations"] = outcome.generations.map { $0 ?? .nan }
                summary["out"] = URL(fileURLWithPath: out).appendingPathComponent("generation-\(outcome.generations.count)").path
            }
            return try PythonObject.dictionary(summary)
        })

    static let codistill = Function(
        name: "codistill", parameters: ["env", "env_name", "env_wrappers", "env_arguments", "teacher_settings", "student_settings", "out", "force", "callback", "resume"],
        doc: "Trains a DQN teacher and a student on its current Q-values in one loop into out (or, with resume, continues its checkpoint); returns a summary dict.",
        body: { a in
            let envArg = try a.object("env"), envName = try a.string("env_name"), out = try a.string("out")
            let teacherGiven = try settings(a.optionalString("teacher_settings") ?? "{}")
            let studentGiven = try settings(a.optionalString("student_settings") ?? "{}")
            var run = CoDistillationRun(directory: URL(fileURLWithPath: out))
            let control = RunControl(callback: a.optional("callback"))
            control.attach(to: &run.hooks)
            let (outcome, teacherBest): (DistillOutcome, EvaluationResult?)
            if try a.bool("resume") {
                let ordered = { (given: [String: SettingValue]) in given.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
                (outcome, teacherBest) = try run.resume(teacherChanges: ordered(teacherGiven), studentChanges: ordered(studentGiven)) { _ in
                    try environment(envArg)
                }
            } else {
                var teacherConfig = DQNConfig.defaults(for: envName)
                try DQNConfig.settings.apply(teacherGiven, to: &teacherConfig)
                if !DQNConfig.hasTunedDefaults(envName) {
                    try Python.import("warnings").method("warn", DQNConfig.genericDefaultsNotice(envName), kwargs: ["stacklevel": 3])
                }
                var studentConfig = DistillConfig()
                studentConfig.teachers = [URL(fileURLWithPath: out).appendingPathComponent(CoDistillationAlgorithm.teacherFolder).path]
                try DistillConfig.settings.apply(studentGiven, to: &studentConfig)
                let recipe = EnvironmentRecipe(name: envName, arguments: try arguments(a.optionalString("env_arguments")),
                                               wrappers: try wrappers(a.optionalString("env_wrappers")))
                (outcome, teacherBest) = try run.start(teacherConfig: teacherConfig, studentConfig: studentConfig, environment: recipe,
                                                       force: a.bool("force")) { try environment(envArg) }
            }
            try control.finish()
            var summary: [String: any PythonConvertible] = [
                "out": out, "teacher": URL(fileURLWithPath: out).appendingPathComponent(CoDistillationAlgorithm.teacherFolder).path,
                "gradient_steps": outcome.gradientSteps, "wall_time": outcome.elapsed, "interrupted": outcome.interrupted,
            ]
            if let best = outcome.bestEvaluation { summary["best_mean_return"] = best.mean }
            if let best = teacherBest { summary["teacher_best_mean_return"] = best.mean }
            return try PythonObject.dictionary(summary)
        })

    static let exportCode = Function(
        name: "export_code", parameters: ["model", "language", "output", "name", "force"],
        doc: "Writes the model as C (a directory: NAME.h, NAME.c) or Swift (a file); returns the paths written.",
        body: { a in
            let text = try a.string("language")
            guard let language = CodeExport.Language(rawValue: text) else {
                throw ArgumentError.value("language must be 'c' or 'swift' (got '\(text)').")
            }
            let written = try CodeExport.export(model: URL(fileURLWithPath: try a.string("model")), language: language,
                                                output: URL(fileURLWithPath: try a.string("output")),
                                                name: try a.optionalString("name"), force: try a.bool("force"))
            return try written.map(\.path).pythonObject()
        })

    static let setEnvironmentIsolation = Function(
        name: "set_env_isolation", parameters: ["mode"],
        doc: "Sets where environments opened by id or module:attribute run (\"none\" or \"process\"); returns the previous mode.",
        body: { a in
            let text = try a.string("mode")
            guard let mode = EnvironmentIsolation(rawValue: text) else {
                throw ArgumentError.value("env_isolation must be \"none\" or \"process\" (got '\(text)').")
            }
            let previous = EnvironmentIsolation.current
            EnvironmentIsolation.current = mode
            return try previous.rawValue.pythonObject()
        })

    static let compare = Function(
        name: "compare", parameters: ["teacher", "student", "episodes", "seed", "env"],
        doc: "JSON of a teacher-versus-student comparison (as `distill compare --json`).",
        body: { a in
            let tURL = URL(fileURLWithPath: try a.string("teacher")), sURL = URL(fileURLWithPath: try a.string("student"))
            let (t, tm) = try ComparedModel.load(tURL)
            let (s, _) = try ComparedModel.load(sURL)
            // env: an id, a factory from the Python package, or None for the teacher's recorded one.
            let envArg = a.optional("env")
            let given = envArg.flatMap { try? String(python: $0) }
            guard envArg != nil || tm.environment != nil else {
                throw RunError.invalidSetting("the teacher records no environment; pass env=.")
            }
            let recipe = given.map { EnvironmentRecipe(name: $0) } ?? EnvironmentRecipe(recordedIn: tm) ?? EnvironmentRecipe(name: "")
            let episodes = try a.int("episodes") ?? 20, seed = try a.int("seed") ?? 100
            guard episodes >= 1 else { throw ArgumentError.value("episodes must be a positive integer (got \(episodes)).") }
            guard seed >= 0 else { throw ArgumentError.value("seed must be 0 or more (got \(seed)).") }
            let env = try envArg.map { try environment($0) } ?? makeEnvironment(recipe, recorded: true)
            let report = try Python.withoutGIL {
                try Distill.compare(teacher: t, student: s, env: env, episodes: episodes, seed: seed)
            }
            return try json(report)
        })

    static let robustness = Function(
        name: "robustness", parameters: ["models", "env", "episodes", "seed", "obs_noise", "random_actions", "sticky_actions", "vary", "preset"],
        doc: "JSON of a robustness study (as `distill robustness --json`): levels as lists of numbers (empty: left out), vary as {name: [level texts]}.",
        body: { a in
            let paths = try [String](python: try a.object("models"))
            guard !paths.isEmpty else { throw ArgumentError.value("models must name at least one model directory; the first is the reference.") }
            let loaded = try paths.map { try ComparedModel.load(URL(fileURLWithPath: $0)) }
            for (path, (m, _)) in zip(paths, loaded) where (m.continuousAct != nil) != (loaded[0].0.continuousAct != nil) {
                throw ArgumentError.value("\(path) acts with \(m.continuousAct != nil ? "continuous" : "discrete") actions and \(paths[0]) does not; study models of one environment.")
            }
            let manifest = loaded[0].1
            let envArg = a.optional("env")
            let given = envArg.flatMap { try? String(python: $0) }
            guard envArg != nil || manifest.environment != nil else {
                throw RunError.invalidSetting("the first model records no environment; pass env=.")
            }
            let recipe = given.map { EnvironmentRecipe(name: $0) } ?? EnvironmentRecipe(recordedIn: manifest) ?? EnvironmentRecipe(name: "")
            let episodes = try a.int("episodes") ?? 20, seed = try a.int("seed") ?? 100
            guard episodes >= 1 else { throw ArgumentError.value("episodes must be a positive integer (got \(episodes)).") }
            guard seed >= 0 else { throw ArgumentError.value("seed must be 0 or more (got \(seed)).") }
            var axes: [PerturbationAxis] = []
            for (key, kind) in [("obs_noise", PerturbationKind.observationNoise), ("random_actions", .randomActions), ("sticky_actions", .stickyActions)] {
                let levels = try a.optional(key).map { try [Double](python: $0) } ?? []
                if !levels.isEmpty { axes.append(.init(kind, levels: levels)) }
            }
            var texts = try a.optional("vary").map { try [String: [String]](python: $0) } ?? [:]
            for name in texts.keys.sorted() {
                let values = texts[name]!.map(Double.init)
                guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                    throw ArgumentError.value("vary[\(name)] must be a list of numbers (got \(texts[name]!)).")
                }
                axes.append(.init(.dynamics, levels: values.map { $0! }, parameter: name))
            }
            if try a.bool("preset") {
                guard let p = EnvironmentParameters.presets[recipe.name] else {
                    throw ArgumentError.value("there is no preset dynamics change for \(recipe.name); name one with vary={name: [levels]}.")
                }
                texts[p.name] = p.levels
                axes.append(.init(.dynamics, levels: p.levels.map { Double($0)! }, parameter: p.name))
            }
            guard !axes.isEmpty else { throw ArgumentError.value("every perturbation is empty; give at least one list of levels.") }
            let study = RobustnessStudy(axes: axes, episodes: episodes, seed: seed)
            do { try study.validate() } catch let e as RobustnessError { throw ArgumentError.value(e.description) }
            let nominal = try envArg.map { try environment($0) } ?? makeEnvironment(recipe, recorded: true)
            for (m, _) in loaded { try checkFits(inputs: m.inputSize, actions: m.actionCount, continuous: m.continuousAct != nil, nominal) }
            if axes.contains(where: { $0.kind == .dynamics }), !(nominal is GymEnvironment) {
                throw ArgumentError.value("\(nominal.spec.name) is not a Gymnasium environment in this process; vary and preset need one.")
            }
            let open = EnvironmentParameters.opener(recipe: recipe, recorded: given == nil, nominal: nominal, texts: texts)
            let names = paths.map { URL(fileURLWithPath: $0).standardizedFileURL.lastPathComponent }
            let report = try Python.withoutGIL {
                try study.run(models: zip(names, loaded).map { ($0.0, $0.1.0.acting) }, environment: recipe.description, open: open)
            }
            return try json(report)
        })

    static let quantize = Function(
        name: "quantize", parameters: ["model", "out", "calibration_states", "env", "force", "recalibrate"],
        doc: "Quantises a ReLU student (dense or convolutional) to int8 in out, calibrated on states it visits in its environment (or env); returns out.",
        body: { a in
            let source = URL(fileURLWithPath: try a.string("model")), target = URL(fileURLWithPath: try a.string("out"))
            let count = try a.int("calibration_states") ?? 10_000
            guard (1...10_000_000).contains(count) else {
                throw ArgumentError.value("calibration_states must be between 1 and 10,000,000 (got \(count)); the activation scales need states the student visits.")
            }
            let (network, manifest) = try ModelDirectory.load(from: source)
            let envArg = a.optional("env")
            guard envArg != nil || manifest.environment != nil else {
                throw RunError.invalidSetting("the model records no environment; pass env=.")
            }
            let env = try envArg.map { try environment($0) } ?? makeEnvironment(EnvironmentRecipe(recordedIn: manifest)!, recorded: true)
            // A quantisation-aware student keeps the grid it trained on, unless recalibrate=True.
            let trained = try a.bool("recalibrate") ? nil : manifest.quantizerRanges
            let int8 = try quantizeForDeployment(network, env: env, calibrationStates: count, trainedRanges: trained)
            if FileManager.default.fileExists(atPath: target.path) {
                guard try a.bool("force") else { throw RunError.alreadyExists(target.path) }
                guard (try? ModelDirectory.readManifest(target))?.quantization != nil else {
                    throw RunError.invalidSetting("\(target.path) exists and is not an int8 model; force=True only replaces one.")
                }
                try FileManager.default.removeItem(at: target)
            }
            var config = manifest.config
            config["quantized_from"] = .string(source.standardizedFileURL.path)
            config["scales_from"] = .string(trained != nil ? "quantizer_ranges" : "calibration")
            try Int8Directory.save(int8, to: target, calibrationStates: trained != nil ? 0 : count, environment: manifest.environment,
                                   environmentArguments: manifest.environmentArguments ?? [:],
                                   environmentWrappers: manifest.environmentWrappers ?? [], config: config, metrics: [:])
            return try target.path.pythonObject()
        })

    /// Environments a Python `DQN` keeps between its `learn` calls (`env_session`), with where
    /// their episodes stood when the last run on them ended: the next `learn` goes on from there
    /// (SB3's `_last_obs`) rather than resetting them. Dropped by `release_env_session` (the
    /// `DQN`'s finaliser, `set_env`) or when a run on them fails.
    struct EnvironmentSession {
        var environments: [any Environment]
        var episodes: DQNAlgorithm.EpisodesInProgress
        var spec: EnvironmentSpec
    }
    nonisolated(unsafe) static var environmentSessions: [Int: EnvironmentSession] = [:]

    static let environmentSessionObservations = Function(
        name: "env_session_observations", parameters: ["session"],
        doc: "The observations (N × values, as the network reads them) the environments of an env_session are at, with the scale "
            + "applied to them and the first value of a one-hot Discrete space: a dict of values, scale, one_hot_start; None when the session holds none.",
        body: { a in
            guard let id = try a.int("session"), let kept = Bindings.environmentSessions[id],
                  let size = kept.episodes.observations.first?.count else { return try PythonObject.none }
            let array = try PythonObject.ndarray(kept.episodes.observations.flatMap { $0 }, shape: [kept.episodes.observations.count, size])
            // Per environment, the last steps waiting for their n-step transitions (plain lists: saved as JSON).
            let pending = try kept.episodes.pendingSteps.map { steps in
                try PythonObject.dictionary(["observations": steps.map(\.observation), "actions": steps.map(\.action),
                                             "rewards": steps.map(\.reward)])
            }
            return try PythonObject.dictionary(["values": array, "scale": Double(kept.spec.observationScale), "one_hot_start": kept.spec.oneHotStart,
                                                "returns": kept.episodes.returns, "lengths": kept.episodes.lengths, "pending": pending])
        })

    /// Episodes in progress from Python: `values` (N × observation values, as the network reads
    /// them), `returns` and `lengths` (N each), and optionally `pending` (N dicts of the steps
    /// waiting for their n-step transitions: `observations`, `actions`, `rewards`).
    static func episodes(from given: PythonObject) throws -> DQNAlgorithm.EpisodesInProgress {
        let values = try given.item("values"), shape = try values.arrayShape()
        guard shape.count == 2 else { throw ArgumentError.value("continue_from values must be an N × observation-values array, got shape \(shape).") }
        let flat = try values.floatArray()
        let rows = (0..<shape[0]).map { Array(flat[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
        let returns = try [Double](python: given.item("returns")), lengths = try [Int](python: given.item("lengths"))
        guard returns.count == shape[0], lengths.count == shape[0] else {
            throw ArgumentError.value("continue_from needs one return and one length per observation row (\(shape[0])).")
        }
        var pending: [[NStepAccumulator.Step]] = []
        let givenPending = try given.method("get", "pending")
        if !givenPending.isNone {
            pending = try givenPending.elements().map { steps in
                let observations = try [[Float]](python: steps.item("observations")), actions = try [Int](python: steps.item("actions"))
                let rewards = try [Float](python: steps.item("rewards"))
                guard observations.count == actions.count, actions.count == rewards.count else {
                    throw ArgumentError.value("continue_from pending steps need as many observations, actions and rewards (\(observations.count), \(actions.count), \(rewards.count)).")
                }
                return (0..<actions.count).map { NStepAccumulator.Step(observation: observations[$0], action: actions[$0], reward: rewards[$0]) }
            }
        }
        return DQNAlgorithm.EpisodesInProgress(observations: rows, returns: returns, lengths: lengths, pendingSteps: pending)
    }

    static let releaseEnvironmentSession = Function(
        name: "release_env_session", parameters: ["session"],
        doc: "Drops the environments an env_session keeps (the next train of that session opens new ones).",
        body: { a in
            if let id = try a.int("session") { Bindings.environmentSessions[id] = nil }
            return try PythonObject.none
        })

    /// The policy of the training run in progress, while its callback runs (`share_policy`).
    nonisolated(unsafe) static var livePolicy: MLP?
    /// The environments' current observations of that run, and their spec.
    nonisolated(unsafe) static var liveObservations: (values: [[Float]], spec: EnvironmentSpec)?

    static let liveObservationsFunction = Function(
        name: "live_observations", parameters: [],
        doc: "The current observations (N × values, as the network reads them) of the environments a train(share_policy=True) run steps, "
            + "with the scale applied to them and the first value of a one-hot Discrete space: a dict of values, scale, one_hot_start.",
        body: { _ in
            guard let (values, spec) = liveObservations, let size = values.first?.count else {
                throw ArgumentError.value("no training run is sharing its observations: call this from the callback of train(share_policy=True).")
            }
            let array = try PythonObject.ndarray(values.flatMap { $0 }, shape: [values.count, size])
            return try PythonObject.dictionary(["values": array, "scale": Double(spec.observationScale),
                                            "one_hot_start": spec.oneHotStart]) 
        })

    static let liveQValues = Function(
        name: "live_q_values", parameters: ["observations"],
        doc: "The Q-values (N × actions) of the policy a train(share_policy=True) run is training, from its callback.",
        body: { a in
            guard let net = livePolicy else {
                throw ArgumentError.value("no training run is sharing its policy: call this from the callback of train(share_policy=True).")
            }
            let observations = try a.object("observations")
            let shape = try observations.arrayShape()
            guard shape.count == 2, shape[1] == net.inputSize else {
                throw ArgumentError.value("observations must have shape (N, \(net.inputSize)), got \(shape).")
            }
            let q = Policy(net).qValues(Tensor(shape: shape, scalars: try observations.floatArray()))
            return try PythonObject.ndarray(q.scalars, shape: q.shape)
        })

    static let qValues = Function(
        name: "q_values", parameters: ["model", "observations"],
        doc: "The Swift core's Q-values (N × actions, float32) of a saved model for a 2-D array of observations.",
        body: { a in
            let directory = URL(fileURLWithPath: try a.string("model"))
            let observations = try a.object("observations")
            if try ModelDirectory.readManifest(directory).quantization != nil {
                // An int8 model: the core's integer arithmetic, one observation at a time.
                let (net, _) = try Int8Directory.load(from: directory)
                let shape = try observations.arrayShape()
                guard shape.count == 2, shape[1] == net.inputSize else {
                    throw ArgumentError.value("observations must have shape (N, \(net.inputSize)), got \(shape).")
                }
                let values = try observations.floatArray()
                var q: [Float] = []
                q.reserveCapacity(shape[0] * net.outputSize)
                for r in 0..<shape[0] { q += net.qValues(Array(values[(r * shape[1])..<((r + 1) * shape[1])])) }
                return try PythonObject.ndarray(q, shape: [shape[0], net.outputSize])
            }
            let (net, _) = try ModelDirectory.load(from: directory)
            let shape = try observations.arrayShape()
            guard shape.count == 2, shape[1] == net.inputSize else {
                throw ArgumentError.value("observations must have shape (N, \(net.inputSize)), got \(shape).")
            }
            let q = Policy(net).qValues(Tensor(shape: shape, scalars: try observations.floatArray()))
            return try PythonObject.ndarray(q.scalars, shape: q.shape)
        })

    /// A string names an environment; anything else is a factory that returns a Gymnasium env.
    static func environment(_ arg: PythonObject) throws -> any Environment {
        if let name = try? String(python: arg) { return try makeEnvironment(name) }
        let object: PythonObject
        do { object = try arg.call() } catch let e as PythonError {
            throw EnvironmentError.python(arg.typeName, operation: "creating the environment", e)
        }
        return try GymEnvironment(object: object)
    }

    static func json<T: Encodable>(_ value: T) throws -> PythonObject {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try String(decoding: encoder.encode(value), as: UTF8.self).pythonObject()
    }
}

/// Progress callbacks, Ctrl-C (a pending KeyboardInterrupt) and callback errors for one run.
final class RunControl {
    let callback: PythonObject?
    private var caught: PythonError?

    init(callback: PythonObject?) { self.callback = callback }

    /// Wires the run's hooks: events to the callback, stop on a signal or a callback's
    /// exception, and the GIL released around pure computation.
    func attach(to hooks: inout RunHooks) {
        hooks.shouldStop = { [self] in shouldStop() }
        hooks.onEvent = { [self] in send($0.dictionary) }
        hooks.wantsCheckpoint = { [self] in
            defer { checkpointAsked = false }
            return checkpointAsked
        }
        hooks.aroundCompute = { body in Python.withoutGIL(body) }
    }

    /// True once Python has a pending signal exception or the callback raised.
    func shouldStop() -> Bool {
        if caught != nil { return true }
        let signalled = (try? Python.withGIL { PyErr_CheckSignals() != 0 }) ?? false
        if signalled { caught = (try? Python.withGIL { PythonError.fetch() }) }
        return caught != nil
    }

    /// The callback returned "checkpoint": the run saves one after this event.
    private var checkpointAsked = false

    func send(_ event: [String: any PythonConvertible]) {
        guard let callback, caught == nil else { return }
        do {
            let answer = try callback.call(PythonObject.dictionary(event))
            if (try? String(python: answer)) == "checkpoint" { checkpointAsked = true }
        } catch let e as PythonError { caught = e } catch {}
    }

    /// Raises what stopped the run, after the run's checkpoint.
    func finish() throws {
        if let caught, let ex = caught.exception { throw Bindings.Interrupted(exception: ex) }
    }
}

extension RunEvent {
    /// The event as the dict a Python callback receives (`kind` is progress, episode or eval).
    var dictionary: [String: any PythonConvertible] {
        switch self {
        case .progress(let p):
            var d: [String: any PythonConvertible] = ["kind": "progress", "step": p.step, "total_steps": p.totalSteps,
                                                      "gradient_steps": p.gradientSteps, "steps_per_second": p.stepsPerSecond]
            for (k, v) in p.values { d[k] = k == "episodes" || k == "labels" ? Int(v) as any PythonConvertible : v }
            return d
        case .episode(let e):
            var d: [String: any PythonConvertible] = ["kind": "episode", "step": e.step, "episode": e.episode,
                                                      "return": e.episodeReturn, "length": e.length, "environment": e.environment]
            for (k, v) in e.values { d[k] = v }
            return d
        case .evaluation(let step, let r, let isBest):
            return ["kind": "eval", "step": step, "mean_return": r.mean, "std_return": r.std, "is_best": isBest]
        }
    }
}
