import Foundation

/// What a successful command or deadline did: the contract after it, the events to announce, the ledger
/// postings to write, and the deadlines to arm or cancel. Storage commits all of it in one transaction.
public struct Transition: Hashable, Sendable {
    public var contract: Contract
    public var events: [ContractEvent]
    public var postings: [LedgerPosting]
    public var deadlines: [DeadlineChange]
    /// The command's own line stays visible to its author only (a sealed double-blind review: the typed
    /// words would give it away); its effects are still announced.
    public var keepsLinePrivate: Bool = false

    /// Nothing happened (a deadline that no longer applies).
    public var isEmpty: Bool { events.isEmpty && postings.isEmpty && deadlines.isEmpty }
}

/// The outcome of a command that was accepted.
public enum CommandOutcome: Hashable, Sendable {
    /// The contract changed; post the events to the thread.
    case applied(Transition)
    /// A question (`/help`, `/status`): answer only the sender, change nothing.
    case answered(String)
}

/// The working state while one command or deadline is applied. Mutations happen on a copy of the
/// contract; a thrown `Rejection` discards the copy, so a rejected command changes nothing.
struct Step {
    var contract: Contract
    /// Nil when the clock fires a deadline.
    let actor: Participant?
    let now: Date
    var events: [ContractEvent] = []
    var postings: [LedgerPosting] = []
    var deadlines: [DeadlineChange] = []
    var keepsLinePrivate = false

    init(contract: Contract, actor: Participant?, now: Date) {
        self.contract = contract
        self.actor = actor
        self.now = now
    }

    var transition: Transition {
        Transition(contract: contract, events: events, postings: postings, deadlines: deadlines, keepsLinePrivate: keepsLinePrivate)
    }

    var policy: Policy { contract.policy }

    /// The acting role; the clock acts as nobody in particular.
    var role: Role? { actor?.role }

    func money(_ minorUnits: Int64) -> Money { contract.money(minorUnits) }

    subscript(index: Int) -> Milestone {
        get { contract.milestones[index] }
        set { contract.milestones[index] = newValue }
    }

    /// Throws unless the actor has `role`, explaining who may do this instead.
    func require(_ role: Role, _ what: String) throws(Rejection) {
        guard self.role == role else {
            throw Rejection(.notAllowedForRole, "only the \(role) can \(what)", suggestion: self.role == .moderator ? "Moderators read the thread and /resolve disputes." : nil)
        }
    }

    func requireParty(_ what: String) throws(Rejection) {
        guard role == .buyer || role == .freelancer else {
            throw Rejection(.notAllowedForRole, "only the buyer or the freelancer can \(what)")
        }
    }

    func requireOpen() throws(Rejection) {
        switch contract.phase {
        case .completed:
            throw Rejection(.contractClosed, "this contract is complete", suggestion: "Leave a review with /review <1-5> <text>.")
        case .ended:
            throw Rejection(.contractClosed, "this contract has ended")
        case .cancelled:
            throw Rejection(.contractClosed, "this order was cancelled")
        case .proposal, .live:
            return
        }
    }

    func requireLive(_ what: String) throws(Rejection) {
        try requireOpen()
        if contract.phase == .proposal {
            throw Rejection(.wrongState, "the contract is still a proposal, so nothing can be \(what) yet", suggestion: "The buyer makes it live with /golive.")
        }
    }

    // MARK: - Ledger moves

    mutating func hold(_ index: Int, automatic: Bool) {
        let amount = self[index].amount
        self[index].funded += amount
        self[index].state = .funded
        postings.append(LedgerPosting(kind: .hold, milestone: self[index].number, amount: amount))
        events.append(.milestoneFunded(self[index].number, amount: money(amount), automatic: automatic))
        if let due = self[index].dueDate {
            let remindAt = due.end.addingTimeInterval(-2 * 86_400)
            if remindAt > now { deadlines.append(.arm(Deadline(kind: .dueReminder(self[index].number), at: remindAt))) }
        }
    }

    /// Pays `amount` of the milestone's hold to the freelancer and returns the rest to the buyer.
    mutating func settle(_ index: Int, toFreelancer amount: Int64, state: MilestoneState) {
        let held = self[index].held
        let number = self[index].number
        if amount > 0 { postings.append(LedgerPosting(kind: .post, milestone: number, amount: amount)) }
        if held - amount > 0 { postings.append(LedgerPosting(kind: .void, milestone: number, amount: held - amount)) }
        self[index].released += amount
        self[index].refunded += held - amount
        // Settled some other way (a release, a ruling): an open offer on it no longer means anything, and a
        // dispute's response clock stops.
        dropOffers(on: number)
        if case .disputed(let dispute) = self[index].state, dispute.file != nil { closeCase(.milestone(number)) }
        self[index].state = state
        cancelClocks(of: number)
    }

    /// A milestone that settles or is cancelled takes its open offer with it.
    mutating func dropOffers(on number: MilestoneNumber) {
        guard contract.offers.contains(where: { $0.milestone == number }) else { return }
        contract.offers.removeAll { $0.milestone == number }
        deadlines.append(.cancel(.offerLapses(number)))
    }

    /// Cancels the review period and its reminders of a milestone.
    mutating func cancelClocks(of number: MilestoneNumber) {
        guard policy.reviewPeriod != nil else { return }
        deadlines.append(.cancel(.reviewEnds(number)))
        for days in policy.reviewReminderDays { deadlines.append(.cancel(.reviewReminder(number, daysBefore: days))) }
    }

    /// Completes the contract when the policy completes by itself and nothing is left to do.
    mutating func completeIfSettled() {
        guard policy.completeAutomatically, contract.phase == .live,
            contract.milestones.allSatisfy(\.state.isTerminal),
            contract.milestones.contains(where: { $0.state == .released || $0.state == .split })
        else { return }
        contract.phase = .completed
        events.append(.contractCompleted(automatic: true))
    }
}
