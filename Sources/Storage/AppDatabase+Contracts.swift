import Foundation
import GRDB
import MilestoneCore
import Payments

/// A contract the platform asks to create, with its first milestones.
public struct NewContract: Hashable, Sendable {
    public var id: ContractID
    public var title: String
    public var currency: Currency
    public var buyer: UserID
    public var freelancer: UserID
    public var policy: Policy
    /// Added by the policy's milestone creator, as if typed with `/milestone add`.
    public var milestones: [MilestoneDraft]
    /// The buyer's and freelancer's ids at the payment processor (unused by the simulated processor).
    public var parties: PaymentParties

    public init(id: ContractID, title: String, currency: Currency, buyer: UserID, freelancer: UserID, policy: Policy, milestones: [MilestoneDraft] = [], parties: PaymentParties = PaymentParties()) {
        self.parties = parties
        self.id = id
        self.title = title
        self.currency = currency
        self.buyer = buyer
        self.freelancer = freelancer
        self.policy = policy
        self.milestones = milestones
    }
}

/// A contract as listed for a user.
public struct ContractSummary: Hashable, Sendable, Codable {
    public var id: ContractID
    public var title: String
    public var preset: String
    public var phase: String
    public var buyer: UserID
    public var freelancer: UserID
    public var lastSeq: Int64
    /// When the newest message everyone sees was written, and its text: the thread list's order and preview.
    public var lastAt: Date?
    public var preview: String?
    /// People's lines by others after the user's read marker (0 for a moderator, who keeps none).
    public var unread: Int = 0

    public init(id: ContractID, title: String, preset: String, phase: String, buyer: UserID, freelancer: UserID, lastSeq: Int64,
        lastAt: Date?, preview: String?, unread: Int) {
        (self.id, self.title, self.preset, self.phase, self.buyer, self.freelancer) = (id, title, preset, phase, buyer, freelancer)
        (self.lastSeq, self.lastAt, self.preview, self.unread) = (lastSeq, lastAt, preview, unread)
    }
}

extension AppDatabase {
    /// Creates a contract and its thread; the first milestones are added through the core, so they get
    /// the same checks and system messages as typed ones. All or nothing.
    @discardableResult
    public func createContract(_ new: NewContract, at now: Date) throws -> (Contract, [StoredMessage]) {
        let title = try new.checkedTitle()
        return try writer.write { db in try insertContract(db, new, title: title, at: now) }
    }

    func insertContract(_ db: Database, _ new: NewContract, title: String, at now: Date) throws -> (Contract, [StoredMessage]) {
        let id = new.id.rawValue
        do {
            guard try ContractRecord.fetchOne(db, key: id) == nil else { throw StorageError.contractExists(id) }
            var contract = Contract(id: new.id, title: title, currency: new.currency, buyer: new.buyer, freelancer: new.freelancer, policy: new.policy)
            try ContractRecord(contract, createdAt: now).insert(db)
            try Self.savePaymentParties(db, new.parties, of: new.id)
            var transcript = TranscriptWriter(newThread: new.id)
            try transcript.append(db, kind: .system, body: new.welcome(title: title, phase: contract.phase), at: now)
            let creator = Participant(user: new.policy.milestoneCreator == .buyer ? new.buyer : new.freelancer, role: new.policy.milestoneCreator)
            for draft in new.milestones {
                switch contract.apply(.addMilestone(draft), by: creator, at: now) {
                case .failure(let rejection): throw StorageError.invalid("milestone \"\(draft.description)\": \(rejection)")
                case .success(.answered): break
                case .success(.applied(let transition)):
                    try persist(db, transition, previous: contract, transcript: &transcript, commandID: nil, actor: creator, at: now)
                    contract = transition.contract
                }
            }
            try transcript.saveHead(db)
            announce(db, transcript.written)
            return (contract, transcript.written)
        }
    }

    public func contract(_ id: ContractID) throws -> Contract? {
        try writer.read { db in try Self.loadContract(db, id) }
    }

    public func contract(_ id: ContractID) async throws -> Contract? {
        try await writer.read { db in try Self.loadContract(db, id) }
    }

