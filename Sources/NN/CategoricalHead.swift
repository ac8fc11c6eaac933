/// One logit per action of a categorical policy (PPO's and A2C's discrete actors): the greedy
/// action is their argmax, as SB3's deterministic `predict`.
public struct CategoricalHead: OutputHeadKind {
    public let name = "categorical"
    public let phrase = "a categorical policy's logits"
    public let exportDescription = "a categorical policy network (its q_values are the policy's logits)"
    public let isContinuous = false
}

extension OutputHead {
    public static let categorical = OutputHead(CategoricalHead())
}
