/// One Q-value per action (DQN): the action is their argmax.
public struct QValueHead: OutputHeadKind {
    public let name = "q"
    public let phrase = "Q-values"
    public let exportDescription = "a Q-network"
    public let isContinuous = false
}

extension OutputHead {
    public static let q = OutputHead(QValueHead())
}
