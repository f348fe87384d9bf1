/// Agreeing the terms: adding, requesting, editing, deleting and approving milestones, going live.
extension Step {
    static let maximumMilestones = 200

    mutating func add(_ draft: MilestoneDraft) throws(Rejection) {
        try requireOpen()
        guard let role, role != .moderator else {
            throw Rejection(.notAllowedForRole, "only the \(policy.milestoneCreator) can add milestones")
        }
        guard role == policy.milestoneCreator else {
            let suggestion = role == .freelancer && policy.freelancerMayRequest
                ? "Ask the buyer for one with /milestone request <amount> <description>."
                : "Ask the \(policy.milestoneCreator) in the chat to add it."
            throw Rejection(.notAllowedForRole, "on this platform only the \(policy.milestoneCreator) adds milestones", suggestion: suggestion)
        }
        try checkNewMilestone(draft)
        let approver = policy.approver(ofChangeBy: role, phase: contract.phase)
        let milestone = newMilestone(draft, createdBy: role, state: approver.map { .proposed(awaiting: $0, requested: false) } ?? .agreed)
        contract.milestones.append(milestone)
        events.append(.milestoneAdded(milestone.number, by: role, amount: money(draft.amount), description: draft.description, due: draft.dueDate, awaiting: approver))
    }

    mutating func request(_ draft: MilestoneDraft) throws(Rejection) {
        try requireOpen()
        try require(.freelancer, "request a milestone")
        guard policy.freelancerMayRequest else {
            throw Rejection(.policyForbids, "on this platform the freelancer cannot request milestones",
                suggestion: policy.milestoneCreator == .freelancer ? "Add it yourself with /milestone add <amount> <description>." : "Ask the buyer in the chat.")
        }
        try checkNewMilestone(draft)
        let milestone = newMilestone(draft, createdBy: .freelancer, state: .proposed(awaiting: .buyer, requested: true))
        contract.milestones.append(milestone)
        events.append(.milestoneRequested(milestone.number, amount: money(draft.amount), description: draft.description))
    }

    private func checkNewMilestone(_ draft: MilestoneDraft) throws(Rejection) {
        guard contract.milestones.count < Step.maximumMilestones else {
            throw Rejection(.badValue, "a contract can have at most \(Step.maximumMilestones) milestones")
        }
        try checkTerms(amount: draft.amount, description: draft.description)
        try checkDue(draft.dueDate)
        try checkRevisions(draft.revisions)
    }

    /// A milestone's own revision allowance: only where the policy counts revisions, 0-100.
    func checkRevisions(_ revisions: Int?) throws(Rejection) {
        guard let revisions else { return }
        switch policy.revisions {
        case .none:
            throw Rejection(.policyForbids, "this platform does not offer revision requests, so a milestone cannot set a number of revisions")
        case .unlimited:
            throw Rejection(.policyForbids, "revisions are unlimited on this platform, so a milestone cannot set a number of them")
        case .counted:
            guard (0...100).contains(revisions) else { throw Rejection(.badValue, "a milestone allows 0 to 100 revisions") }
        }
    }

    /// The parser's limits, for commands that do not come through it (a platform's first milestones).
    func checkTerms(amount: Int64?, description: String?) throws(Rejection) {
        if let amount, !(1...Money.maximumMinorUnits).contains(amount) {
            throw Rejection(.badValue, amount < 1 ? "an amount must be more than zero" : "the largest amount allowed is \(money(Money.maximumMinorUnits))")
        }
        if let description {
            if description.trimmingWhitespace().isEmpty { throw Rejection(.badValue, "a description of the work is missing") }
            if description.count > 500 { throw Rejection(.badValue, "the description is \(description.count) characters; keep it under 500") }
        }
    }

    func checkDue(_ due: DueDate?) throws(Rejection) {
        if let due, due.end <= now {
            throw Rejection(.badValue, "the due date \(due) has already passed", suggestion: "Pick a day from today on, written as YYYY-MM-DD.")
        }
    }

    /// The number a milestone (or a bonus) added now gets: one past the highest so far.
    var nextMilestoneNumber: MilestoneNumber {
        MilestoneNumber((contract.milestones.map(\.number.rawValue).max() ?? 0) + 1)
    }

    private func newMilestone(_ draft: MilestoneDraft, createdBy: Role, state: MilestoneState) -> Milestone {
        let number = nextMilestoneNumber
        var allowance: Int?
        if case .counted(let perMilestone) = policy.revisions { allowance = draft.revisions ?? perMilestone }
        return Milestone(number: number, description: draft.description, amount: draft.amount, dueDate: draft.dueDate,
            revisionAllowance: allowance, createdBy: createdBy, state: state)
    }

