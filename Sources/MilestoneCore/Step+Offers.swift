import Foundation

/// Settlements the parties agree themselves: an offer on a milestone, accepted or declined by the other
/// party, withdrawn by the offerer, or lapsed. An accepted money offer settles the milestone in one step,
/// like a moderator's split, and so closes a dispute on it.
extension Step {
    mutating func makeOffer(_ ref: MilestoneRef, _ terms: Offer.Terms) throws(Rejection) {
        try requireOpen()
        try requireParty("make an offer")
        let index = try target(ref, "/offer", doing: "given an offer") { offerable($0, terms) && !hasOffer($0.number) }
        let milestone = self[index]
        if let open = contract.offers.first(where: { $0.milestone == milestone.number }) {
            throw Rejection(.wrongState, "the \(open.by) already has an offer open on \(milestone.number)",
                suggestion: open.by == role ? "/offer withdraw \(milestone.number) first." : "/offer accept \(milestone.number) or /offer decline \(milestone.number).")
        }
        switch terms {
        case .release(let amount):
            guard milestone.state.holdsMoney else {
                throw Rejection(.wrongState, "\(whereIs(milestone)); only money that is held can be offered")
            }
            guard amount > 0, amount <= milestone.held else {
                throw Rejection(.badValue, "an offer releases more than nothing and at most the \(money(milestone.held)) held",
                    suggestion: amount <= 0 ? "/offer \(milestone.number) refund to give it all back." : nil)
            }
        case .refund:
            guard milestone.state.holdsMoney else {
                throw Rejection(.wrongState, "\(whereIs(milestone)); only money that is held can be offered")
            }
        case .extend(let due):
            guard !milestone.state.isTerminal else {
                throw Rejection(.wrongState, "\(whereIs(milestone)); a settled milestone has no due date to move")
            }
            try checkDue(due)
            guard due != milestone.dueDate else { throw Rejection(.badValue, "\(milestone.number) is already due \(due)") }
        case .cancelContract(let reason, _):
            return try offerCancellation(reason: reason)
        }
        let lapsesAt = now.addingTimeInterval(TimeInterval(policy.offerLapseSeconds))
        contract.offers.append(Offer(milestone: milestone.number, terms: terms, by: role!, at: now, lapsesAt: lapsesAt))
        deadlines.append(.arm(Deadline(kind: .offerLapses(milestone.number), at: lapsesAt)))
        events.append(.offerMade(milestone.number, by: role!, terms: terms, held: money(milestone.held), lapsesAt: lapsesAt))
    }

    mutating func answerOffer(_ ref: MilestoneRef, _ answer: OfferAnswer) throws(Rejection) {
        try requireOpen()
        try requireParty("answer an offer")
        let mine = answer == .withdraw
        let candidates = contract.offers.filter { ($0.by == role) == mine }
        let offer: Offer
        switch ref {
        case .number(let number):
            guard let found = contract.offers.first(where: { $0.milestone == number }) else {
                throw Rejection(.wrongState, "there is no open offer on \(number)")
            }
            offer = found
        case .implied:
            guard candidates.count == 1, let only = candidates.first else {
                throw Rejection(.unknownMilestone, candidates.isEmpty
                    ? (mine ? "you have no open offer to withdraw" : "there is no offer for you to answer")
                    : "more than one offer is open: \(candidates.map(\.subject.description).joined(separator: ", ")); name the milestone (or `contract`)")
            }
            offer = only
        }
        guard let m = offer.milestone else { return try answerCancellation(answer) }
        if mine, offer.by != role {
            throw Rejection(.notAllowedForRole, "the offer on \(m) is the \(offer.by)'s; only they can withdraw it", suggestion: "/offer accept \(m) or /offer decline \(m).")
        }
        if !mine, offer.by == role {
            throw Rejection(.notAllowedForRole, "the offer on \(m) is yours; the \(offer.by.counterparty!) answers it", suggestion: "/offer withdraw \(m) to take it back.")
        }
        contract.offers.removeAll { $0.milestone == m }
        deadlines.append(.cancel(.offerLapses(m)))
        switch answer {
        case .decline: events.append(.offerDeclined(m, by: role!))
        case .withdraw: events.append(.offerWithdrawn(m, by: role!))
        case .accept: try accept(offer)
        }
    }

    // MARK: - Cancelling the whole contract by agreement

    var cancellationOffer: Offer? { contract.cancellationOffer }

    /// A party offers to cancel the whole contract; the other accepts (everything held goes back to the
    /// buyer) or declines, the offerer may withdraw, and it lapses after the policy's time.
    mutating func offerCancellation(reason: String) throws(Rejection) {
        try requireOpen()
        try requireParty("offer to cancel the contract")
        guard policy.mutualCancellation else {
            throw Rejection(.policyForbids, "on this platform the parties cannot cancel the contract by agreement", suggestion: endingSuggestion)
        }
        if let open = cancellationOffer {
            throw Rejection(.wrongState, "the \(open.by) already offered to cancel the contract",
                suggestion: open.by == role ? "/offer withdraw contract first." : "/offer accept contract or /offer decline contract.")
        }
        let lapsesAt = now.addingTimeInterval(TimeInterval(policy.offerLapseSeconds))
        contract.offers.append(Offer(milestone: nil, terms: .cancelContract(reason: reason, held: contract.held), by: role!, at: now, lapsesAt: lapsesAt))
        deadlines.append(.arm(Deadline(kind: .cancellationLapses, at: lapsesAt)))
        events.append(.cancellationOffered(by: role!, reason: reason, held: money(contract.milestones.reduce(0) { $0 + $1.held }), lapsesAt: lapsesAt))
    }

