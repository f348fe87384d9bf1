import Foundation
import GRDB
import MilestoneCore

/// Hand-written reading and writing of the `contract`, `milestone` and `ledger_entry` rows a command
/// touches, with statements compiled once per connection: decoding them through Codable records was a
/// sizeable share of every command's CPU. The Codable records they replaced stay in the tests
/// (`Tests/StorageTests/Support`) as the reference both paths are compared against.
extension AppDatabase {
    static func loadContract(_ db: Database, _ id: ContractID) throws -> Contract? {
        let contractRow = try Row.fetchOne(try db.cachedStatement(sql: """
            SELECT title, currency, buyer_id, freelancer_id, policy, phase, end_request, reviews, dispute, offers FROM contract WHERE id = ?
            """), arguments: [id.rawValue])
        guard let row = contractRow else { return nil }
        let code: String = try row.decode(atIndex: 1)
        guard let currency = Currency(code: code) else { throw StorageError.corrupt("contract \(id): unknown currency \(code)") }
        var contract = Contract(
            id: id, title: try row.decode(atIndex: 0), currency: currency, buyer: UserID(try row.decode(String.self, atIndex: 2)),
            freelancer: UserID(try row.decode(String.self, atIndex: 3)), policy: try PolicyCache.shared.policy(decoding: try row.decode(atIndex: 4)))
        let phase: String = try row.decode(atIndex: 5)
        guard let parsed = Contract.Phase(rawValue: phase) else { throw StorageError.corrupt("contract \(id): unknown phase \(phase)") }
        contract.phase = parsed
        contract.endRequest = try (row.decode(String?.self, atIndex: 6)).map { try JSON.decode(Contract.EndRequest.self, $0) }
        contract.reviews = try StoredJSON.reviews(decoding: try row.decode(atIndex: 7))
        contract.dispute = try (row.decode(String?.self, atIndex: 8)).map { try JSON.decode(Contract.ContractDispute.self, $0) }
        contract.offers = try (row.decode(String?.self, atIndex: 9)).map { try JSON.decode([Offer].self, $0) } ?? []
        let milestones = try Row.fetchCursor(try db.cachedStatement(sql: """
            SELECT number, description, amount, due_date, revision_allowance, revisions_used, created_by, state_detail, funded, released, refunded
            FROM milestone WHERE contract_id = ? ORDER BY number
            """), arguments: [id.rawValue])
        while let row = try milestones.next() { contract.milestones.append(try milestone(row, of: id)) }
        return contract
    }

    /// A milestone from the columns `loadContract` selects.
    private static func milestone(_ row: Row, of contract: ContractID) throws -> Milestone {
        let number: Int = try row.decode(atIndex: 0)
        let createdBy: String = try row.decode(atIndex: 6)
        guard let role = Role(rawValue: createdBy) else { throw StorageError.corrupt("milestone \(contract)/M\(number): bad role") }
        var due: DueDate?
        if let dueDate = try row.decode(String?.self, atIndex: 3) {
            guard let parsed = DueDate(iso: Substring(dueDate)) else { throw StorageError.corrupt("milestone \(contract)/M\(number): bad due date") }
            due = parsed
        }
        var milestone = Milestone(
            number: MilestoneNumber(number), description: try row.decode(atIndex: 1), amount: try row.decode(atIndex: 2), dueDate: due,
            revisionAllowance: try row.decode(atIndex: 4), createdBy: role, state: try StoredJSON.state(decoding: try row.decode(atIndex: 7)))
        milestone.revisionsUsed = try row.decode(atIndex: 5)
        milestone.funded = try row.decode(atIndex: 8)
        milestone.released = try row.decode(atIndex: 9)
        milestone.refunded = try row.decode(atIndex: 10)
        return milestone
    }

