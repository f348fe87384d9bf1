/// A slash-command typed into a thread, parsed once at the edge. Nothing downstream reads the text again.
public enum ChatCommand: Hashable, Sendable {
    case help(topic: String?)
    case status
    case addMilestone(MilestoneDraft)
    case requestMilestone(MilestoneDraft)
    case editMilestone(MilestoneRef, MilestoneChanges)
    case deleteMilestone(MilestoneRef)
    case approve(MilestoneRef)
    case fund(MilestoneRef)
    case submit(MilestoneRef, note: String?)
    case revise(MilestoneRef, feedback: String)
    case release(MilestoneRef)
    case cancel(MilestoneRef)
    /// A moderator cancels the whole order "for valid reasons" (Fiverr): everything held goes back to the
    /// buyer, unfunded milestones are cancelled.
    case cancelOrder(reason: String)
    case dispute(MilestoneRef, reason: String)
    /// A dispute about the contract itself, not a funded milestone (SkillScoop: after a declined end
    /// request "either party can submit a Dispute Assistance Form").
    case disputeContract(reason: String)
    /// A moderator closes the contract's dispute with a ruling posted to both parties (no money moves; a
    /// milestone's money is settled with `/resolve M<n> ...` or `/cancel order`).
    case resolveContract(note: String)
    /// A moderator takes a dispute's case: `/take M1`, `/take contract`.
    case takeCase(DisputeScope)
    /// A moderator's internal note in the thread: other moderators see it, the parties never do.
    case internalNote(String)
    /// A party adds a statement or evidence to an open dispute's case: `/evidence M1 <text>`, `/evidence contract <text>`.
    case evidence(DisputeScope, text: String)
    /// A party offers terms for a milestone: `/offer M2 release 300`, `/offer M2 refund`, `/offer M2 extend 2026-12-20`.
    case offer(MilestoneRef, Offer.Terms)
    /// `/offer accept M2`, `/offer decline M2` (the other party), `/offer withdraw M2` (the offerer); with the
    /// milestone left out, the only offer open for the speaker to answer (or withdraw), the contract's included.
    case answerOffer(MilestoneRef, OfferAnswer)
    /// A party offers to cancel the whole contract: `/offer cancel <reason>`.
    case offerCancellation(reason: String)
    /// `/offer accept contract`, `/offer decline contract`, `/offer withdraw contract`.
    case answerCancellation(OfferAnswer)
    /// The buyer pays the freelancer a bonus: `/bonus 50 great work`.
    case bonus(amount: Int64, note: String)
    case resolve(MilestoneRef, Resolution, note: String)
    case endContract(reason: String?)
    case answerEndRequest(accept: Bool)
    /// Makes a proposal contract live (white-label).
    case goLive
    case stop
    case complete
    case review(stars: Int, text: String)

    /// The command's name as typed, for messages: `/fund`, `/milestone add`.
    public var name: String {
        switch self {
        case .help: "/help"
        case .status: "/status"
        case .addMilestone: "/milestone add"
        case .requestMilestone: "/milestone request"
        case .editMilestone: "/milestone edit"
        case .deleteMilestone: "/milestone delete"
        case .approve: "/approve"
        case .fund: "/fund"
        case .submit: "/submit"
        case .revise: "/revise"
        case .release: "/release"
        case .cancel: "/cancel"
        case .cancelOrder: "/cancel order"
        case .dispute: "/dispute"
        case .disputeContract: "/dispute contract"
        case .resolveContract: "/resolve contract"
        case .offer: "/offer"
        case .evidence: "/evidence"
        case .takeCase: "/take"
        case .internalNote: "/note"
        case .answerOffer(_, let answer), .answerCancellation(let answer): "/offer \(answer.rawValue)"
        case .offerCancellation: "/offer cancel"
        case .bonus: "/bonus"
        case .resolve: "/resolve"
        case .endContract, .answerEndRequest: "/endcontract"
        case .goLive: "/golive"
        case .stop: "/stop"
        case .complete: "/complete"
        case .review: "/review"
        }
    }

    /// Whether the command only reads (answered privately, changes nothing).
    public var isQuery: Bool {
        switch self {
        case .help, .status: true
        default: false
        }
    }

    /// Whether it can move money (a client should confirm before sending it).
    public var movesMoney: Bool {
        switch self {
        case .fund, .release, .cancel, .cancelOrder, .resolve, .answerEndRequest, .bonus: true
        // Accepting a money offer settles the milestone; accepting a cancellation refunds what is held.
        case .answerOffer(_, let answer), .answerCancellation(let answer): answer == .accept
        case .approve: true  // charges the buyer where the policy charges on approval
        default: false
        }
    }
}

/// Which milestone a command names: `M2`, `m2` and `2` are `.number(2)`; left out, it is `.implied`
/// and the state machine picks the only milestone that can take the command.
public enum MilestoneRef: Hashable, Sendable {
    case number(MilestoneNumber)
    case implied
}

/// A new milestone's terms, as typed.
public struct MilestoneDraft: Hashable, Sendable {
    public var amount: Int64
    public var description: String
    public var dueDate: DueDate?
    /// How many revisions this milestone allows, where the policy counts them; nil: the preset's number
    /// (Fiverr: "Revisions are defined per milestone").
    public var revisions: Int?

    public init(amount: Int64, description: String, dueDate: DueDate? = nil, revisions: Int? = nil) {
        self.amount = amount
        self.description = description
        self.dueDate = dueDate
        self.revisions = revisions
    }
}

/// Changes to a milestone's terms; nil fields stay as they are.
public struct MilestoneChanges: Hashable, Sendable {
    public var amount: Int64?
    public var description: String?
    public var dueDate: DueDate?

    public init(amount: Int64? = nil, description: String? = nil, dueDate: DueDate? = nil) {
        self.amount = amount
        self.description = description
        self.dueDate = dueDate
    }

    public var isEmpty: Bool { amount == nil && description == nil && dueDate == nil }
}

/// A moderator's ruling on a disputed milestone.
public enum Resolution: Hashable, Sendable, Codable {
    /// Everything held goes to the freelancer.
    case release
    /// Everything held goes back to the buyer.
    case refund
    /// This many minor units go to the freelancer, the rest back to the buyer.
    case split(toFreelancer: Int64)
}
