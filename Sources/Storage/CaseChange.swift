import Foundation
import MilestoneCore

/// What one step did to the disputes' cases: which opened, and which closed and how. Pure, worked out from
/// the contract before and after the step; every store writes it in the step's transaction (the case history
/// the moderators' queue of resolved cases and the case files read).
public struct CaseChange: Hashable, Sendable {
    public var about: DisputeScope
    /// The dispute as it was opened (its time is the case's key with `about`).
    public var raisedBy: Role
    public var reason: String
    public var openedAt: Date
    /// Set when the case closed in this step.
    public var closing: Closing?

    public struct Closing: Hashable, Sendable {
        /// The event that closed it (`dispute_resolved`, `offer_accepted` ...) and the thread's words for it.
        public var event: String?
        public var resolution: String?
        /// Paid to the freelancer and returned to the buyer by this step, in minor units.
        public var released: Int64
        public var refunded: Int64
        /// The case (statements, response, assignee) as it was when it closed.
        public var file: DisputeCase?
    }

    /// Every case change from `previous` to the transition's contract, milestones first, then the contract's own.
    public static func between(_ previous: Contract, _ transition: Transition) -> [CaseChange] {
        let contract = transition.contract
        var changes: [CaseChange] = []
        for milestone in contract.milestones {
            let old = previous.milestone(milestone.number)
            guard old != milestone else { continue }
            changes += changed(about: .milestone(milestone.number), before: old?.openDispute.map(Opening.init), after: milestone.openDispute.map(Opening.init),
                moved: (milestone.released - (old?.released ?? 0), milestone.refunded - (old?.refunded ?? 0)), events: transition.events)
        }
        if contract.dispute != previous.dispute {
            changes += changed(about: .contract, before: previous.dispute.map(Opening.init), after: contract.dispute.map(Opening.init),
                moved: (0, 0), events: transition.events)
        }
        return changes
    }

    struct Opening: Hashable {
        var raisedBy: Role
        var reason: String
        var at: Date
        var file: DisputeCase?

        init(_ dispute: MilestoneState.Dispute) {
            (raisedBy, reason, at, file) = (dispute.raisedBy, dispute.reason, dispute.at, dispute.file)
        }

        init(_ dispute: Contract.ContractDispute) {
            (raisedBy, reason, at, file) = (dispute.raisedBy, dispute.reason, dispute.at, dispute.file)
        }
    }

    private static func changed(about: DisputeScope, before: Opening?, after: Opening?, moved: (released: Int64, refunded: Int64), events: [ContractEvent]) -> [CaseChange] {
        var changes: [CaseChange] = []
        if let before, before.at != after?.at {
            // Closed (or, never in practice, replaced): the event about it says how.
            let closing = events.first { event in
                switch about {
                case .milestone(let number): event.milestone == number
                case .contract: event.milestone == nil
                }
            } ?? events.first
            changes.append(CaseChange(about: about, raisedBy: before.raisedBy, reason: before.reason, openedAt: before.at, closing: Closing(
                event: closing?.name, resolution: closing?.text, released: moved.released, refunded: moved.refunded, file: before.file)))
        }
        if let after, after.at != before?.at {
            changes.append(CaseChange(about: about, raisedBy: after.raisedBy, reason: after.reason, openedAt: after.at, closing: nil))
        }
        return changes
    }
}
