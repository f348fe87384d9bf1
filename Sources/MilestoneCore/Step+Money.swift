/// Moving money: funding, releasing, cancelling (returning) and moderators' rulings.
extension Step {
    mutating func fund(_ ref: MilestoneRef) throws(Rejection) {
        try requireOpen()
        try require(.buyer, "fund milestones")
        guard policy.chargeOn == .fund else {
            throw Rejection(.policyForbids, "on this platform the buyer is charged automatically when the freelancer approves a milestone",
                suggestion: "Wait for the freelancer's /approve.")
        }
        try requireLive("paid")
        let index = try target(ref, "/fund", doing: "funded") { fundable($0) && startable($0) }
        let milestone = self[index]
        guard fundable(milestone) else {
            if case .proposed(.buyer, _) = milestone.state {
                throw Rejection(.wrongState, "\(milestone.number)'s terms changed after the order was placed (now \(money(milestone.amount))); they wait for your agreement",
                    suggestion: "/approve \(milestone.number) to agree to them, then /fund \(milestone.number); or ask the seller in the chat.")
            }
            throw Rejection(.wrongState, "\(whereIs(milestone)); it cannot be funded")
        }
        if !startable(milestone), let blocking = contract.milestones.first(where: { $0.number < milestone.number && !$0.state.isTerminal }) {
            throw Rejection(.wrongState, "this is a sequential order: \(blocking.number) must be accepted before \(milestone.number) starts")
        }
        if case .proposed = milestone.state {
            events.append(.milestoneApproved(milestone.number, by: .buyer))
        }
        hold(index, automatic: false)
    }

    /// In a sequential order, only once every earlier milestone is settled.
    private func startable(_ milestone: Milestone) -> Bool {
        !policy.sequential || contract.milestones.allSatisfy { $0.number >= milestone.number || $0.state.isTerminal }
    }

    /// Agreed, or a freelancer's request the buyer accepts by funding it. In a placed order, the seller's
    /// changed terms are agreed with `/approve` first: a charge must not be how a new price is accepted.
    private func fundable(_ milestone: Milestone) -> Bool {
        switch milestone.state {
        case .agreed: true
        case .proposed(let awaiting, let requested): awaiting == .buyer && (requested || !policy.placeOrder)
        default: false
        }
    }

    mutating func release(_ ref: MilestoneRef) throws(Rejection) {
        try requireOpen()
        try require(.buyer, "release payments")
        let index = try target(ref, "/release", doing: "released") { releasable($0) }
        let milestone = self[index]
        guard releasable(milestone) else {
            if policy.releaseRequiresSubmission, milestone.state == .funded || isRevision(milestone) {
                throw Rejection(.wrongState, "\(milestone.number) has not been submitted yet; it can be released once the freelancer submits the work",
                    suggestion: "The freelancer submits with /submit \(milestone.number).")
            }
            if milestone.state.isUnfunded {
                throw Rejection(.wrongState, "\(milestone.number) is not funded, so there is nothing to release", suggestion: "Fund it first with /fund \(milestone.number).")
            }
            throw Rejection(.wrongState, "\(whereIs(milestone)); it cannot be released")
        }
        let amount = milestone.held
        settle(index, toFreelancer: amount, state: .released)
        events.append(.milestoneReleased(milestone.number, amount: money(amount), automatic: false))
        keepDeliveryClock(of: milestone)
        completeIfSettled()
    }

    /// An auto-completing sequential order keeps the delivery's clock after a milestone is accepted: if the
    /// next milestone has not started when it runs out, the order stops and completes. `milestone` is as it
    /// was before it settled.
    mutating func keepDeliveryClock(of milestone: Milestone) {
        if policy.sequential, policy.reviewPeriod?.outcome == .autoComplete,
            case .submitted(let submission) = milestone.state, let ends = submission.reviewEnds, ends > now
        {
            deadlines.append(.arm(Deadline(kind: .reviewEnds(milestone.number), at: ends)))
        }
    }

    private func isRevision(_ milestone: Milestone) -> Bool {
        if case .revisionRequested = milestone.state { return true }
        return false
    }

    private func releasable(_ milestone: Milestone) -> Bool {
        switch milestone.state {
        case .submitted: true
        case .funded, .revisionRequested: !policy.releaseRequiresSubmission
        default: false
        }
    }

