import Foundation

/// Something that happened to a contract: the bot posts each one as a system message, and the platform is
/// notified of it. Amounts carry their currency so an event renders on its own.
public enum ContractEvent: Hashable, Sendable, Codable {
    case milestoneAdded(MilestoneNumber, by: Role, amount: Money, description: String, due: DueDate?, awaiting: Role?)
    case milestoneRequested(MilestoneNumber, amount: Money, description: String)
    case milestoneEdited(MilestoneNumber, by: Role, amount: Money, description: String, due: DueDate?, awaiting: Role?)
    case milestoneDeleted(MilestoneNumber, by: Role)
    case milestoneApproved(MilestoneNumber, by: Role)
    /// `automatic`: charged by the policy (on approval, or when the contract went live), not by `/fund`.
    case milestoneFunded(MilestoneNumber, amount: Money, automatic: Bool)
    case workSubmitted(MilestoneNumber, note: String?, reviewEnds: Date?, outcome: Policy.ReviewPeriod.Outcome?)
    case revisionRequested(MilestoneNumber, feedback: String, used: Int, allowance: Int?)
    /// `automatic`: the review period passed without the buyer acting.
    case milestoneReleased(MilestoneNumber, amount: Money, automatic: Bool)
    case milestoneCancelled(MilestoneNumber, by: Role, refunded: Money)
    case disputeOpened(MilestoneNumber, by: Role, reason: String, held: Money)
    case disputeResolved(MilestoneNumber, ruling: Resolution, released: Money, refunded: Money, note: String)
    case contractDisputeOpened(by: Role, reason: String)
    /// The other party is asked to respond to a dispute by `by`.
    case responseRequested(DisputeScope, from: Role, by: Date)
    case evidenceAdded(DisputeScope, by: Role, text: String, isResponse: Bool)
    case caseTaken(DisputeScope, moderator: UserID)
    case responseReminder(DisputeScope, from: Role, by: Date)
    /// The other party did not respond in time: the case goes to a moderator flagged so, or (policy) is
    /// decided for the opener, `released`/`refunded` moving as that says.
    case noResponse(DisputeScope, from: Role, decidedForOpener: Bool, released: Money, refunded: Money)
    /// `held` is what the milestone held when the offer was made (for the text's "the rest").
    case offerMade(MilestoneNumber, by: Role, terms: Offer.Terms, held: Money, lapsesAt: Date)
    case offerAccepted(MilestoneNumber, by: Role, terms: Offer.Terms, released: Money, refunded: Money)
    case offerDeclined(MilestoneNumber, by: Role)
    case offerWithdrawn(MilestoneNumber, by: Role)
    case offerLapsed(MilestoneNumber)
    /// A party offers to cancel the whole contract; `held` is what would go back to the buyer now.
    case cancellationOffered(by: Role, reason: String, held: Money, lapsesAt: Date)
    /// The other party agreed: everything held went back to the buyer, the unfunded milestones were
    /// cancelled; `completed` when some milestone had been paid (the contract completes, else it is cancelled).
    case cancellationAccepted(by: Role, refunded: Money, cancelled: [MilestoneNumber], completed: Bool)
    case cancellationDeclined(by: Role)
    case cancellationWithdrawn(by: Role)
    case cancellationLapsed
    /// The buyer paid the freelancer a bonus, recorded as the settled milestone `number`.
    case bonusPaid(MilestoneNumber, amount: Money, note: String)
    case contractDisputeResolved(note: String)
    case contractLive
    /// The buyer accepted the seller's offer: the order is placed, `first` is charged now (a
    /// `milestoneFunded` follows).
    case orderPlaced(first: MilestoneNumber, amount: Money)
    case orderStopped(cancelled: [MilestoneNumber])
    /// A sequential order nobody continued within the review period after `after` was delivered: it stopped
    /// by itself and completes (Fiverr). Nobody typed anything; the text must not say someone did.
    case orderStoppedByItself(after: MilestoneNumber, cancelled: [MilestoneNumber])
    /// Every milestone is settled but nothing was paid to the freelancer: the contract ends, not completes,
    /// and has no reviews.
    case contractEndedUnpaid
    /// A moderator cancelled the whole order: `refunded` went back to the buyer, `cancelled` will not
    /// start; `completed`: a milestone had been completed, so the order counts as completed.
    case orderCancelled(reason: String, refunded: Money, cancelled: [MilestoneNumber], completed: Bool)
    case endRequested(reason: String?, answerBy: Date)
    case endAccepted(refunded: Money, cancelled: [MilestoneNumber])
    case endDeclined
    case endRequestLapsed
    case contractCompleted(automatic: Bool)
    case reviewPosted(by: Role, stars: Int, text: String)
    /// A double-blind review was left; its content is shown with `reviewsRevealed`.
    case reviewSealed(by: Role, revealAt: Date)
    case reviewsRevealed([Contract.Review])
    case reviewReminder(MilestoneNumber, endsAt: Date, outcome: Policy.ReviewPeriod.Outcome)
    case dueReminder(MilestoneNumber, due: DueDate)
    /// The processor could not take or keep the money held for a milestone: the hold is voided and the
    /// milestone waits to be funded again.
    case fundingReversed(MilestoneNumber, amount: Money, reason: String)
    /// A card authorization holding a milestone's money expires at `expiresAt`; `action` is what happens then.
    case holdExpiring(MilestoneNumber, expiresAt: Date, action: HoldExpiryAction)
    /// A card authorization about to expire was captured: the processor now holds the money as a charge.
    case holdCaptured(MilestoneNumber, amount: Money)

