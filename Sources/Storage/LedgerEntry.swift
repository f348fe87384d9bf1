import Foundation
import GRDB
import MilestoneCore

/// One stored ledger posting, pointing at the transcript message that announced it.
public struct LedgerEntry: Hashable, Sendable, Codable {
    public var id: Int64
    public var contract: ContractID
    public var posting: LedgerPosting
    public var currency: Currency
    /// The command that moved the money; nil when a deadline did.
    public var commandID: CommandID?
    public var messageSeq: Int64
    public var createdAt: Date
    /// What the payment processor did for it (`pi_...`, `re_...`, `tr_...`); nil with the simulated processor.
    public var processorReference: String? = nil

    public var amount: Money { Money(minorUnits: posting.amount, currency: currency) }

    public init(id: Int64, contract: ContractID, posting: LedgerPosting, currency: Currency, commandID: CommandID?, messageSeq: Int64,
        createdAt: Date, processorReference: String? = nil) {
        (self.id, self.contract, self.posting, self.currency, self.commandID) = (id, contract, posting, currency, commandID)
        (self.messageSeq, self.createdAt, self.processorReference) = (messageSeq, createdAt, processorReference)
    }
}

extension AppDatabase {
    /// Every ledger entry of a contract, oldest first.
    public func ledgerEntries(of contract: ContractID) throws -> [LedgerEntry] {
        try writer.read { db in try Self.ledgerEntries(db, contract) }
    }

    /// The contract's ledger rebuilt from its entries, each announcing message's postings as one step.
    public func ledger(of contract: ContractID) throws -> Ledger {
        try writer.read { db in try Self.ledger(db, contract) }
    }

    /// The contract's ledger replayed from its stored entries; with `milestone`, only that milestone's
    /// entries (enough to check new postings for it: the ledger's rules are per milestone).
    static func ledger(_ db: Database, _ contract: ContractID, milestone: MilestoneNumber? = nil) throws -> Ledger {
        try Ledger.replaying(stored: ledgerEntries(db, contract, milestone: milestone).map { ($0.posting, $0.messageSeq) }, of: contract)
    }
}

extension Ledger {
    /// A contract's ledger replayed from its stored entries (oldest first), each announcing message's
    /// postings as one step: the same for every store.
    public static func replaying(stored entries: [(posting: LedgerPosting, messageSeq: Int64)], of contract: ContractID) throws -> Ledger {
        var steps: [[LedgerPosting]] = []
        var lastSeq: Int64?
        for entry in entries {
            if entry.messageSeq == lastSeq { steps[steps.count - 1].append(entry.posting) } else { steps.append([entry.posting]) }
            lastSeq = entry.messageSeq
        }
        do { return try Ledger(replaying: steps) } catch {
            throw StorageError.ledgerViolation("stored entries of \(contract): \(error)")
        }
    }
}
