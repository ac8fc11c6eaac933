import Environments
import NN
import Quantization
import Runs
import Tensor

/// `network` in int8 for deployment (`distill quantize`, `sd.quantize`): on the activation
/// ranges it trained with (`trainedRanges`, a quantisation-aware student's), else calibrated on
/// `calibrationStates` states it visits in `env` acting ε-greedily (ε = 0.1, seed 10,000), with
/// uniform actions in the box for a continuous head.
public func quantizeForDeployment(_ network: MLP, env: any Environment, calibrationStates: Int, trainedRanges: [Float]?) throws -> Int8Network {
    let float = Policy(network)
    try checkFits(float, env)
    let calibration = trainedRanges != nil ? Tensor.empty
        : try collectStates(env, count: calibrationStates, seed: 10_000, epsilon: 0.1, acting: float.acting)
    return try Int8Quantizer.quantize(network, calibration: calibration, ranges: trainedRanges)
}

extension Int8Network {
    /// How the int8 network acts: its greedy action, or its head's continuous action.
    public var acting: Acting { head.isContinuous ? .continuous(continuousAction) : .discrete(action) }
}
