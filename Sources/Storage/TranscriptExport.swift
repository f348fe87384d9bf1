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
}

extension AppDatabase {
    /// The record of a contract for `viewer`: all of it for moderators; for a party, everything except the
    /// other party's private notices.
    public func export(_ thread: ContractID, for viewer: Participant, at now: Date) throws -> TranscriptExport {
        try writer.read { db in
            guard let contract = try Self.loadContract(db, thread) else { throw StorageError.unknownContract(thread.rawValue) }
            let messages = try MessageRecord.visible(in: thread, to: viewer).order(Column("seq")).fetchAll(db).map { try $0.message() }
            var outcomes: [Int64: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT first_seq, outcome FROM command_log WHERE contract_id = ?", arguments: [thread.rawValue]) {
                switch try JSON.decode(LineOutcome.self, row["outcome"]) {
                case .chat: break
                case .applied(let events): outcomes[row["first_seq"]] = "applied: " + events.joined(separator: ", ")
                case .answered: outcomes[row["first_seq"]] = "answered privately"
                case .rejected(let rejection): outcomes[row["first_seq"]] = "rejected (\(rejection.code.rawValue)): \(rejection.reason)"
                }
            }
            var timelines: [MilestoneNumber: [TranscriptExport.TimelineItem]] = [:]
            for message in messages where message.kind == .system {
                guard let milestone = message.milestone, let event = message.event else { continue }
                timelines[milestone, default: []].append(.init(seq: message.seq, at: message.createdAt, event: event, text: message.body))
            }
            let ledgerEntries = try Self.ledgerEntries(db, thread)
            let ledger = try Self.ledger(db, thread)
            var balances: [String: Money] = [:]
            for (account, amount) in ledger.balances { balances[account.description] = contract.money(amount) }
            return TranscriptExport(
                contract: contract, viewer: viewer,
                entries: messages.map { .init(message: $0, outcome: $0.kind == .command ? outcomes[$0.seq] : nil) },
                timelines: timelines, ledger: ledgerEntries, balances: balances,
                verification: try Self.verify(db, thread), exportedAt: now)
        }
    }
}