    /// Writes a milestone's row: an update, or an insert when it has none yet (what `save` does).
    static func saveMilestone(_ milestone: Milestone, of contract: ContractID, _ db: Database) throws {
        let detail = try StoredJSON.string(milestone.state)
        try db.cachedStatement(sql: """
            UPDATE milestone SET description = ?, amount = ?, due_date = ?, revision_allowance = ?, revisions_used = ?, created_by = ?,
                state = ?, state_detail = ?, funded = ?, released = ?, refunded = ?
            WHERE contract_id = ? AND number = ?
            """).runFast(db,
                .text(milestone.description), .integer(milestone.amount), .text(milestone.dueDate?.description),
                .integer(milestone.revisionAllowance.map(Int64.init)), .integer(Int64(milestone.revisionsUsed)),
                .text(milestone.createdBy.rawValue), .text(milestone.state.name), .text(detail), .integer(milestone.funded),
                .integer(milestone.released), .integer(milestone.refunded), .text(contract.rawValue), .integer(Int64(milestone.number.rawValue)))
        guard db.changesCount == 0 else { return }
        try db.cachedStatement(sql: """
            INSERT INTO milestone (contract_id, number, description, amount, due_date, revision_allowance, revisions_used, created_by,
                state, state_detail, funded, released, refunded)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                contract.rawValue, milestone.number.rawValue, milestone.description, milestone.amount, milestone.dueDate?.description,
                milestone.revisionAllowance, milestone.revisionsUsed, milestone.createdBy.rawValue, milestone.state.name, detail,
                milestone.funded, milestone.released, milestone.refunded])
    }

    /// Every ledger entry of a contract, oldest first; only one milestone's when given.
    static func ledgerEntries(_ db: Database, _ contract: ContractID, milestone: MilestoneNumber? = nil) throws -> [LedgerEntry] {
        let columns = "SELECT id, milestone, kind, debit, credit, amount, currency, command_id, message_seq, created_at, processor_ref FROM ledger_entry"
        let rows = if let milestone {
            try Row.fetchCursor(try db.cachedStatement(sql: "\(columns) WHERE contract_id = ? AND milestone = ? ORDER BY id"),
                arguments: [contract.rawValue, milestone.rawValue])
        } else {
            try Row.fetchCursor(try db.cachedStatement(sql: "\(columns) WHERE contract_id = ? ORDER BY id"), arguments: [contract.rawValue])
        }
        var entries: [LedgerEntry] = []
        while let row = try rows.next() {
            let id: Int64 = try row.decode(atIndex: 0)
            guard let kind = LedgerPosting.Kind(rawValue: try row.decode(atIndex: 2)), let currency = Currency(code: try row.decode(atIndex: 6)) else {
                throw StorageError.corrupt("ledger entry \(id)")
            }
            let posting = LedgerPosting(kind: kind, milestone: MilestoneNumber(try row.decode(atIndex: 1)), amount: try row.decode(atIndex: 5))
            guard try posting.debit.description == row.decode(String.self, atIndex: 3), try posting.credit.description == row.decode(String.self, atIndex: 4) else {
                throw StorageError.corrupt("ledger entry \(id): accounts do not match its kind")
            }
            entries.append(LedgerEntry(
                id: id, contract: contract, posting: posting, currency: currency,
                commandID: try row.decode(String?.self, atIndex: 7).map { CommandID($0) }, messageSeq: try row.decode(atIndex: 8),
                createdAt: Date(milliseconds: try row.decode(atIndex: 9)), processorReference: try row.decode(atIndex: 10)))
        }
        return entries
    }

    /// Inserts one ledger posting.
    static func insertLedgerEntry(
        _ db: Database, _ posting: LedgerPosting, of contract: Contract, commandID: CommandID?, messageSeq: Int64, at now: Date, processorRef: String?
    ) throws {
        try db.cachedStatement(sql: """
            INSERT INTO ledger_entry (contract_id, milestone, kind, debit, credit, amount, currency, command_id, message_seq, created_at, processor_ref)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).runFast(db,
                .text(contract.id.rawValue), .integer(Int64(posting.milestone.rawValue)), .text(posting.kind.rawValue), .text(posting.debit.description),
                .text(posting.credit.description), .integer(posting.amount), .text(contract.currency.code), .text(commandID?.rawValue),
                .integer(messageSeq), .integer(now.milliseconds), .text(processorRef))
    }
}
