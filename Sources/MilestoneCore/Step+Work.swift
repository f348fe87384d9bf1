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
        let file = openCase(.contract, claim: reason)
        contract.dispute = .init(raisedBy: role!, reason: reason, at: now, file: file)
        events.append(.contractDisputeOpened(by: role!, reason: reason))
        events.append(.responseRequested(.contract, from: role!.counterparty!, by: file.respondBy))
    }

    mutating func resolveContract(note: String) throws(Rejection) {
        guard role == .moderator else {
            throw Rejection(.notAllowedForRole, "only a moderator can rule on a dispute")
        }
        guard contract.dispute != nil else {
            throw Rejection(.wrongState, "there is no open dispute about the contract",
                suggestion: "A milestone's dispute is settled with /resolve M<n> release|refund|split <amount> <note>.")
        }
        closeContractDispute()
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
        let file = openCase(.milestone(milestone.number), claim: reason)
        self[index].state = .disputed(.init(raisedBy: role!, reason: reason, at: now, file: file))
        cancelClocks(of: milestone.number)
        events.append(.disputeOpened(milestone.number, by: role!, reason: reason, held: money(milestone.held)))
        events.append(.responseRequested(.milestone(milestone.number), from: role!.counterparty!, by: file.respondBy))
    }

    // MARK: The case both parties make

    /// A new case for a dispute the current party opens: their claim first, the other party asked to respond
    /// by the policy's time, with a reminder a day before when there is time for one.
    mutating func openCase(_ scope: DisputeScope, claim: String) -> DisputeCase {
        let respondBy = now.addingTimeInterval(TimeInterval(policy.disputeResponseSeconds))
        deadlines.append(.arm(Deadline(kind: .disputeResponse(scope), at: respondBy)))
        if policy.disputeResponseSeconds > 2 * 86_400 {
            deadlines.append(.arm(Deadline(kind: .disputeResponseReminder(scope), at: respondBy.addingTimeInterval(-86_400))))
        }
        return DisputeCase(claim: claim, by: role!, at: now, respondBy: respondBy)
    }

    /// The dispute ended (a ruling, an accepted offer, a settlement): its clocks stop.
    mutating func closeCase(_ scope: DisputeScope) {
        deadlines.append(.cancel(.disputeResponse(scope)))
        deadlines.append(.cancel(.disputeResponseReminder(scope)))
    }

    /// The dispute about the contract as a whole is over: gone from the contract, its clocks stopped.
    mutating func closeContractDispute() {
        contract.dispute = nil
        closeCase(.contract)
    }

    /// The open dispute on `scope`: who opened it and its case, or nil. A dispute opened before cases
    /// existed gets one made from its reason, counted as ready (nobody was ever asked to respond).
    func openDispute(_ scope: DisputeScope) -> (raisedBy: Role, file: DisputeCase)? {
        func file(_ raisedBy: Role, _ reason: String, _ at: Date, _ file: DisputeCase?) -> DisputeCase {
            if let file { return file }
            var made = DisputeCase(claim: reason, by: raisedBy, at: at, respondBy: at)
            made.respondedAt = at
            return made
        }
        switch scope {
        case .contract:
            return contract.dispute.map { ($0.raisedBy, file($0.raisedBy, $0.reason, $0.at, $0.file)) }
        case .milestone(let number):
            guard let milestone = contract.milestone(number), case .disputed(let dispute) = milestone.state else { return nil }
            return (dispute.raisedBy, file(dispute.raisedBy, dispute.reason, dispute.at, dispute.file))
        }
    }

    mutating func setCase(_ scope: DisputeScope, _ file: DisputeCase) {
        switch scope {
        case .contract: contract.dispute?.file = file
        case .milestone(let number):
            guard let index = contract.milestones.firstIndex(where: { $0.number == number }),
                case .disputed(var dispute) = self[index].state else { return }
            dispute.file = file
            self[index].state = .disputed(dispute)
        }
    }

    /// `/evidence`: either party adds to the case until a moderator rules; the other party's first
    /// statement is their response and stops the response clock.
    mutating func addEvidence(_ scope: DisputeScope, text: String) throws(Rejection) {
        // Not `requireOpen`: a disputed milestone can outlive its contract (an accepted end request leaves it
        // for the moderator), and its case goes on until the ruling.
        try requireParty("add to a dispute's case")
        guard let (raisedBy, file) = openDispute(scope) else {
            throw Rejection(.wrongState, scope == .contract ? "there is no open dispute about the contract" : "\(scope) is not in dispute",
                suggestion: "Write in the chat; a dispute is opened with /dispute \(scope == .contract ? "contract" : scope.description) <reason>.")
        }
        guard text.count <= 4000 else { throw Rejection(.badValue, "a statement is at most 4000 characters") }
        var updated = file
        let isResponse = role == raisedBy.counterparty && updated.respondedAt == nil
        updated.statements.append(.init(by: role!, text: text, at: now))
        if isResponse {
            updated.respondedAt = now
            closeCase(scope)
        }
        setCase(scope, updated)
        events.append(.evidenceAdded(scope, by: role!, text: text, isResponse: isResponse))
    }

    /// The clock: the other party's time to respond ran out, or is about to.
    mutating func fireResponseDeadline(_ scope: DisputeScope, reminder: Bool) {
        // Also on a closed contract: a disputed milestone an accepted end request left for the moderator.
        guard let (raisedBy, openFile) = openDispute(scope), openFile.respondedAt == nil, !openFile.noResponse,
            let respondent = raisedBy.counterparty else { return }
        var file = openFile
        if reminder {
            guard file.respondBy > now else { return }
            events.append(.responseReminder(scope, from: respondent, by: file.respondBy))
            return
        }
        guard file.respondBy <= now else { return }
        switch policy.disputeNoResponse {
        case .toModerator:
            file.noResponse = true
            setCase(scope, file)
            events.append(.noResponse(scope, from: respondent, decidedForOpener: false, released: money(0), refunded: money(0)))
        case .decideForOpener:
            guard case .milestone(let number) = scope, let index = contract.milestones.firstIndex(where: { $0.number == number }) else {
                // A dispute about the contract holds no money: it closes in the opener's favour.
                closeContractDispute()
                events.append(.noResponse(scope, from: respondent, decidedForOpener: true, released: money(0), refunded: money(0)))
                return
            }
            let held = self[index].held
            let toFreelancer = raisedBy == .freelancer ? held : 0
            settle(index, toFreelancer: toFreelancer, state: toFreelancer > 0 ? .released : .refunded)
            events.append(.noResponse(scope, from: respondent, decidedForOpener: true, released: money(toFreelancer), refunded: money(held - toFreelancer)))
            completeIfSettled()
        }
    }

    /// A moderator takes the case (the queue shows who has it); another moderator may take it over.
    mutating func takeCase(_ scope: DisputeScope) throws(Rejection) {
        guard role == .moderator, let moderator = actor?.user else {
            throw Rejection(.notAllowedForRole, "only a moderator can take a dispute's case")
        }
        guard var updated = openDispute(scope)?.file else {
            throw Rejection(.wrongState, scope == .contract ? "there is no open dispute about the contract" : "\(scope) is not in dispute")
        }
        guard updated.assignee != moderator else { throw Rejection(.wrongState, "you already have this case") }
        updated.assignee = moderator
        setCase(scope, updated)
        events.append(.caseTaken(scope, moderator: moderator))
    }

    /// `/note`: the line itself is the note, kept to moderators (it is stored visible to its author, and
    /// moderators see every message); nothing else changes.
    mutating func writeInternalNote() throws(Rejection) {
        guard role == .moderator else {
            throw Rejection(.notAllowedForRole, "internal notes are for moderators", suggestion: "Write in the chat, or add to a dispute with /evidence.")
        }
        keepsLinePrivate = true
    }
}
