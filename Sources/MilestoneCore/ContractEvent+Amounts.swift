/// One sum of money an event names, by what it is to the event.
public struct NamedAmount: Hashable, Sendable {
    /// `amount` (what was added, funded, released, paid), `held` (what a dispute or offer is about),
    /// `released` (to the freelancer), `refunded` (to the buyer).
    public var name: String
    public var money: Money
}

extension ContractEvent {
    /// The money the event names, for notifications: what its text says in words, as integer minor units.
    /// A sum of zero that the event names (a ruling that refunds nothing) is kept: it is part of the outcome.
    public var amounts: [NamedAmount] {
        func named(_ pairs: (String, Money)...) -> [NamedAmount] { pairs.map { NamedAmount(name: $0.0, money: $0.1) } }
        switch self {
        case .milestoneAdded(_, _, let amount, _, _, _), .milestoneRequested(_, let amount, _), .milestoneEdited(_, _, let amount, _, _, _),
            .milestoneFunded(_, let amount, _), .milestoneReleased(_, let amount, _), .bonusPaid(_, let amount, _), .orderPlaced(_, let amount),
            .fundingReversed(_, let amount, _), .holdCaptured(_, let amount):
            return named(("amount", amount))
        case .milestoneCancelled(_, _, let refunded), .orderCancelled(_, let refunded, _, _), .endAccepted(let refunded, _),
            .cancellationAccepted(_, let refunded, _, _):
            return named(("refunded", refunded))
        case .disputeOpened(_, _, _, let held), .cancellationOffered(_, _, let held, _):
            return named(("held", held))
        case .offerMade(_, _, let terms, let held, _):
            if case .release(let minor) = terms { return named(("held", held), ("amount", Money(minorUnits: minor, currency: held.currency))) }
            return named(("held", held))
        case .disputeResolved(_, _, let released, let refunded, _), .offerAccepted(_, _, _, let released, let refunded),
            .noResponse(_, _, _, let released, let refunded):
            return named(("released", released), ("refunded", refunded))
        case .workSubmitted, .revisionRequested, .milestoneDeleted, .milestoneApproved, .contractDisputeOpened, .responseRequested,
            .evidenceAdded, .caseTaken, .responseReminder, .offerDeclined, .offerWithdrawn, .offerLapsed, .cancellationDeclined,
            .cancellationWithdrawn, .cancellationLapsed, .contractDisputeResolved, .contractLive, .orderStopped, .orderStoppedByItself,
            .contractEndedUnpaid, .endRequested, .endDeclined, .endRequestLapsed, .contractCompleted, .reviewPosted, .reviewSealed,
            .reviewsRevealed, .reviewReminder, .dueReminder, .holdExpiring:
            return []
        }
    }

    /// A sealed review, or reviews revealed: what a preview must not show.
    public var concernsSealedReviews: Bool {
        switch self {
        case .reviewSealed, .reviewsRevealed: true
        default: false
        }
    }

    /// Whether moderators should hear of it: a case that needs one (opened, or left unanswered and now theirs)
    /// or a statement added to an open case.
    public var concernsModerators: Bool {
        switch self {
        case .disputeOpened, .contractDisputeOpened, .evidenceAdded: true
        case .noResponse(_, _, let decidedForOpener, _, _): !decidedForOpener
        default: false
        }
    }
}