    mutating func edit(_ ref: MilestoneRef, _ changes: MilestoneChanges) throws(Rejection) {
        try requireOpen()
        let index = try target(ref, "/milestone edit", doing: "edited") { $0.state.isUnfunded && $0.createdBy == role }
        let milestone = self[index]
        guard role == milestone.createdBy else {
            throw Rejection(.notAllowedForRole, "only the \(milestone.createdBy), who created \(milestone.number), can edit it",
                suggestion: role.flatMap(\.counterparty) != nil ? "Ask for the change in the chat." : nil)
        }
        guard milestone.state.isUnfunded else {
            throw Rejection(.wrongState, "\(whereIs(milestone)); only milestones that are not funded yet can be edited")
        }
        guard !changes.isEmpty else {
            throw Rejection(.badValue, "nothing to change", suggestion: "Example: /milestone edit \(milestone.number) amount 300")
        }
        try checkTerms(amount: changes.amount, description: changes.description)
        try checkDue(changes.dueDate)
        var edited = milestone
        if let amount = changes.amount { edited.amount = amount }
        if let description = changes.description { edited.description = description }
        if let due = changes.dueDate { edited.dueDate = due }
        guard edited != milestone else {
            throw Rejection(.badValue, "\(milestone.number) already has these terms")
        }
        var awaiting: Role?
        if case .proposed(let who, let requested) = milestone.state {
            awaiting = who
            edited.state = .proposed(awaiting: who, requested: requested)
        } else if let approver = policy.approver(ofChangeBy: milestone.createdBy, phase: contract.phase) {
            awaiting = approver
            edited.state = .proposed(awaiting: approver, requested: false)
        } else if milestone.createdBy != policy.milestoneCreator {
            // A request the buyer accepted: new terms are a new request.
            awaiting = .buyer
            edited.state = .proposed(awaiting: .buyer, requested: true)
        }
        self[index] = edited
        events.append(.milestoneEdited(edited.number, by: milestone.createdBy, amount: money(edited.amount),
            description: edited.description, due: edited.dueDate, awaiting: awaiting))
    }

    mutating func delete(_ ref: MilestoneRef) throws(Rejection) {
        try requireOpen()
        let index = try target(ref, "/milestone delete", doing: "deleted") { $0.state.isUnfunded }
        let milestone = self[index]
        var requestDeclined = false
        if case .proposed(_, true) = milestone.state, role == .buyer { requestDeclined = true }
        let moderatorCancels = role == .moderator && policy.cancelBy == .moderator
        guard role == milestone.createdBy || requestDeclined || moderatorCancels else {
            throw Rejection(.notAllowedForRole, "only the \(milestone.createdBy), who created \(milestone.number), can delete it")
        }
        guard milestone.state.isUnfunded else {
            let paid = milestone.state.holdsMoney || milestone.state.isTerminal
            throw Rejection(.wrongState, "\(whereIs(milestone)); \(paid ? "a milestone cannot be deleted once it has been paid for" : "it cannot be deleted")")
        }
        if policy.placeOrder, contract.phase == .live, !moderatorCancels, !requestDeclined {
            throw Rejection(.policyForbids, "the order is placed, so its milestones change only with the buyer's agreement; a milestone of a placed order is cancelled by support",
                suggestion: "Ask in the chat; a moderator can cancel it (/dispute it once it is funded).")
        }
        if case .agreed = milestone.state, !policy.deleteBeforeFunding {
            throw Rejection(.policyForbids, "\(milestone.number) has been approved, and on this platform approved milestones cannot be deleted",
                suggestion: "Raise it in the chat; a moderator can help.")
        }
        self[index].state = .cancelled
        dropOffers(on: milestone.number)
        events.append(.milestoneDeleted(milestone.number, by: role ?? .buyer))
        completeIfSettled()
    }

    mutating func approve(_ ref: MilestoneRef) throws(Rejection) {
        try requireOpen()
        let index = try target(ref, "/approve", doing: "approved") {
            if case .proposed(let awaiting, _) = $0.state { return awaiting == role }
            return false
        }
        let milestone = self[index]
        guard case .proposed(let awaiting, _) = milestone.state else {
            throw Rejection(.wrongState, "\(whereIs(milestone)); there is nothing to approve")
        }
        guard role == awaiting else {
            throw Rejection(.notAllowedForRole, "\(milestone.number) is waiting for the \(awaiting)'s approval, not yours")
        }
        self[index].state = .agreed
        events.append(.milestoneApproved(milestone.number, by: awaiting))
        if policy.chargeOn == .approval, awaiting == .freelancer, contract.phase == .live {
            hold(index, automatic: true)
        }
    }

    mutating func goLive() throws(Rejection) {
        try requireOpen()
        try require(.buyer, policy.placeOrder ? "place the order" : "make the contract live")
        guard contract.phase == .proposal else {
            throw Rejection(.wrongState, policy.placeOrder ? "the order is already placed" : "the contract is already live")
        }
        if policy.placeOrder {
            try placeOrder()
            return
        }
        contract.phase = .live
        events.append(.contractLive)
        if policy.chargeOn == .approval {
            for index in contract.milestones.indices where self[index].state == .agreed {
                hold(index, automatic: true)
            }
        }
    }

    /// The buyer accepts the seller's offer: the order is placed and its first milestone charged ("Buyers
    /// will be charged for the first milestone when they place an order").
    private mutating func placeOrder() throws(Rejection) {
        if let waiting = contract.milestones.first(where: { if case .proposed = $0.state { true } else { false } }) {
            throw Rejection(.wrongState, "\(whereIs(waiting)); the offer must be agreed before the order is placed")
        }
        guard let first = contract.milestones.firstIndex(where: { $0.state == .agreed }) else {
            throw Rejection(.wrongState, "the offer has no milestones yet, so there is no order to place",
                suggestion: "The seller adds them with /milestone add <amount> <description>.")
        }
        contract.phase = .live
        events.append(.orderPlaced(first: self[first].number, amount: money(self[first].amount)))
        hold(first, automatic: true)
    }
}
