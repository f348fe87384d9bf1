import Foundation

/// Terms one party offers the other to settle a milestone between themselves, in or out of a dispute, or to
/// cancel the whole contract. At most one is open per milestone and one for the contract; the other party
/// accepts or declines it, the offerer may withdraw it, and it lapses after the policy's time. An accepted
/// money offer settles the milestone like a moderator's split.
public struct Offer: Hashable, Sendable, Codable {
    public enum Terms: Hashable, Sendable, Codable {
        /// `toFreelancer` minor units of the money held go to the freelancer, the rest back to the buyer.
        case release(toFreelancer: Int64)
        /// Everything held goes back to the buyer.
        case refund
        /// The milestone is due on this day instead.
        case extend(DueDate)
        /// The whole contract is cancelled: everything held goes back to the buyer, unfunded milestones are
        /// cancelled (an offer about the contract, not a milestone). `held` is what was held when it was
        /// made: if that changes (a milestone funded or paid since), the offer no longer fits.
        case cancelContract(reason: String, held: Int64)

        /// Whether accepting it moves money.
        public var movesMoney: Bool {
            if case .extend = self { return false }
            return true
        }
    }

    /// The milestone it settles; nil for an offer to cancel the whole contract.
    public var milestone: MilestoneNumber?
    public var terms: Terms
    public var by: Role
    public var at: Date
    public var lapsesAt: Date

    public init(milestone: MilestoneNumber?, terms: Terms, by: Role, at: Date, lapsesAt: Date) {
        self.milestone = milestone
        self.terms = terms
        self.by = by
        self.at = at
        self.lapsesAt = lapsesAt
    }

    /// What it is about: a milestone, or the contract.
    public var subject: DisputeScope { milestone.map(DisputeScope.milestone) ?? .contract }
}

/// What a party does with the other side's open offer.
public enum OfferAnswer: String, Hashable, Sendable, Codable {
    case accept, decline, withdraw
}
