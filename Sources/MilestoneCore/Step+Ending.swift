import Foundation

/// Ending a contract: stopping an order, end requests, completion and reviews.
extension Step {
    mutating func stop() throws(Rejection) {
        try requireOpen()
        try require(.buyer, "stop the order")
        guard policy.stopAllowed else {
            throw Rejection(.policyForbids, "this platform has no /stop", suggestion: endingSuggestion)
        }
        guard contract.milestones.contains(where: { $0.state == .released || $0.state == .split }) else {
            throw Rejection(.wrongState, "an order can be stopped only after a milestone has been accepted")
        }
        if let running = contract.milestones.first(where: { $0.state.holdsMoney }) {
            throw Rejection(.wrongState, "\(whereIs(running)); stop the order after it is accepted",
                suggestion: "/release \(running.number) once you are happy with it.")
        }
        let cancelled = cancelUnfunded()
        contract.phase = .completed
        events.append(.orderStopped(cancelled: cancelled))
        events.append(.contractCompleted(automatic: true))
    }

    /// The whole order cancelled by a moderator, "for valid reasons" (Fiverr's Resolution Center or
    /// Customer Support): every milestone holding money (disputed ones too: this is the ruling) is refunded,
    /// the unfunded ones cancelled. "Even if a milestone order has been canceled but at least one milestone
    /// was completed in the order, the order will still be considered as completed."
    mutating func cancelOrder(reason: String) throws(Rejection) {
        try requireOpen()
        guard role == .moderator else {
            throw Rejection(.notAllowedForRole, "only a moderator can cancel the whole order",
                suggestion: role == .buyer && policy.stopAllowed ? "To stop after an accepted milestone, /stop." : "Ask for it with /dispute, and a moderator decides.")
        }
        guard policy.cancelBy == .moderator else {
            throw Rejection(.policyForbids, "on this platform a whole order is not cancelled by a moderator",
                suggestion: "Settle each milestone: /resolve a dispute, or the parties end the contract.")
        }
        let (refunded, cancelled, completed) = cancelEverything()
        events.append(.orderCancelled(reason: reason, refunded: money(refunded), cancelled: cancelled, completed: completed))
        // The cancellation is the moderator's ruling on a dispute about the contract too.
        if contract.dispute != nil {
            closeContractDispute()
            events.append(.contractDisputeResolved(note: "the order was cancelled: \(reason)"))
        }
    }

    /// Cancels the whole contract: every milestone holding money (disputed ones too) is refunded, the
    /// unfunded ones cancelled, open requests and offers dropped. "Even if a milestone order has been
    /// canceled but at least one milestone was completed in the order, the order will still be considered as
    /// completed": `completed` then, otherwise the contract is cancelled.
    mutating func cancelEverything() -> (refunded: Int64, cancelled: [MilestoneNumber], completed: Bool) {
        var refunded: Int64 = 0
        for index in contract.milestones.indices where self[index].state.holdsMoney {
            refunded += self[index].held
            settle(index, toFreelancer: 0, state: .refunded)
        }
        let cancelled = cancelUnfunded()
        dropEndRequest()
        dropCancellationOffer()
        let completed = contract.paidToFreelancer > 0
        contract.phase = completed ? .completed : .cancelled
        return (refunded, cancelled, completed)
    }

    /// An open request to end the contract is moot once it completes or is cancelled: gone, its clock stopped.
    mutating func dropEndRequest() {
        guard contract.endRequest != nil else { return }
        contract.endRequest = nil
        deadlines.append(.cancel(.endRequestAnswer))
    }

    /// Marks every milestone that was never funded as cancelled; returns their numbers.
    mutating func cancelUnfunded() -> [MilestoneNumber] {
        var cancelled: [MilestoneNumber] = []
        for index in contract.milestones.indices where self[index].state.isUnfunded {
            self[index].state = .cancelled
            dropOffers(on: self[index].number)
            cancelled.append(self[index].number)
        }
        return cancelled
    }

    var endingSuggestion: String {
        switch policy.endContract {
        case .disputeOnly: "To end early, /dispute a funded milestone and a moderator decides."
        case .request: "The buyer can ask to end the contract with /endcontract <reason>."
        }
    }