    /// The contracts a user is party to, newest first; moderators get every contract.
    public func contracts(for user: UserID, role: Role) throws -> [ContractSummary] {
        try writer.read { db in
            let mine = role == .moderator ? "" : "WHERE c.buyer_id = :user OR c.freelancer_id = :user"
            // A moderator keeps no read marker: nothing counts as unread for them.
            let unread = role == .moderator ? "0" : """
                (SELECT COUNT(*) FROM message u WHERE u.thread_id = c.id AND u.kind IN ('chat', 'note') AND u.author_id != :user
                 AND u.seq > MAX(COALESCE((SELECT MAX(r.seq) FROM read_marker r WHERE r.thread_id = c.id AND r.user_id = :user), 0),
                                COALESCE((SELECT b.seq FROM unread_baseline b WHERE b.thread_id = c.id AND b.user_id = :user), 0)))
                """
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.id, c.title, c.preset, c.phase, c.buyer_id, c.freelancer_id, h.last_seq, last.created_at, last.body, \(unread)
                FROM contract c JOIN thread_head h ON h.thread_id = c.id
                LEFT JOIN message last ON last.thread_id = c.id
                    AND last.seq = (SELECT MAX(seq) FROM message WHERE thread_id = c.id AND visible_to IS NULL)
                \(mine)
                ORDER BY last.created_at DESC, c.created_at DESC, c.id
                """, arguments: ["user": user.rawValue])
            return rows.map {
                ContractSummary(id: ContractID($0[0]), title: $0[1], preset: $0[2], phase: $0[3],
                    buyer: UserID($0[4]), freelancer: UserID($0[5]), lastSeq: $0[6], lastAt: ($0[7] as Int64?).map(Date.init(milliseconds:)),
                    preview: ($0[8] as String?).map { String(String.UnicodeScalarView($0.unicodeScalars.prefix(140))) }, unread: $0[9])
            }
        }
    }

    /// Writes a transition: the contract's new state, a system message per event, the ledger postings
    /// (checked against the ledger's rules) pointing at the message that announced them, and deadlines.
    /// `previous` is the contract as stored, read in this same transaction: only rows that differ from it are written.
    func persist(
        _ db: Database, _ transition: Transition, previous: Contract, transcript: inout TranscriptWriter,
        commandID: CommandID?, actor: Participant?, settlement: Settlement? = nil, at now: Date
    ) throws {
        let contract = transition.contract
        if paymentsRequired, !transition.postings.isEmpty, settlement == nil {
            throw StorageError.paymentMissing("\(contract.id): \(transition.postings.count) posting(s) with no settlement")
        }
        // `previous` is the contract as stored in this transaction: only what changed is written.
        if contract.phase != previous.phase || contract.endRequest != previous.endRequest || contract.reviews != previous.reviews
            || contract.dispute != previous.dispute || contract.offers != previous.offers {
            try db.cachedStatement(sql: "UPDATE contract SET phase = ?, end_request = ?, reviews = ?, dispute = ?, offers = ? WHERE id = ?").execute(
                arguments: [contract.phase.rawValue, try contract.endRequest.map(JSON.string), try StoredJSON.string(contract.reviews),
                    try contract.dispute.map(JSON.string), contract.offers.isEmpty ? nil : try JSON.string(contract.offers), contract.id.rawValue])
        }
        for (index, milestone) in contract.milestones.enumerated() {
            // Milestones keep their order and are only appended, so the same index usually finds the old one.
            let old = index < previous.milestones.count && previous.milestones[index].number == milestone.number
                ? previous.milestones[index] : previous.milestone(milestone.number)
            if old != milestone { try Self.saveMilestone(milestone, of: contract.id, db) }
        }
        try Self.record(db, CaseChange.between(previous, transition), of: contract.id, at: now)
        var announced: [MilestoneNumber: Int64] = [:]
        var firstSeq: Int64?
        var eventMessages: [StoredMessage] = []
        for event in transition.events {
            let message = try transcript.append(db, kind: .system, body: event.text, event: event, at: now)
            eventMessages.append(message)
            firstSeq = firstSeq ?? message.seq
            if let milestone = event.milestone { announced[milestone] = message.seq }
        }
        try enqueueNotifications(db, contract: contract, messages: eventMessages, events: transition.events, actor: actor)
        if !transition.postings.isEmpty {
            // The ledger's rules are per milestone: a step about one milestone needs only that one's entries.
            let milestones = Set(transition.postings.map(\.milestone))
            var ledger = try Self.ledger(db, contract.id, milestone: milestones.count == 1 ? milestones.first : nil)
            do { try ledger.apply(transition.postings) } catch {
                throw StorageError.ledgerViolation("\(contract.id): \(error)")
            }
            for posting in transition.postings {
                guard let seq = announced[posting.milestone] ?? firstSeq else {
                    throw StorageError.ledgerViolation("\(contract.id): a posting for \(posting.milestone) with no message announcing it")
                }
                try Self.insertLedgerEntry(db, posting, of: contract, commandID: commandID, messageSeq: seq, at: now,
                    processorRef: settlement?.reference(for: posting.milestone))
            }
        }
        if let settlement { try recordSettlement(db, settlement, of: transition, transcript: &transcript, at: now) }
        for change in transition.deadlines {
            switch change {
            case .arm(let deadline):
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO deadline (contract_id, kind, fires_at) VALUES (?, ?, ?)")
                    .execute(arguments: [contract.id.rawValue, deadline.kind.key, deadline.at.milliseconds])
            case .cancel(let kind):
                try db.cachedStatement(sql: "DELETE FROM deadline WHERE contract_id = ? AND kind = ?").execute(arguments: [contract.id.rawValue, kind.key])
            }
        }
    }
}

extension NewContract {
    /// The thread's first message, the bot's: who, under which rules, in which currency. Every store writes it.
    public func welcome(title: String, phase: Contract.Phase) -> String {
        let live = phase == .live ? "" : " It is a proposal until the buyer makes it live with /golive."
        return "Contract \"\(title)\" between buyer \(buyer) and freelancer \(freelancer), under \(policy.name) rules, in \(currency.code).\(live) Type /help to see what you can do."
    }

    /// The contract's title, trimmed, once every field the platform sent is checked: ids, text, parties, policy.
    /// The same rules for every store.
    public func checkedTitle() throws -> String {
        let new = self
        let id = new.id.rawValue
        if let problem = IdentifierRules.problem(id, what: "the contract id", maxBytes: 100) { throw StorageError.invalid(problem) }
        guard id.count <= 100, id.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw StorageError.invalid("a contract id is 1-100 letters, digits, '-', '_' or '.'")
        }
        // Text from the platform gets the chat line's rules: a NUL would be cut off by SQLite and the stored
        // message would no longer match its hash. A title is one line.
        if let problem = IdentifierRules.textProblem(new.title, what: "the title") { throw StorageError.invalid(problem) }
        let title = new.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty, title.count <= 200 else { throw StorageError.invalid("a title is 1-200 characters") }
        guard !new.buyer.rawValue.isEmpty, !new.freelancer.rawValue.isEmpty else { throw StorageError.invalid("buyer and freelancer are required") }
        for (what, party) in [("the buyer", new.buyer), ("the freelancer", new.freelancer)] {
            if let problem = IdentifierRules.problem(party.rawValue, what: "\(what)'s id", maxBytes: 200) { throw StorageError.invalid(problem) }
        }
        for draft in new.milestones {
            if let problem = IdentifierRules.textProblem(draft.description, what: "the description of milestone \"\(draft.description.prefix(40))\"", allowing: ["\n", "\r", "\t"]) {
                throw StorageError.invalid(problem)
            }
        }
        guard new.buyer != new.freelancer else { throw StorageError.invalid("the buyer and the freelancer must be different users") }
        if let problem = new.policy.problems.first { throw StorageError.invalid("the policy is unusable: \(problem)") }
        if let problem = new.parties.problem { throw StorageError.invalid(problem) }
        return title
    }
}
