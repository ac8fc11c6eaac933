import DQN
import Environments
import NN
import Runs

/// Collects teacher-labelled states from one environment: whoever the data regime says acts
/// (teacher, student, or a mix, each ε-greedy), the teacher labels the state once, and the
/// transition that followed (n-step, for the task loss) goes into the buffer with its label.
struct StateCollector {
    let env: any Environment
    private var observation: [Float]
    private var nstep: NStepAccumulator
    /// Teacher labels of the states still pending in the n-step accumulator, oldest first.
    private var pendingLabels: [[Float]] = []
    private(set) var episodes = 0
    private var episodeStep = 0

    /// Starts the first episode with `seed`, or, resuming after `episodes` finished ones, with
    /// `seed + episodes` (as a resumed DQN run does).
    init(env: any Environment, config: DistillConfig, seed: Int, episodes: Int = 0) throws {
        self.env = env
        self.episodes = episodes
        nstep = NStepAccumulator(n: config.nStep, gamma: config.gamma)
        observation = try env.reset(seed: seed &+ episodes)
        try NonFinite.check(observation: observation, from: env, episode: episodes + 1, stepInEpisode: 0)
    }

    /// One environment step: the teacher acts with probability `teacherShare`, else `student`;
    /// either is replaced by a uniform action with probability `epsilon`.
    /// `layers`: the teacher's hidden layers stored with each label.
    mutating func collect(teacher: TeacherEnsemble, layers: [[Int]], student: MLP, teacherShare: Float, epsilon: Float,
                          rng: inout SeededGenerator, into buffer: inout DistillationBuffer) throws {
        let label = teacher.label(observation, layers: layers)
        let teacherActs = teacherShare >= 1 || (teacherShare > 0 && rng.nextUnitFloat() < teacherShare)
        var action = 0
        let s: Step
        if teacher.head.isContinuous {
            // A continuous action: uniform within the bounds (ε), the teacher's, or the student's.
            let continuous: [Float]
            if rng.nextUnitFloat() < epsilon {
                continuous = zip(student.actionLow, student.actionHigh).map { $0 + rng.nextUnitFloat() * ($1 - $0) }
            } else if teacherActs {
                continuous = teacher.continuousAction(fromLabel: label[0..<teacher.actionCount])
            } else {
                continuous = Policy(student).continuousAction(observation)
            }
            s = try env.step(continuous: continuous)
        } else {
            if rng.nextUnitFloat() < epsilon {
                action = rng.int(below: teacher.actionCount)
            } else if teacherActs {
                action = Self.argmax(label[0..<teacher.actionCount])
            } else {
                action = Policy(student).action(observation)
            }
            s = try env.step(action)
        }
        episodeStep += 1
        try NonFinite.check(s, from: env, episode: episodes + 1, stepInEpisode: episodeStep)
        pendingLabels.append(label)
        for t in nstep.push(observation: observation, action: action, reward: Float(s.reward), nextObservation: s.observation,
                            terminated: s.terminated, truncated: s.truncated) {
            buffer.add(t, label: pendingLabels.removeFirst())
        }
        if s.isDone {
            episodes += 1
            episodeStep = 0
            observation = try env.reset(seed: nil)
            try NonFinite.check(observation: observation, from: env, episode: episodes + 1, stepInEpisode: 0)
        } else {
            observation = s.observation
        }
    }

    static func argmax(_ q: ArraySlice<Float>) -> Int {
        var best = q.startIndex
        for i in q.indices where q[i] > q[best] { best = i }
        return best - q.startIndex
    }
}
