/// What a network's outputs mean. Acting is the same for every head here — the greedy action
/// is the argmax of the outputs — but the losses that may train against them are not: a Q-value
/// head has a TD (task) loss, a categorical policy's logits have none, and their softmax at
/// temperature 1 is the policy itself.
public enum OutputHead: String, Codable, Sendable, CaseIterable {
    /// One Q-value per action (DQN).
    case q
    /// One logit per action of a categorical policy (PPO's and A2C's discrete actors).
    case categorical

    /// The head as a sentence names it.
    public var phrase: String {
        switch self {
        case .q: return "Q-values"
        case .categorical: return "a categorical policy's logits"
        }
    }
}
