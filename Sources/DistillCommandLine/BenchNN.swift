import ArgumentParser
import DQN
import Foundation
import NN
import PythonBridge
import Tensor

/// `distill bench nn`: the DQN-shaped update (online forward + backward + Adam, plus a target
/// forward) and single-observation inference, with PyTorch on one thread in the same run when
/// it is installed.
struct BenchNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nn",
        abstract: "Time the DQN-shaped update and inference of small MLPs; compare with PyTorch (1 thread) if installed.")

    @Option(help: "Hidden layer sizes to benchmark, e.g. 256,256 (repeatable).")
    var hidden: [String] = ["256,256", "64,64"]
    @Option(help: "Batch size of the update.")
    var batch = 64
    @Option(help: "Seconds to spend measuring each figure.")
    var seconds = 2.0
    @Flag(help: "Skip the PyTorch comparison even if torch is installed.")
    var noTorch = false
    @Flag(help: "Print JSON instead of a table.")
    var json = false
    @Flag(help: .hidden)
    var updatesOnly = false
    @Option(help: "Convolutions before the hidden layers (e.g. minatar, nature or 16:3:1), over --image inputs.")
    var conv: String?
    @Option(help: "Image shape height,width,channels for --conv (MinAtar's 10,10,4 by default).")
    var image = "10,10,4"

    /// The convolutions and image shape asked for (none: the CartPole-shaped MLP with 4 inputs).
    func convolutionSetup() throws -> (specs: [ConvSpec], shape: [Int]) {
        guard let conv else { return ([], []) }
        let specs = ConvSpec.presets[conv.lowercased()] ?? conv.split(separator: ",").compactMap { ConvSpec(parsing: String($0)) }
        let shape = image.split(separator: ",").compactMap { Int($0) }
        guard !specs.isEmpty, shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--conv takes minatar, nature or OUT:KERNEL[:STRIDE[:PADDING]] specs, and --image height,width,channels.")
        }
        try DQNAlgorithm.checkConvolutions(specs, shape: shape, name: "--image \(image)")
        return (specs, shape)
    }

    /// The benchmarked Q-network: CartPole-shaped (4 inputs, 2 actions), or convolutions over an image (3 actions).
    func network(hidden sizes: [Int]) throws -> MLP {
        let (specs, shape) = try convolutionSetup()
        if specs.isEmpty { return MLP(inputSize: 4, hiddenSizes: sizes, outputSize: 2, seed: 0) }
        return MLP(observationShape: shape, convolutions: specs, hiddenSizes: sizes, outputSize: 3, seed: 0)
    }

    func run() throws {
        Allocator.retainFreedMemory()
        var rows: [[String: Any]] = []
        for spec in hidden {
            let sizes = spec.split(separator: ",").compactMap { Int($0) }
            guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--hidden takes positive sizes separated by commas, e.g. 256,256.")
            }
            var row = measureSwift(try network(hidden: sizes))
            if !noTorch, let torch = try measureTorch(try network(hidden: sizes)) {
                row.merge(torch) { a, _ in a }
                row["speedup_update"] = (row["updates_per_s"] as! Double) / (torch["torch_updates_per_s"] as! Double)
                row["speedup_inference"] = (torch["torch_inference_us"] as! Double) / (row["inference_us"] as! Double)
            }
            rows.append(row)
        }
        if json {
            rows = rows.map { $0.merging(["cpu": Self.cpuName]) { a, _ in a } }
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("CPU: \(Self.cpuName); kernels: \(Kernels.instructionSet) (chosen at run time from \(Kernels.availableInstructionSets.joined(separator: ", "))); FTZ/DAZ during updates")
        print("DQN-shaped update, batch \(batch): online forward + backward + Adam, plus a target forward")
        for r in rows {
            print("  \(conv == nil ? "MLP" : "Q-network") \(r["net"]!)")
            print(String(format: "    swift-distill: %8.1f µs/update  %8.0f updates/s  %6.1f GFLOP/s   inference %.2f µs/obs",
                         r["update_us"] as! Double, r["updates_per_s"] as! Double, r["gflops"] as! Double, r["inference_us"] as! Double))
            if let t = r["torch_updates_per_s"] as? Double {
                print(String(format: "    PyTorch (1 thread): %8.1f µs/update  %8.0f updates/s  %6.1f GFLOP/s   inference %.2f µs/obs",
                             r["torch_update_us"] as! Double, t, r["torch_gflops"] as! Double, r["torch_inference_us"] as! Double))
                print(String(format: "    ratio: %.1fx updates/s, %.1fx inference", r["speedup_update"] as! Double, r["speedup_inference"] as! Double))
            } else {
                print("    PyTorch: not installed in this Python; comparison skipped")
            }
        }
    }

    /// The CPU's model name (from /proc/cpuinfo), printed beside every figure.
    static var cpuName: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// FLOPs of one update: two forwards (online, target) and a backward (≈ 2× a forward, minus
    /// the first layer's input gradient).
    private func updateFlops(_ net: MLP) -> Double {
        let forward = Double(net.flopsPerSample * batch)
        let firstLayerInputGrad = Double(net.convolutions.first.map { $0.flopsPerSample * batch }
                                         ?? 2 * net.layers[0].inputSize * net.layers[0].outputSize * batch)
        return 2 * forward + 2 * forward - firstLayerInputGrad
    }

    /// "4→256→256→2", or "10×10×4→conv16:3:1→128→3".
    static func label(_ net: MLP) -> String {
        let input = net.inputShape.isEmpty ? "\(net.inputSize)" : net.inputShape.map(String.init).joined(separator: "×")
        let convs = net.convolutions.map { "conv\($0.spec)" }
        return ([input] + convs + net.hiddenSizes.map(String.init) + ["\(net.outputSize)"]).joined(separator: "→")
    }

    /// The update is `DQNLearner.update`, the call training makes (workspaces reused, no
    /// allocation once warm), with clipping off as in the PyTorch loop (its norm is still computed).
    private func measureSwift(_ network: MLP) -> [String: Any] {
        let d = network.inputSize, actionCount = network.outputSize
        var config = DQNConfig()
        config.maxGradNorm = .greatestFiniteMagnitude
        var learner = DQNLearner(online: network, target: network, optimizer: Adam(learningRate: 1e-4), actionCount: actionCount,
                                 config: config)
        var rng = SeededGenerator(seed: 1)
        let states = Tensor(shape: [batch, d], scalars: (0..<(batch * d)).map { _ in rng.uniform(-1, 1) })
        let next = Tensor(shape: [batch, d], scalars: (0..<(batch * d)).map { _ in rng.uniform(-1, 1) })
        let actions = (0..<batch).map { _ in rng.int(below: actionCount) }
        let transitions = TransitionBatch(observations: states, actions: actions, rewards: Tensor(shape: [batch], repeating: 1),
                                          nextObservations: next, bootstrapDiscounts: Tensor(shape: [batch], repeating: 0.99),
                                          weights: Tensor(shape: [batch], repeating: 1), indices: Array(0..<batch))
        let perUpdate = timePerCall { SubnormalMode.flushingToZero { _ = learner.update(transitions) } }
        let online = learner.online
        let obs = Tensor(shape: [1, d], scalars: (0..<d).map { Float($0 % 7) * 0.01 })
        var sink: Float = 0
        let perInference = updatesOnly ? .nan : timePerCall { sink += online(obs).scalars[0] }
        if sink.isNaN { print("") }
        return ["net": Self.label(online),
                "update_us": perUpdate * 1e6, "updates_per_s": 1 / perUpdate,
                "gflops": updateFlops(online) / perUpdate / 1e9, "inference_us": perInference * 1e6]
    }

    private func timePerCall(_ body: () -> Void) -> Double { medianSecondsPerCall(seconds: seconds, body) }

    private func measureTorch(_ network: MLP) throws -> [String: Any]? {
        let script = try Python.run(Self.torchScript)
        let convs = network.convolutions.map { [$0.outputChannels, $0.geometry.kernelHeight, $0.geometry.stride, $0.geometry.padding] }
        let result = try script.item("bench").call(network.hiddenSizes, batch, seconds, network.inputShape, convs, network.outputSize)
        if result.isNone { return nil }
        let r = try [String: Double](python: result)
        let flops = updateFlops(network)
        return ["torch_update_us": r["update"]! * 1e6, "torch_updates_per_s": 1 / r["update"]!,
                "torch_gflops": flops / r["update"]! / 1e9, "torch_inference_us": r["inference"]! * 1e6]
    }

    static let torchScript = """
        import time
        def bench(hidden, batch, seconds, image=(), convs=(), actions_n=2):
            try:
                import torch
            except ImportError:
                return None
            import copy
            torch.set_num_threads(1)
            torch.manual_seed(0)
            layers = []
            if convs:
                # ours reads (H, W, C); PyTorch's convolutions read (C, H, W): the same arithmetic.
                h, w, c = image
                for out, k, st, pad in convs:
                    layers += [torch.nn.Conv2d(c, out, k, st, pad), torch.nn.ReLU()]
                    h, w, c = (h + 2 * pad - k) // st + 1, (w + 2 * pad - k) // st + 1, out
                layers.append(torch.nn.Flatten())
                sizes, shape = [h * w * c] + list(hidden) + [actions_n], (image[2], image[0], image[1])
            else:
                sizes, shape = [4] + list(hidden) + [actions_n], (4,)
            for i in range(len(sizes) - 1):
                layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
                if i < len(sizes) - 2:
                    layers.append(torch.nn.ReLU())
            online = torch.nn.Sequential(*layers)
            target = copy.deepcopy(online)
            opt = torch.optim.Adam(online.parameters(), lr=1e-4)
            states, nxt = torch.rand(batch, *shape) * 2 - 1, torch.rand(batch, *shape) * 2 - 1
            actions = torch.randint(0, actions_n, (batch, 1))
            rewards = torch.ones(batch)
            def update():
                with torch.no_grad():
                    targets = rewards + 0.99 * target(nxt).max(dim=1).values
                q = online(states).gather(1, actions).squeeze(1)
                loss = torch.nn.functional.smooth_l1_loss(q, targets)
                opt.zero_grad()
                loss.backward()
                opt.step()
            obs = torch.rand(1, *shape)
            def infer():
                with torch.no_grad():
                    online(obs)
            def per_call(f):
                for _ in range(20):
                    f()
                n = 1
                while True:
                    n *= 2
                    t = time.perf_counter()
                    for _ in range(n):
                        f()
                    if time.perf_counter() - t > seconds / 10:
                        break
                samples = []
                for _ in range(7):
                    t = time.perf_counter()
                    for _ in range(n):
                        f()
                    samples.append((time.perf_counter() - t) / n)
                return sorted(samples)[3]
            return {"update": per_call(update), "inference": per_call(infer)}
        """
}

/// Median seconds per call over seven timed chunks, after a warm-up; a chunk lasts about
/// `seconds / 10`.
func medianSecondsPerCall(seconds: Double, _ body: () -> Void) -> Double {
    for _ in 0..<20 { body() }
    var calls = 1
    var elapsed = 0.0
    repeat {
        calls *= 2
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<calls { body() }
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    } while elapsed < seconds / 10
    var samples: [Double] = []
    for _ in 0..<7 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<calls { body() }
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 / Double(calls))
    }
    return samples.sorted()[3]
}
