import Environments
import NN

/// Where non-finite numbers are stopped: as they enter from an environment, and before any
/// network is saved. A run that meets one stops with a sentence naming the source and keeps
/// its last (finite) checkpoint.
public enum NonFinite {
    /// Throws when a step's reward or observation is NaN or infinite.
    public static func check(_ step: Step, from env: any Environment, episode: Int, stepInEpisode: Int) throws {
        if !step.reward.isFinite {
            throw RunError.nonFinite("The environment \(env.spec.name) returned a non-finite reward (\(step.reward)) at episode \(episode), step \(stepInEpisode); fix the environment (or wrap it to clip rewards). The last checkpoint is kept.")
        }
        try check(observation: step.observation, from: env, episode: episode, stepInEpisode: stepInEpisode)
    }

    /// Throws when an observation holds NaN or infinity (`stepInEpisode` 0 is the reset).
    public static func check(observation: [Float], from env: any Environment, episode: Int, stepInEpisode: Int) throws {
        if let bad = observation.firstIndex(where: { !$0.isFinite }) {
            let when = stepInEpisode == 0 ? "reset" : "step \(stepInEpisode)"
            throw RunError.nonFinite("The environment \(env.spec.name) returned a non-finite observation (element \(bad) is \(observation[bad])) at episode \(episode), \(when); fix the environment or wrap it to clean its observations. The last checkpoint is kept.")
        }
    }

    /// Throws when an update's loss is NaN or infinite.
    public static func check(loss: Float, update: Int, learningRate: Float) throws {
        if !loss.isFinite {
            throw RunError.nonFinite("Update \(update) gave a non-finite loss (\(loss)); lower the learning rate (now \(learningRate)) or scale the rewards. The last checkpoint is kept and nothing non-finite was saved.")
        }
    }

    /// Throws when a network about to be saved has a non-finite weight.
    public static func check(_ network: MLP, what: String) throws {
        for (i, p) in network.parameters.enumerated() where p.scalars.contains(where: { !$0.isFinite }) {
            throw RunError.nonFinite("The \(what) has a non-finite weight (parameter tensor \(i)); it was not saved. Lower the learning rate or check the environment's numbers.")
        }
    }
}