    mutating func requestEnd(reason: String?) throws(Rejection) {
        try requireOpen()
        try require(.buyer, "ask to end the contract")
        guard case .request(let answerSeconds) = policy.endContract else {
            throw Rejection(.policyForbids, "this platform has no end-contract request", suggestion: endingSuggestion)
        }
        if let pending = contract.endRequest {
            throw Rejection(.wrongState, "you already asked to end the contract; the freelancer has until \(ContractEvent.timeText(pending.answerBy)) to answer")
        }
        let answerBy = now.addingTimeInterval(TimeInterval(answerSeconds))
        contract.endRequest = .init(reason: reason, at: now, answerBy: answerBy)
        deadlines.append(.arm(Deadline(kind: .endRequestAnswer, at: answerBy)))
        events.append(.endRequested(reason: reason, answerBy: answerBy))
    }

    mutating func answerEnd(accept: Bool) throws(Rejection) {
        try requireOpen()
        try require(.freelancer, "answer an end-contract request")
        guard contract.endRequest != nil else {
            throw Rejection(.wrongState, "there is no request to end the contract to answer")
        }
        contract.endRequest = nil
        deadlines.append(.cancel(.endRequestAnswer))
        guard accept else {
            events.append(.endDeclined)
            return
        }
        var refunded: Int64 = 0
        for index in contract.milestones.indices where self[index].state.holdsMoney && !isDisputed(self[index]) {
            refunded += self[index].held
            settle(index, toFreelancer: 0, state: .refunded)
        }
        let cancelled = cancelUnfunded()
        contract.phase = .ended
        events.append(.endAccepted(refunded: money(refunded), cancelled: cancelled))
    }

    mutating func complete() throws(Rejection) {
        try requireOpen()
        try require(.buyer, "mark the contract complete")
        guard !contract.milestones.isEmpty else {
            throw Rejection(.wrongState, "there are no milestones yet, so there is nothing to complete")
        }
        if let open = contract.milestones.first(where: { !$0.state.isTerminal }) {
            let suggestion = open.state.isUnfunded
                ? "Fund it, or delete it with /milestone delete \(open.number)."
                : "Settle it first."
            throw Rejection(.wrongState, "\(whereIs(open)); every milestone must be settled first", suggestion: suggestion)
        }
        dropEndRequest()
        // Freelancer.com: feedback "if the project is completed and paid"; SkillScoop: "Once all milestones
        // are completed and payments are released, the client will mark the job as Completed".
        guard contract.paidToFreelancer > 0 else {
            contract.phase = .ended
            events.append(.contractEndedUnpaid)
            return
        }
        contract.phase = .completed
        events.append(.contractCompleted(automatic: false))
    }

    mutating func review(stars: Int, text: String) throws(Rejection) {
        try requireParty("leave a review")
        guard contract.phase == .completed else {
            if contract.phase == .cancelled { throw Rejection(.contractClosed, "this order was cancelled") }
            if contract.phase == .ended {
                throw Rejection(.wrongState, "this contract ended without being completed and paid, so it has no reviews")
            }
            throw Rejection(.wrongState, "reviews open once the contract is complete",
                suggestion: "The buyer marks it complete with /complete once every milestone is settled.")
        }
        guard (1...5).contains(stars) else {
            throw Rejection(.badValue, "a rating is from 1 to 5")
        }
        guard !contract.reviews.contains(where: { $0.by == role }) else {
            throw Rejection(.wrongState, "you have already left a review for this contract")
        }
        contract.reviews.append(.init(by: role!, stars: stars, text: text, at: now))
        guard policy.reviewBlindSeconds > 0 else {
            events.append(.reviewPosted(by: role!, stars: stars, text: text))
            return
        }
        // Double-blind: sealed until both have reviewed or the blind time after the first has passed.
        let first = contract.reviews.map(\.at).min() ?? now
        let revealAt = first.addingTimeInterval(TimeInterval(policy.reviewBlindSeconds))
        guard revealAt > now else {
            // The first review was revealed already: this one is shown at once.
            events.append(.reviewPosted(by: role!, stars: stars, text: text))
            return
        }
        events.append(.reviewSealed(by: role!, revealAt: revealAt))
        keepsLinePrivate = true
        if contract.reviews.count == 1 {
            deadlines.append(.arm(Deadline(kind: .reviewsReveal, at: revealAt)))
        } else {
            deadlines.append(.cancel(.reviewsReveal))
            events.append(.reviewsRevealed(contract.reviews))
        }
    }
}