    mutating func cancel(_ ref: MilestoneRef) throws(Rejection) {
        try requireOpen()
        switch policy.cancelBy {
        case .nobody:
            throw Rejection(.policyForbids, "on this platform a funded milestone cannot be cancelled",
                suggestion: role == .moderator ? nil : "If something is wrong, /dispute it and a moderator decides.")
        case .freelancer, .moderator:
            guard role == policy.cancelBy.role else {
                throw Rejection(.notAllowedForRole, "only the \(policy.cancelBy.role!) can cancel a funded milestone here",
                    suggestion: policy.cancelBy == .moderator ? "Ask a moderator, or /dispute it." : "Ask the freelancer to return it with /cancel.")
            }
        }
        let index = try target(ref, "/cancel", doing: "cancelled") { cancellable($0) }
        let milestone = self[index]
        guard cancellable(milestone) else {
            if milestone.state.isUnfunded {
                throw Rejection(.wrongState, "\(milestone.number) is not funded, so there is nothing to return",
                    suggestion: "Its creator can remove it with /milestone delete \(milestone.number).")
            }
            throw Rejection(.wrongState, "\(whereIs(milestone)); it cannot be cancelled")
        }
        let amount = milestone.held
        settle(index, toFreelancer: 0, state: .refunded)
        events.append(.milestoneCancelled(milestone.number, by: role ?? .moderator, refunded: money(amount)))
        completeIfSettled()
    }

    private func cancellable(_ milestone: Milestone) -> Bool {
        milestone.state.holdsMoney && !isDisputed(milestone)
    }

    func isDisputed(_ milestone: Milestone) -> Bool {
        if case .disputed = milestone.state { return true }
        return false
    }

    mutating func resolve(_ ref: MilestoneRef, _ ruling: Resolution, note: String) throws(Rejection) {
        guard role == .moderator else {
            throw Rejection(.notAllowedForRole, "only a moderator can resolve disputes")
        }
        let index = try target(ref, "/resolve", doing: "resolved") { isDisputed($0) }
        let milestone = self[index]
        guard isDisputed(milestone) else {
            throw Rejection(.wrongState, "\(whereIs(milestone)); only a disputed milestone can be resolved")
        }
        let held = milestone.held
        let toFreelancer: Int64
        let state: MilestoneState
        switch ruling {
        case .release:
            toFreelancer = held
            state = .released
        case .refund:
            toFreelancer = 0
            state = .refunded
        case .split(let amount):
            guard amount > 0 else {
                throw Rejection(.badValue, "a split must give the freelancer more than nothing",
                    suggestion: "Use /resolve \(milestone.number) refund <note> to return it all.")
            }
            guard amount < held else {
                throw Rejection(.badValue, "a split must give the freelancer less than the \(money(held)) held",
                    suggestion: "Use /resolve \(milestone.number) release <note> to pay it all.")
            }
            toFreelancer = amount
            state = .split
        }
        settle(index, toFreelancer: toFreelancer, state: state)
        events.append(.disputeResolved(milestone.number, ruling: ruling, released: money(toFreelancer), refunded: money(held - toFreelancer), note: note))
        completeIfSettled()
    }

    /// The buyer pays the freelancer more than agreed, where the policy allows: a new charge paid straight
    /// to the freelancer, recorded as a milestone settled in the same step (so the ledger, the processor
    /// and the transcript treat it as every other payment).
    mutating func payBonus(_ amount: Int64, note: String) throws(Rejection) {
        try requireOpen()
        try require(.buyer, "pay a bonus")
        guard policy.bonusAllowed else {
            throw Rejection(.policyForbids, "this platform has no bonuses", suggestion: "Pay for more work with a new milestone.")
        }
        try requireLive("paid")
        guard contract.milestones.count < Step.maximumMilestones else {
            throw Rejection(.badValue, "a contract can have at most \(Step.maximumMilestones) milestones and bonuses")
        }
        try checkTerms(amount: amount, description: note)
        let number = nextMilestoneNumber
        var bonus = Milestone(number: number, description: "Bonus: \(note)", amount: amount, dueDate: nil, revisionAllowance: nil,
            createdBy: .buyer, state: .released)
        bonus.funded = amount
        bonus.released = amount
        contract.milestones.append(bonus)
        postings.append(LedgerPosting(kind: .hold, milestone: number, amount: amount))
        postings.append(LedgerPosting(kind: .post, milestone: number, amount: amount))
        events.append(.bonusPaid(number, amount: money(amount), note: note))
    }
}

extension Policy.CancelRule {
    /// The role that may cancel, if any.
    var role: Role? {
        switch self {
        case .nobody: nil
        case .freelancer: .freelancer
        case .moderator: .moderator
        }
    }
}
