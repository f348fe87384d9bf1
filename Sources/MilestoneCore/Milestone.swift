import Foundation

/// One milestone of a contract: a piece of work, its price, and where its money is.
public struct Milestone: Hashable, Sendable, Codable {
    public var number: MilestoneNumber
    public var description: String
    /// Price in minor units of the contract's currency.
    public var amount: Int64
    public var dueDate: DueDate?
    /// Revisions the buyer may ask for; nil when the policy does not count them.
    public var revisionAllowance: Int?
    public var revisionsUsed: Int
    /// Who created it (the freelancer, for a `/milestone request`).
    public var createdBy: Role
    public var state: MilestoneState
    /// Money movements so far, in minor units. Held at the processor = funded - released - refunded.
    public var funded: Int64
    public var released: Int64
    public var refunded: Int64

    public var held: Int64 { funded - released - refunded }

    public init(
        number: MilestoneNumber, description: String, amount: Int64, dueDate: DueDate?, revisionAllowance: Int?,
        createdBy: Role, state: MilestoneState
    ) {
        self.number = number
        self.description = description
        self.amount = amount
        self.dueDate = dueDate
        self.revisionAllowance = revisionAllowance
        self.revisionsUsed = 0
        self.createdBy = createdBy
        self.state = state
        self.funded = 0
        self.released = 0
        self.refunded = 0
    }
}

/// Where a milestone is in its life. Each state carries only its own data.
public enum MilestoneState: Hashable, Sendable, Codable {
    /// Waiting for `awaiting` to `/approve` the terms; `requested` when the freelancer asked the buyer for it.
    case proposed(awaiting: Role, requested: Bool)
    /// Terms agreed, not yet funded.
    case agreed
    /// Money held by the processor; work under way.
    case funded
    /// Work delivered; the review clock runs until `reviewEnds`, if the policy has one.
    case submitted(Submission)
    /// Sent back to work with feedback.
    case revisionRequested(feedback: String)
    /// Money frozen for a moderator; clocks stopped.
    case disputed(Dispute)
    /// Paid to the freelancer.
    case released
    /// Returned to the buyer.
    case refunded
    /// Settled by a moderator: part paid, the rest returned.
    case split
    /// Removed before any money moved.
    case cancelled

    public struct Submission: Hashable, Sendable, Codable {
        public var at: Date
        public var note: String?
        public var reviewEnds: Date?
    }

    public struct Dispute: Hashable, Sendable, Codable {
        public var raisedBy: Role
        public var reason: String
        public var at: Date
        /// The case both parties make; nil for disputes opened before cases existed.
        public var file: DisputeCase?
    }

    /// A short name for listings and storage: `proposed`, `funded`, `revision_requested` ...
    public var name: String {
        switch self {
        case .proposed(_, let requested): requested ? "requested" : "proposed"
        case .agreed: "agreed"
        case .funded: "funded"
        case .submitted: "submitted"
        case .revisionRequested: "revision_requested"
        case .disputed: "disputed"
        case .released: "released"
        case .refunded: "refunded"
        case .split: "split"
        case .cancelled: "cancelled"
        }
    }

    /// Settled for good: no command moves a milestone out of these states.
    public var isTerminal: Bool {
        switch self {
        case .released, .refunded, .split, .cancelled: true
        default: false
        }
    }

    /// Money is held at the processor for it.
    public var holdsMoney: Bool {
        switch self {
        case .funded, .submitted, .revisionRequested, .disputed: true
        default: false
        }
    }

    /// Not yet funded and not settled.
    public var isUnfunded: Bool {
        switch self {
        case .proposed, .agreed: true
        default: false
        }
    }
}
