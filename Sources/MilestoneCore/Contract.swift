import Foundation

/// A contract between a buyer and a freelancer, its milestones, and the policy it runs under.
/// A value: `apply(_:by:at:)` returns the next value with what happened, or why not.
public struct Contract: Hashable, Sendable, Codable {
    public var id: ContractID
    public var title: String
    public var currency: Currency
    public var buyer: UserID
    public var freelancer: UserID
    public var policy: Policy
    public var phase: Phase
    public var milestones: [Milestone]
    /// The buyer's open request to end the contract, if any.
    public var endRequest: EndRequest?
    /// An open dispute about the contract itself (not a milestone), if any.
    public var dispute: ContractDispute?
    /// Open offers to settle a milestone between the parties, at most one per milestone.
    public var offers: [Offer] = []
    public var reviews: [Review]

    public enum Phase: String, Hashable, Sendable, Codable {
        /// Terms are being agreed; nothing can be paid yet (white-label proposals).
        case proposal
        case live
        /// Finished normally; reviews are open.
        case completed
        /// Ended early (an accepted end request), or settled with nothing paid: no reviews.
        case ended
        /// The whole order was cancelled with no milestone completed (Fiverr); with one or more completed a
        /// cancelled order is `completed`.
        case cancelled
    }

    /// A dispute about the contract as a whole, open until a moderator rules.
    public struct ContractDispute: Hashable, Sendable, Codable {
        public var raisedBy: Role
        public var reason: String
        public var at: Date
        /// The case both parties make.
        public var file: DisputeCase?

        public init(raisedBy: Role, reason: String, at: Date, file: DisputeCase? = nil) {
            self.raisedBy = raisedBy
            self.reason = reason
            self.at = at
            self.file = file
        }
    }

    public struct EndRequest: Hashable, Sendable, Codable {
        public var reason: String?
        public var at: Date
        public var answerBy: Date
    }

    public struct Review: Hashable, Sendable, Codable {
        public var by: Role
        public var stars: Int
        public var text: String
        public var at: Date
    }

    public init(
        id: ContractID, title: String, currency: Currency, buyer: UserID, freelancer: UserID, policy: Policy
    ) {
        self.id = id
        self.title = title
        self.currency = currency
        self.buyer = buyer
        self.freelancer = freelancer
        self.policy = policy
        self.phase = policy.contractStartsLive ? .live : .proposal
        self.milestones = []
        self.endRequest = nil
        self.reviews = []
    }

    public var parties: Parties { Parties(buyer: buyer, freelancer: freelancer) }

    /// The role a user has in this contract, if they are a party.
    public func partyRole(of user: UserID) -> Role? { parties.role(of: user) }

    public func milestone(_ number: MilestoneNumber) -> Milestone? {
        milestones.first { $0.number == number }
    }

    public func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: currency) }

    /// Whether `review` can be shown to `viewer` at `now`: always to its author and to moderators; to the
    /// other party at once, or, where reviews are double-blind, once both have reviewed or the blind time
    /// after the first review has passed.
    public func reviewIsVisible(_ review: Review, to viewer: Role, at now: Date) -> Bool {
        guard policy.reviewBlindSeconds > 0, viewer != .moderator, viewer != review.by else { return true }
        return reviewsRevealed(at: now)
    }

    /// Double-blind reviews are revealed: both sides reviewed, or the blind time after the first passed.
    public func reviewsRevealed(at now: Date) -> Bool {
        guard let first = reviews.map(\.at).min() else { return false }
        return reviews.count >= 2 || now >= first.addingTimeInterval(TimeInterval(policy.reviewBlindSeconds))
    }

    /// Total paid to the freelancer so far.
    public var paidToFreelancer: Int64 { milestones.reduce(0) { $0 + $1.released } }

    /// Total held by the processor for this contract now.
    /// The open offer to cancel the whole contract, if any (the one offer about no milestone).
    public var cancellationOffer: Offer? { offers.first { $0.milestone == nil } }
    public var held: Int64 { milestones.reduce(0) { $0 + $1.held } }

    public var isClosed: Bool { phase == .completed || phase == .ended || phase == .cancelled }
}
