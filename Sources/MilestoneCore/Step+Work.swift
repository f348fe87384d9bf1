import Foundation

/// Doing the work: submitting, asking for revisions, disputing.
extension Step {
    mutating func submit(_ ref: MilestoneRef, note: String?) throws(Rejection) {
        try requireOpen()
        try require(.freelancer, "submit work")
        let index = try target(ref, "/submit", doing: "submitted") { submittable($0) }
        let milestone = self[index]
        guard submittable(milestone) else {
            if milestone.state.isUnfunded {
                throw Rejection(.wrongState, "\(milestone.number) is not funded yet; work is submitted once the money is held",
                    suggestion: "The buyer funds it with /fund \(milestone.number).")
            }
            throw Rejection(.wrongState, "\(whereIs(milestone)); it cannot be submitted")
        }
        var reviewEnds: Date?
        if let period = policy.reviewPeriod {
            let ends = now.addingTimeInterval(TimeInterval(period.seconds))
            reviewEnds = ends
            deadlines.append(.arm(Deadline(kind: .reviewEnds(milestone.number), at: ends)))
            for days in policy.reviewReminderDays {
                deadlines.append(.arm(Deadline(kind: .reviewReminder(milestone.number, daysBefore: days),
                    at: ends.addingTimeInterval(-TimeInterval(days) * 86_400))))
            }
        }
        self[index].state = .submitted(.init(at: now, note: note, reviewEnds: reviewEnds))
        events.append(.workSubmitted(milestone.number, note: note, reviewEnds: reviewEnds, outcome: policy.reviewPeriod?.outcome))
    }

    private func submittable(_ milestone: Milestone) -> Bool {
        switch milestone.state {
        case .funded, .revisionRequested: true
        default: false
        }
    }

    mutating func revise(_ ref: MilestoneRef, feedback: String) throws(Rejection) {
        try requireOpen()
        try require(.buyer, "ask for revisions")
        guard policy.revisions != .none else {
            throw Rejection(.policyForbids, "this platform does not offer revision requests",
                suggestion: "Discuss the changes in the chat, or /dispute the milestone.")
        }
        let index = try target(ref, "/revise", doing: "sent back for revision") { isSubmitted($0) }
        let milestone = self[index]
        guard isSubmitted(milestone) else {
            throw Rejection(.wrongState, "\(whereIs(milestone)); a revision can be asked for once work is submitted")
        }
        if let allowance = milestone.revisionAllowance, milestone.revisionsUsed >= allowance {
            throw Rejection(.wrongState, "\(milestone.number) has used all \(allowance) of its revisions",
                suggestion: "/release \(milestone.number) to accept it, or /dispute \(milestone.number) <reason>.")
        }
        self[index].revisionsUsed += 1
        self[index].state = .revisionRequested(feedback: feedback)
        cancelClocks(of: milestone.number)
        events.append(.revisionRequested(milestone.number, feedback: feedback, used: self[index].revisionsUsed, allowance: milestone.revisionAllowance))
    }

    func isSubmitted(_ milestone: Milestone) -> Bool {
        if case .submitted = milestone.state { return true }
        return false
    }

    /// A dispute about the contract itself: nothing needs to be funded (SkillScoop: "If declined: Try
    /// resolving the issue via chat, or either party can submit a Dispute Assistance Form").
    mutating func disputeContract(reason: String) throws(Rejection) {
        try requireOpen()
        try requireParty("open a dispute")
        if let open = contract.dispute {
            throw Rejection(.wrongState, "the \(open.raisedBy) already opened a dispute about the contract; a moderator will decide",
                suggestion: "Add what you want the moderator to know here in the chat.")
        }
        contract.dispute = .init(raisedBy: role!, reason: reason, at: now)
        events.append(.contractDisputeOpened(by: role!, reason: reason))
    }

    mutating func resolveContract(note: String) throws(Rejection) {
        guard role == .moderator else {
            throw Rejection(.notAllowedForRole, "only a moderator can rule on a dispute")
        }
        guard contract.dispute != nil else {
            throw Rejection(.wrongState, "there is no open dispute about the contract",
                suggestion: "A milestone's dispute is settled with /resolve M<n> release|refund|split <amount> <note>.")
        }
        contract.dispute = nil
        events.append(.contractDisputeResolved(note: note))
    }

    mutating func dispute(_ ref: MilestoneRef, reason: String) throws(Rejection) {
        try requireParty("open a dispute")
        let index = try target(ref, "/dispute", doing: "disputed") { $0.state.holdsMoney && !isDisputed($0) }
        let milestone = self[index]
        guard milestone.state.holdsMoney, !isDisputed(milestone) else {
            if isDisputed(milestone) {
                throw Rejection(.wrongState, "\(milestone.number) is already in dispute; a moderator will decide")
            }
            throw Rejection(.wrongState, "\(whereIs(milestone)); only a milestone whose money is held can be disputed",
                suggestion: "To ask a moderator about the contract as a whole: /dispute contract <reason>.")
        }
        self[index].state = .disputed(.init(raisedBy: role!, reason: reason, at: now))
        cancelClocks(of: milestone.number)
        events.append(.disputeOpened(milestone.number, by: role!, reason: reason, held: money(milestone.held)))
    }
}
