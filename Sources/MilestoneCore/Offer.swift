import Foundation

/// Terms one party offers the other to settle a milestone between themselves, in or out of a dispute. At
/// most one is open per milestone; the other party accepts or declines it, the offerer may withdraw it, and
/// it lapses after the policy's time. An accepted money offer settles the milestone like a moderator's split.
public struct Offer: Hashable, Sendable, Codable {
    public enum Terms: Hashable, Sendable, Codable {
        /// `toFreelancer` minor units of the money held go to the freelancer, the rest back to the buyer.
        case release(toFreelancer: Int64)
        /// Everything held goes back to the buyer.
        case refund
        /// The milestone is due on this day instead.
        case extend(DueDate)

        /// Whether accepting it moves money.
        public var movesMoney: Bool {
            if case .extend = self { return false }
            return true
        }
    }

    public var milestone: MilestoneNumber
    public var terms: Terms
    public var by: Role
    public var at: Date
    public var lapsesAt: Date

    public init(milestone: MilestoneNumber, terms: Terms, by: Role, at: Date, lapsesAt: Date) {
        self.milestone = milestone
        self.terms = terms
        self.by = by
        self.at = at
        self.lapsesAt = lapsesAt
    }
}

/// What a party does with the other side's open offer.
public enum OfferAnswer: String, Hashable, Sendable, Codable {
    case accept, decline, withdraw
}
