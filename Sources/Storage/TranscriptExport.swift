import Foundation
import GRDB
import MilestoneCore

/// Everything on the record for one contract, as one reader may see it: the moderators' view of a dispute.
public struct TranscriptExport: Hashable, Sendable, Codable {
    public struct Entry: Hashable, Sendable, Codable {
        public var message: StoredMessage
        /// For commands: what happened (`applied`, `answered`, `rejected: <why>`).
        public var outcome: String?
    }

    public struct TimelineItem: Hashable, Sendable, Codable {
        public var seq: Int64
        public var at: Date
        public var event: String
        public var text: String
    }

    public var contract: Contract
    public var viewer: Participant
    public var entries: [Entry]
    /// Per milestone, the system messages about it, in order.
    public var timelines: [MilestoneNumber: [TimelineItem]]
    public var ledger: [LedgerEntry]
    public var balances: [String: Money]
    public var verification: ChainVerification
    public var exportedAt: Date

    /// The record from what a store read: the messages `viewer` may see (in order), each command's logged outcome
    /// by the seq of its line, and the ledger entries (oldest first). The same for every store.
    public init(
        contract: Contract, viewer: Participant, messages: [StoredMessage], outcomes: [Int64: LineOutcome], ledger: [LedgerEntry],
        verification: ChainVerification, exportedAt: Date
    ) throws {
        var described: [Int64: String] = [:]
        for (seq, outcome) in outcomes {
            switch outcome {
            case .chat: break
            case .applied(let events): described[seq] = "applied: " + events.joined(separator: ", ")
            case .answered: described[seq] = "answered privately"
            case .rejected(let rejection): described[seq] = "rejected (\(rejection.code.rawValue)): \(rejection.reason)"
            }
        }
        var timelines: [MilestoneNumber: [TimelineItem]] = [:]
        for message in messages where message.kind == .system {
            guard let milestone = message.milestone, let event = message.event else { continue }
            timelines[milestone, default: []].append(.init(seq: message.seq, at: message.createdAt, event: event, text: message.body))
        }
        let replayed = try Ledger.replaying(stored: ledger.map { ($0.posting, $0.messageSeq) }, of: contract.id)
        var balances: [String: Money] = [:]
        for (account, amount) in replayed.balances { balances[account.description] = contract.money(amount) }
        self.contract = contract
        self.viewer = viewer
        entries = messages.map { .init(message: $0, outcome: $0.kind == .command ? described[$0.seq] : nil) }
        self.timelines = timelines
        self.ledger = ledger
        self.balances = balances
        self.verification = verification
        self.exportedAt = exportedAt
    }
}

extension AppDatabase {
    /// The record of a contract for `viewer`: all of it for moderators; for a party, everything except the
    /// other party's private notices.
    public func export(_ thread: ContractID, for viewer: Participant, at now: Date) throws -> TranscriptExport {
        try writer.read { db in
            guard let contract = try Self.loadContract(db, thread) else { throw StorageError.unknownContract(thread.rawValue) }
            let messages = try MessageRecord.visible(in: thread, to: viewer).order(Column("seq")).fetchAll(db).map { try $0.message() }
            var outcomes: [Int64: LineOutcome] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT first_seq, outcome FROM command_log WHERE contract_id = ?", arguments: [thread.rawValue]) {
                outcomes[row["first_seq"]] = try JSON.decode(LineOutcome.self, row["outcome"])
            }
            return try TranscriptExport(contract: contract, viewer: viewer, messages: messages, outcomes: outcomes,
                ledger: try Self.ledgerEntries(db, thread), verification: try Self.verify(db, thread), exportedAt: now)
        }
    }
}