    mutating func answerCancellation(_ answer: OfferAnswer) throws(Rejection) {
        try requireOpen()
        try requireParty("answer an offer")
        guard let offer = cancellationOffer else {
            throw Rejection(.wrongState, "there is no open offer to cancel the contract")
        }
        if answer == .withdraw, offer.by != role {
            throw Rejection(.notAllowedForRole, "the offer to cancel the contract is the \(offer.by)'s; only they can withdraw it",
                suggestion: "/offer accept contract or /offer decline contract.")
        }
        if answer != .withdraw, offer.by == role {
            throw Rejection(.notAllowedForRole, "the offer to cancel the contract is yours; the \(offer.by.counterparty!) answers it",
                suggestion: "/offer withdraw contract to take it back.")
        }
        if answer == .accept, case .cancelContract(_, let held) = offer.terms, held != contract.held {
            throw Rejection(.wrongState, "the money held changed since the offer to cancel was made (\(money(held)) then, \(money(contract.held)) now), so it no longer fits",
                suggestion: "/offer decline contract, and either side can make a new offer.")
        }
        dropCancellationOffer()
        switch answer {
        case .decline: events.append(.cancellationDeclined(by: role!))
        case .withdraw: events.append(.cancellationWithdrawn(by: role!))
        case .accept:
            // Both agree, so a disputed milestone's money goes back too, and a dispute about the contract closes.
            let (refunded, cancelled, completed) = cancelEverything()
            events.append(.cancellationAccepted(by: role!, refunded: money(refunded), cancelled: cancelled, completed: completed))
            if contract.dispute != nil {
                closeContractDispute()
                events.append(.contractDisputeResolved(note: "the parties agreed to cancel the contract"))
            }
        }
    }

    /// The clock: an unanswered offer to cancel lapses.
    mutating func lapseCancellation() {
        guard let offer = cancellationOffer, offer.lapsesAt <= now, !contract.isClosed else { return }
        dropCancellationOffer()
        events.append(.cancellationLapsed)
    }

    /// After any step: a contract that closed some other way (completed, ended) takes the offer with it.
    mutating func dropCancellationOfferIfClosed() {
        if contract.isClosed { dropCancellationOffer() }
    }

    /// An open offer to cancel is moot once the contract closes some other way: gone, its clock stopped.
    mutating func dropCancellationOffer() {
        guard cancellationOffer != nil else { return }
        contract.offers.removeAll { $0.milestone == nil }
        deadlines.append(.cancel(.cancellationLapses))
    }

    private mutating func accept(_ offer: Offer) throws(Rejection) {
        guard let index = contract.milestones.firstIndex(where: { $0.number == offer.milestone }) else {
            throw Rejection(.unknownMilestone, "\(offer.subject) no longer exists")
        }
        let milestone = self[index]
        switch offer.terms {
        case .extend(let due):
            guard !milestone.state.isTerminal else {
                throw Rejection(.wrongState, "\(whereIs(milestone)); a settled milestone has no due date to move")
            }
            try checkDue(due)
            self[index].dueDate = due
            deadlines.append(.cancel(.dueReminder(milestone.number)))
            let remindAt = due.end.addingTimeInterval(-2 * 86_400)
            if milestone.state.holdsMoney, remindAt > now { deadlines.append(.arm(Deadline(kind: .dueReminder(milestone.number), at: remindAt))) }
            events.append(.offerAccepted(milestone.number, by: role!, terms: offer.terms, released: money(0), refunded: money(0)))
        case .release, .refund:
            let held = milestone.held
            var toFreelancer: Int64 = 0
            if case .release(let amount) = offer.terms { toFreelancer = amount }
            guard milestone.state.holdsMoney, toFreelancer <= held else {
                throw Rejection(.wrongState, "\(whereIs(milestone)); the offer no longer fits what is held")
            }
            // `settle` stops the milestone's clocks and closes a dispute's case.
            settle(index, toFreelancer: toFreelancer, state: toFreelancer == held ? .released : (toFreelancer == 0 ? .refunded : .split))
            events.append(.offerAccepted(milestone.number, by: role!, terms: offer.terms, released: money(toFreelancer), refunded: money(held - toFreelancer)))
            keepDeliveryClock(of: milestone)
            completeIfSettled()
        case .cancelContract:
            try answerCancellation(.accept)
        }
    }

    /// The clock: an unanswered offer lapses.
    mutating func lapseOffer(on number: MilestoneNumber) {
        // Also on a closed contract: an offer on a milestone left for a moderator must not show as open for ever.
        guard let offer = contract.offers.first(where: { $0.milestone == number }), offer.lapsesAt <= now else { return }
        contract.offers.removeAll { $0.milestone == number }
        events.append(.offerLapsed(number))
    }

    func hasOffer(_ number: MilestoneNumber) -> Bool {
        contract.offers.contains { $0.milestone == number }
    }

    /// Whether these terms could be offered on the milestone now.
    func offerable(_ milestone: Milestone, _ terms: Offer.Terms) -> Bool {
        switch terms {
        case .release(let amount): milestone.state.holdsMoney && amount > 0 && amount <= milestone.held
        case .refund: milestone.state.holdsMoney
        case .extend: !milestone.state.isTerminal
        case .cancelContract: false
        }
    }
}
