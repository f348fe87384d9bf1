import Foundation

/// What the payment processor tells the contract, as opposed to what people type: a payment that failed
/// or was cancelled at the processor, and card authorizations that are about to expire.
extension Contract {
    /// The processor no longer holds the money of `number` (a payment failed or was cancelled there): the
    /// hold is voided back to the buyer, the review clocks stop, and the milestone waits to be funded again.
    /// Nil when the milestone holds nothing (already settled, or never funded): nothing to bring in line.
    public func reverseFunding(of number: MilestoneNumber, reason: String, at now: Date) -> Transition? {
        guard let index = milestones.firstIndex(where: { $0.number == number }), milestones[index].held > 0 else { return nil }
        var step = Step(contract: self, actor: nil, now: now)
        let held = step[index].held
        step.settle(index, toFreelancer: 0, state: .agreed)
        step.deadlines.append(.cancel(.dueReminder(number)))
        step.events.append(.fundingReversed(number, amount: money(held), reason: reason))
        return step.transition
    }

    /// Announces that the card authorization holding `number` expires at `expiresAt`. Nil when the
    /// milestone no longer holds money.
    public func warnHoldExpiry(of number: MilestoneNumber, expiresAt: Date, action: HoldExpiryAction, at now: Date) -> Transition? {
        guard let milestone = milestone(number), milestone.held > 0 else { return nil }
        return Transition(contract: self, events: [.holdExpiring(number, expiresAt: expiresAt, action: action)], postings: [], deadlines: [])
    }

    /// Announces that the authorization of `number` was captured before it expired. The ledger does not
    /// change: the money stays held for the milestone, now as a charge. Nil when it holds nothing.
    public func holdCaptured(of number: MilestoneNumber, at now: Date) -> Transition? {
        guard let milestone = milestone(number), milestone.held > 0 else { return nil }
        return Transition(contract: self, events: [.holdCaptured(number, amount: money(milestone.held))], postings: [], deadlines: [])
    }
}
