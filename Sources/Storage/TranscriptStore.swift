import Foundation
import MilestoneCore

/// What a thread's transcript needs from a database, whichever holds it: the embedded SQLite file
/// (``AppDatabase``) or a PostgreSQL server (`PostgresStore`). The suites in `Tests/StoreConformanceTests`
/// run against both, so the two keep the same guarantees: gap-free sequence numbers, an intact hash chain,
/// one outcome per command id, the ledger's rules.
public protocol TranscriptStore: Sendable {
    /// Creates a contract and its thread (its milestones added through the core). All or nothing.
    func newContract(_ new: NewContract, at now: Date) async throws -> Contract
    /// Stores a line and runs it when it is a command, all in one transaction; durable when it returns.
    /// The same command id again returns the first receipt and writes nothing.
    func appendLine(_ request: LineRequest) async throws -> LineReceipt
    func loadContract(_ id: ContractID) async throws -> Contract?
    /// What a client that saw everything up to `after` missed, visible to `viewer`, and the newest seq.
    func messages(in thread: ContractID, after: Int64, limit: Int?, visibleTo viewer: Participant) async throws -> (messages: [StoredMessage], lastSeq: Int64)
    /// The newest page before `before` (nil: the newest), oldest first, and whether older ones exist.
    func messagePage(in thread: ContractID, before: Int64?, limit: Int, visibleTo viewer: Participant) async throws -> (messages: [StoredMessage], hasMore: Bool, lastSeq: Int64)
    func verifyChain(of thread: ContractID) async throws -> ChainVerification
    /// The contract's ledger entries, oldest first.
    func ledgerPostings(of contract: ContractID) async throws -> [LedgerPosting]
    /// Fires the earliest deadline due at `now`, in one transaction with what it does: each fires exactly once,
    /// however many callers (nodes) race for it. Nil when none is due (an empty transition: it no longer applied).
    func fireNextDue(at now: Date) async throws -> (Transition, [StoredMessage])?
    /// The deadlines armed for a contract, earliest first.
    func armedDeadlines(of contract: ContractID) async throws -> [Deadline]
    /// Every dispute a contract has had about `about`, oldest first, open or closed (and how).
    func caseHistory(of contract: ContractID, about: DisputeScope) async throws -> [CaseRecord]
    /// Moves a party's read marker forward (nil when it was already there or past it); refused past the head.
    func markRead(_ thread: ContractID, user: UserID, through seq: Int64, at now: Date) async throws -> ReadMarker?
    /// Each user's newest read marker in the thread.
    func readMarkers(in thread: ContractID) async throws -> [ReadMarker]
    /// Tells the platform of lines a party not in `connected` has not had, once the oldest is `window` old
    /// (one `message.created` per party per batch); when to look again, or nil.
    func tellUnread(in thread: ContractID, connected: Set<UserID>, window: TimeInterval, at now: Date) async throws -> Date?
    /// Takes the notifications due at `now` for `node` (the oldest undelivered one of each contract), each for
    /// `lease` seconds. (SQLite has one process, whose one delivery service takes them: node and lease do not
    /// apply there.)
    func claimNotifications(for node: String, at now: Date, lease: TimeInterval, limit: Int) async throws -> [PendingNotification]
    /// The receiver answered 2xx; false when `node` no longer held it.
    @discardableResult
    func markDelivered(_ item: PendingNotification, by node: String, at now: Date) async throws -> Bool
    /// Everything on the record for `viewer` (a moderator's export; a party's own view).
    func exportTranscript(_ thread: ContractID, for viewer: Participant, at now: Date) async throws -> TranscriptExport
    /// The thread list: a party's contracts (every contract for a moderator), the most recently active first,
    /// with the newest message everyone sees and the user's unread count.
    func threadList(for user: UserID, role: Role) async throws -> [ContractSummary]
    /// The moderators' queue: open disputes, oldest first (see ``AppDatabase/openDisputes(at:minimumAge:minimumHeld:currency:)``).
    func disputeQueue(at now: Date, minimumAge: TimeInterval, minimumHeld: Int64, currency: Currency?) async throws -> [OpenDispute]
}

extension AppDatabase: TranscriptStore {
    public func newContract(_ new: NewContract, at now: Date) async throws -> Contract {
        let title = try new.checkedTitle()
        return try await writer.write { db in try self.insertContract(db, new, title: title, at: now).0 }
    }

    public func appendLine(_ request: LineRequest) async throws -> LineReceipt {
        try await handle(request, payment: nil)
    }

    public func loadContract(_ id: ContractID) async throws -> Contract? {
        try await contract(id)
    }

    public func messages(in thread: ContractID, after: Int64, limit: Int?, visibleTo viewer: Participant) async throws -> (messages: [StoredMessage], lastSeq: Int64) {
        try await catchUp(in: thread, after: after, limit: limit, visibleTo: viewer)
    }

    public func messagePage(in thread: ContractID, before: Int64?, limit: Int, visibleTo viewer: Participant) async throws -> (messages: [StoredMessage], hasMore: Bool, lastSeq: Int64) {
        try await page(in: thread, before: before, limit: limit, visibleTo: viewer)
    }

    public func verifyChain(of thread: ContractID) async throws -> ChainVerification {
        try await writer.read { db in try Self.verify(db, thread) }
    }

    public func ledgerPostings(of contract: ContractID) async throws -> [LedgerPosting] {
        try await writer.read { db in try Self.ledgerEntries(db, contract).map(\.posting) }
    }

    public func fireNextDue(at now: Date) async throws -> (Transition, [StoredMessage])? {
        // Another caller may fire the one read here first: then it is gone, and the next due one is tried.
        while let due = try await writer.read({ db in try Self.firstDue(db, at: now) }) {
            if let fired = try await fire(due, at: now) { return fired }
        }
        return nil
    }

    public func armedDeadlines(of contract: ContractID) async throws -> [Deadline] {
        try deadlines(of: contract)
    }

    public func caseHistory(of contract: ContractID, about: DisputeScope) async throws -> [CaseRecord] {
        try cases(of: contract, about: about)
    }

    public func exportTranscript(_ thread: ContractID, for viewer: Participant, at now: Date) async throws -> TranscriptExport {
        try export(thread, for: viewer, at: now)
    }

    public func threadList(for user: UserID, role: Role) async throws -> [ContractSummary] {
        try contracts(for: user, role: role)
    }

    public func disputeQueue(at now: Date, minimumAge: TimeInterval, minimumHeld: Int64, currency: Currency?) async throws -> [OpenDispute] {
        try openDisputes(at: now, minimumAge: minimumAge, minimumHeld: minimumHeld, currency: currency)
    }

    public func claimNotifications(for node: String, at now: Date, lease: TimeInterval, limit: Int) async throws -> [PendingNotification] {
        try await dueNotifications(at: now, limit: limit)
    }

    @discardableResult
    public func markDelivered(_ item: PendingNotification, by node: String, at now: Date) async throws -> Bool {
        try await markDelivered(item, at: now)
        return true
    }
}
