import Foundation

/// What the clock does when a deadline passes. A deadline that no longer applies does nothing.
extension Step {
    mutating func fire(_ kind: DeadlineKind) {
        switch kind {
        case .reviewEnds(let number):
            if let milestone = contract.milestone(number), milestone.state == .released {
                stopIdleOrder(after: number)
                return
            }
            guard let index = contract.milestones.firstIndex(where: { $0.number == number }),
                case .submitted(let submission) = self[index].state,
                let ends = submission.reviewEnds, ends <= now, let period = policy.reviewPeriod
            else { return }
            let amount = self[index].held
            settle(index, toFreelancer: amount, state: .released)
            events.append(.milestoneReleased(number, amount: money(amount), automatic: true))
            if period.outcome == .autoComplete {
                stopIdleOrder(after: number)
            } else {
                completeIfSettled()
            }
        case .reviewReminder(let number, _):
            guard let milestone = contract.milestone(number), case .submitted(let submission) = milestone.state,
                let ends = submission.reviewEnds, ends > now, let period = policy.reviewPeriod
            else { return }
            events.append(.reviewReminder(number, endsAt: ends, outcome: period.outcome))
        case .dueReminder(let number):
            guard let milestone = contract.milestone(number), let due = milestone.dueDate, !contract.isClosed else { return }
            switch milestone.state {
            case .funded, .revisionRequested: events.append(.dueReminder(number, due: due))
            default: return
            }
        case .offerLapses(let number):
            lapseOffer(on: number)
        case .cancellationLapses:
            lapseCancellation()
        case .reviewsReveal:
            // Only the one review left in time is shown; a second one arriving earlier revealed both already.
            guard contract.reviews.count == 1, contract.reviewsRevealed(at: now) else { return }
            events.append(.reviewsRevealed(contract.reviews))
        case .disputeResponse(let scope):
            fireResponseDeadline(scope, reminder: false)
        case .disputeResponseReminder(let scope):
            fireResponseDeadline(scope, reminder: true)
        case .endRequestAnswer:
            guard let request = contract.endRequest, request.answerBy <= now, !contract.isClosed else { return }
            contract.endRequest = nil
            events.append(.endRequestLapsed)
        }
    }

    /// A sequential order nobody continued within the review period after a delivery (accepted by the
    /// buyer, or by the clock): it stops and completes by itself (Fiverr: "If they don't, the order will
    /// stop, and be marked as completed").
    private mutating func stopIdleOrder(after delivered: MilestoneNumber) {
        guard policy.sequential, policy.reviewPeriod?.outcome == .autoComplete, contract.phase == .live,
            !contract.milestones.contains(where: { $0.state.holdsMoney })
        else { return }
        let cancelled = cancelUnfunded()
        events.append(.orderStoppedByItself(after: delivered, cancelled: cancelled))
        contract.phase = .completed
        events.append(.contractCompleted(automatic: true))
    }
}
