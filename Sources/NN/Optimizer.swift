import Foundation
import Tensor

/// Updates parameters from gradients; state (moments) lives in the optimizer value.
public protocol Optimizer: Sendable {
    /// Applies one update in place.
    mutating func step(_ parameters: inout [Tensor], gradients: [Tensor])
}

extension Optimizer {
    /// Applies one update to a network in place.
    public mutating func step(_ network: inout MLP, gradients: MLP.Gradients) {
        network.withParameters { step(&$0, gradients: gradients.parameters) }
    }
}

/// Stochastic gradient descent with optional (PyTorch-style) momentum.
public struct SGD: Optimizer {
    public var learningRate: Float
    public var momentum: Float
    private var velocity: [Tensor] = []

    public init(learningRate: Float, momentum: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public mutating func step(_ parameters: inout [Tensor], gradients: [Tensor]) {
        if velocity.isEmpty { velocity = gradients.map { Tensor(shape: $0.shape) } }
        for i in parameters.indices {
            if momentum == 0 {
                parameters[i] = parameters[i].zipWith(gradients[i]) { p, g in p - learningRate * g }
            } else {
                velocity[i] = velocity[i].zipWith(gradients[i]) { v, g in momentum * v + g }
                parameters[i] = parameters[i].zipWith(velocity[i]) { p, v in p - learningRate * v }
            }
        }
    }
}

/// Adam (Kingma & Ba), with PyTorch's defaults and bias correction.
public struct Adam: Optimizer {
    public var learningRate: Float
    public var beta1: Float, beta2: Float, epsilon: Float
    public private(set) var stepCount = 0
    private var m: [[Float]] = [], v: [[Float]] = []

    /// The moment estimates and step count, for exact checkpoints.
    public struct State: Sendable, Equatable {
        public var stepCount: Int
        public var firstMoments: [[Float]]
        public var secondMoments: [[Float]]
        public init(stepCount: Int, firstMoments: [[Float]], secondMoments: [[Float]]) {
            self.stepCount = stepCount
            self.firstMoments = firstMoments
            self.secondMoments = secondMoments
        }
    }

    public var state: State {
        get { State(stepCount: stepCount, firstMoments: m, secondMoments: v) }
        set {
            stepCount = newValue.stepCount
            m = newValue.firstMoments
            v = newValue.secondMoments
        }
    }

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public mutating func step(_ parameters: inout [Tensor], gradients: [Tensor]) {
        let (stepSize, sqrtC2) = beginStep(gradients)
        for i in parameters.indices {
            update(&parameters[i], index: i, gradient: gradients[i], stepSize: stepSize, sqrtC2: sqrtC2)
        }
    }

    /// One update of a network's parameters in place (the same bits as through `parameters`,
    /// without building an array of them).
    public mutating func step(_ network: inout MLP, gradients: MLP.Gradients) {
        let (stepSize, sqrtC2) = beginStep(gradients.parameters)
        network.updateEachParameter { i, p in
            update(&p, index: i, gradient: gradients.parameters[i], stepSize: stepSize, sqrtC2: sqrtC2)
        }
    }

    /// Counts the step (moments start at 0 on the first) and returns its bias-corrected step
    /// size and √(1 − β₂ᵗ).
    private mutating func beginStep(_ gradients: [Tensor]) -> (stepSize: Float, sqrtC2: Float) {
        if m.isEmpty {
            m = gradients.map { [Float](repeating: 0, count: $0.count) }
            v = m
        }
        stepCount += 1
        let c1 = 1 - Float(Foundation.pow(Double(beta1), Double(stepCount)))
        let c2 = 1 - Float(Foundation.pow(Double(beta2), Double(stepCount)))
        return (learningRate / c1, c2.squareRoot())
    }

    private mutating func update(_ parameter: inout Tensor, index i: Int, gradient: Tensor, stepSize: Float, sqrtC2: Float) {
        parameter.adamStep(gradient: gradient, firstMoment: &m[i], secondMoment: &v[i], beta1: beta1, beta2: beta2,
                           stepSize: stepSize, sqrtC2: sqrtC2, epsilon: epsilon)
    }
}

/// RMSprop as PyTorch implements it (no momentum, ε outside the square root).
public struct RMSprop: Optimizer {
    public var learningRate: Float
    public var alpha: Float, epsilon: Float
    private var square: [Tensor] = []

    public init(learningRate: Float = 1e-2, alpha: Float = 0.99, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
    }

    public mutating func step(_ parameters: inout [Tensor], gradients: [Tensor]) {
        if square.isEmpty { square = gradients.map { Tensor(shape: $0.shape) } }
        for i in parameters.indices {
            square[i] = square[i].zipWith(gradients[i]) { s, g in alpha * s + (1 - alpha) * g * g }
            let denom = square[i].map { $0.squareRoot() + epsilon }
            parameters[i] = parameters[i] - (gradients[i].zipWith(denom, /) * learningRate)
        }
    }
}

/// Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipByGlobalNorm(_ gradients: inout [Tensor], maxNorm: Float) -> Float {
    let norm = gradients.reduce(Float(0)) { $0 + $1.squaredNorm() }.squareRoot()
    if norm > maxNorm, norm > 0 {
        let scale = maxNorm / (norm + 1e-6)
        for i in gradients.indices { gradients[i].scale(by: scale) }
    }
    return norm
}