    /// A short machine name for notifications and metrics: `milestone_funded`.
    public var name: String {
        switch self {
        case .milestoneAdded: "milestone_added"
        case .milestoneRequested: "milestone_requested"
        case .milestoneEdited: "milestone_edited"
        case .milestoneDeleted: "milestone_deleted"
        case .milestoneApproved: "milestone_approved"
        case .milestoneFunded: "milestone_funded"
        case .workSubmitted: "work_submitted"
        case .revisionRequested: "revision_requested"
        case .milestoneReleased: "milestone_released"
        case .milestoneCancelled: "milestone_cancelled"
        case .disputeOpened: "dispute_opened"
        case .disputeResolved: "dispute_resolved"
        case .contractDisputeOpened: "contract_dispute_opened"
        case .responseRequested: "response_requested"
        case .evidenceAdded: "evidence_added"
        case .caseTaken: "case_taken"
        case .responseReminder: "response_reminder"
        case .noResponse: "no_response"
        case .offerMade: "offer_made"
        case .offerAccepted: "offer_accepted"
        case .offerDeclined: "offer_declined"
        case .offerWithdrawn: "offer_withdrawn"
        case .offerLapsed: "offer_lapsed"
        case .cancellationOffered: "cancellation_offered"
        case .cancellationAccepted: "cancellation_accepted"
        case .cancellationDeclined: "cancellation_declined"
        case .cancellationWithdrawn: "cancellation_withdrawn"
        case .cancellationLapsed: "cancellation_lapsed"
        case .bonusPaid: "bonus_paid"
        case .contractDisputeResolved: "contract_dispute_resolved"
        case .contractLive: "contract_live"
        case .orderPlaced: "order_placed"
        case .orderStopped: "order_stopped"
        case .orderStoppedByItself: "order_stopped_by_itself"
        case .contractEndedUnpaid: "contract_ended_unpaid"
        case .orderCancelled: "order_cancelled"
        case .endRequested: "end_requested"
        case .endAccepted: "end_accepted"
        case .endDeclined: "end_declined"
        case .endRequestLapsed: "end_request_lapsed"
        case .contractCompleted: "contract_completed"
        case .reviewPosted: "review_posted"
        case .reviewSealed: "review_sealed"
        case .reviewsRevealed: "reviews_revealed"
        case .reviewReminder: "review_reminder"
        case .dueReminder: "due_reminder"
        case .fundingReversed: "funding_reversed"
        case .holdExpiring: "hold_expiring"
        case .holdCaptured: "hold_captured"
        }
    }

    /// The milestone the event is about, if any.
    public var milestone: MilestoneNumber? {
        switch self {
        case .milestoneAdded(let m, _, _, _, _, _), .milestoneRequested(let m, _, _), .milestoneEdited(let m, _, _, _, _, _),
            .milestoneDeleted(let m, _), .milestoneApproved(let m, _), .milestoneFunded(let m, _, _),
            .workSubmitted(let m, _, _, _), .revisionRequested(let m, _, _, _), .milestoneReleased(let m, _, _),
            .milestoneCancelled(let m, _, _), .disputeOpened(let m, _, _, _), .disputeResolved(let m, _, _, _, _),
            .reviewReminder(let m, _, _), .dueReminder(let m, _), .fundingReversed(let m, _, _), .holdExpiring(let m, _, _),
            .holdCaptured(let m, _):
            m
        case .orderStoppedByItself(let m, _), .orderPlaced(let m, _), .offerMade(let m, _, _, _, _), .offerAccepted(let m, _, _, _, _),
            .offerDeclined(let m, _), .offerWithdrawn(let m, _), .offerLapsed(let m), .bonusPaid(let m, _, _):
            m
        case .responseRequested(let scope, _, _), .evidenceAdded(let scope, _, _, _), .caseTaken(let scope, _), .responseReminder(let scope, _, _),
            .noResponse(let scope, _, _, _, _):
            if case .milestone(let m) = scope { m } else { nil }
        case .contractLive, .orderStopped, .contractEndedUnpaid, .contractDisputeOpened, .contractDisputeResolved, .orderCancelled, .endRequested, .endAccepted, .endDeclined, .endRequestLapsed,
            .contractCompleted, .reviewPosted, .reviewSealed, .reviewsRevealed, .cancellationOffered, .cancellationAccepted,
            .cancellationDeclined, .cancellationWithdrawn, .cancellationLapsed:
            nil
        }
    }
}
