import Tensor

/// One student for several tasks (Rusu et al. 2015's multi-task policy distillation): a per-task
/// input layer (observation sizes differ between environments), a trunk of hidden layers every
/// task shares, and a per-task output head. Task k's network is the plain MLP
/// input_k → trunk → head_k, so everything that runs an MLP (evaluation, saving, the NumPy
/// loader, exports) runs one task.
public struct MultiTaskNetwork: Equatable, Sendable {
    public var inputLayers: [Linear]
    /// Hidden-to-hidden layers shared by every task (empty with one hidden layer).
    public var trunk: [Linear]
    public var heads: [Linear]
    public var activation: Activation

    /// Task k maps `inputSizes[k]` observations through `hiddenSizes` (at least one) to `outputSizes[k]` actions.
    public init(inputSizes: [Int], hiddenSizes: [Int], outputSizes: [Int], activation: Activation = .relu, seed: UInt64) {
        precondition(!hiddenSizes.isEmpty && inputSizes.count == outputSizes.count && !inputSizes.isEmpty,
                     "a multi-task network needs a hidden layer and one input and output size per task")
        var rng = SeededGenerator(seed: seed)
        inputLayers = inputSizes.map { Linear(inputs: $0, outputs: hiddenSizes[0], rng: &rng) }
        trunk = zip(hiddenSizes, hiddenSizes.dropFirst()).map { Linear(inputs: $0, outputs: $1, rng: &rng) }
        heads = outputSizes.map { Linear(inputs: hiddenSizes[hiddenSizes.count - 1], outputs: $0, rng: &rng) }
        self.activation = activation
    }

    public var taskCount: Int { inputLayers.count }

    /// Task `task`'s network: its input layer, the shared trunk, its head.
    public func network(task: Int) -> MLP {
        MLP(layers: [inputLayers[task]] + trunk + [heads[task]], activation: activation)
    }

    /// Every weight and bias once (shared ones counted once).
    public var parameterCount: Int {
        (inputLayers + trunk + heads).reduce(0) { $0 + $1.weight.count + $1.bias.count }
    }

    /// All parameters in a fixed order: input layers, trunk, heads (each weight, then bias).
    public var parameters: [Tensor] { (inputLayers + trunk + heads).flatMap { [$0.weight, $0.bias] } }

    /// Names of `parameters`, in order, for checkpoints.
    public var parameterNames: [String] {
        inputLayers.indices.flatMap { ["inputs.\($0).weight", "inputs.\($0).bias"] }
            + trunk.indices.flatMap { ["trunk.\($0).weight", "trunk.\($0).bias"] }
            + heads.indices.flatMap { ["heads.\($0).weight", "heads.\($0).bias"] }
    }

    /// Gradients of `parameters` from each task's network gradients (`perTask[k]` in
    /// `network(task: k).parameters` order), each scaled by `scale`: a task's input layer and head
    /// receive only its own gradient; the trunk receives the sum over tasks.
    public func combine(_ perTask: [[Tensor]], scale: Float) -> [Tensor] {
        precondition(perTask.count == taskCount, "one gradient list per task")
        var inputs: [Tensor] = [], heads: [Tensor] = []
        var trunk = [Tensor?](repeating: nil, count: 2 * self.trunk.count)
        for grads in perTask {
            inputs += grads[0..<2].map { $0 * scale }
            heads += grads[(grads.count - 2)...].map { $0 * scale }
            for j in trunk.indices {
                let g = grads[2 + j] * scale
                if trunk[j] == nil { trunk[j] = g } else { trunk[j]! += g }
            }
        }
        return inputs + trunk.map { $0! } + heads
    }

    /// Lends the parameters (in `parameters` order) to `body` for in-place changes.
    public mutating func withParameters<R>(_ body: (inout [Tensor]) throws -> R) rethrows -> R {
        // Moved out so each tensor's storage stays uniquely referenced (updated without a copy).
        let (i, t) = (inputLayers.count, trunk.count)
        var all = MLP(unchainedLayers: inputLayers + trunk + heads, activation: activation)
        (inputLayers, trunk, heads) = ([], [], [])
        defer {
            inputLayers = Array(all.layers[0..<i])
            trunk = Array(all.layers[i..<(i + t)])
            heads = Array(all.layers[(i + t)...])
        }
        return try all.withParameters(body)
    }
}
