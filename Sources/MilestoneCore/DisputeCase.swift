import Foundation

/// The case file of a dispute: both parties make their case (Indeelancer: "Both parties have the opportunity
/// to present their case"). The opener's claim is the first statement; the other party is asked to respond by
/// `respondBy`; either may add statements and evidence until a moderator rules.
public struct DisputeCase: Hashable, Sendable, Codable {
    public struct Statement: Hashable, Sendable, Codable {
        public var by: Role
        public var text: String
        public var at: Date
    }

    public var respondBy: Date
    public var statements: [Statement]
    /// When the other party first answered, if they did.
    public var respondedAt: Date?
    /// The deadline passed without an answer (the case went to a moderator flagged so).
    public var noResponse: Bool
    /// The moderator who took the case, if one did.
    public var assignee: UserID?

    /// Where the case stands, for the moderators' queue.
    public enum Status: String, Hashable, Sendable, Codable, CaseIterable {
        /// The other party has until `respondBy`.
        case awaitingResponse = "awaiting_response"
        /// Both sides have spoken, or the deadline passed: a moderator can rule.
        case ready
    }

    public var status: Status { respondedAt != nil || noResponse ? .ready : .awaitingResponse }

    init(claim: String, by opener: Role, at now: Date, respondBy: Date) {
        self.respondBy = respondBy
        statements = [Statement(by: opener, text: claim, at: now)]
        respondedAt = nil
        noResponse = false
    }
}

/// What a dispute is about: a milestone, or the contract as a whole.
public enum DisputeScope: Hashable, Sendable, Codable, CustomStringConvertible {
    case milestone(MilestoneNumber)
    case contract

    public var description: String {
        switch self {
        case .milestone(let m): m.description
        case .contract: "contract"
        }
    }
}
