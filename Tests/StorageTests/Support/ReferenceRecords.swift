import Foundation
import GRDB
import MilestoneCore
@testable import Storage

/// A row of `milestone`, through Codable: the reference the hand-written rows (`ContractRows.swift`) are tested against.
struct MilestoneRecord: Codable, FetchableRecord, PersistableRecord, Equatable {
    static let databaseTableName = "milestone"
    /// Column names spelled out: GRDB's snake_case key conversion showed up in profiles.
    enum CodingKeys: String, CodingKey {
        case contractId = "contract_id", number, description, amount, dueDate = "due_date",
            revisionAllowance = "revision_allowance", revisionsUsed = "revisions_used", createdBy = "created_by",
            state, stateDetail = "state_detail", funded, released, refunded
    }

    var contractId: String
    var number: Int
    var description: String
    var amount: Int64
    var dueDate: String?
    var revisionAllowance: Int?
    var revisionsUsed: Int
    var createdBy: String
    var state: String
    var stateDetail: String
    var funded: Int64
    var released: Int64
    var refunded: Int64

    init(_ milestone: Milestone, contract: ContractID) throws {
        contractId = contract.rawValue
        number = milestone.number.rawValue
        description = milestone.description
        amount = milestone.amount
        dueDate = milestone.dueDate?.description
        revisionAllowance = milestone.revisionAllowance
        revisionsUsed = milestone.revisionsUsed
        createdBy = milestone.createdBy.rawValue
        state = milestone.state.name
        stateDetail = try JSON.string(milestone.state)
        funded = milestone.funded
        released = milestone.released
        refunded = milestone.refunded
    }

    func milestone() throws -> Milestone {
        guard let role = Role(rawValue: createdBy) else { throw StorageError.corrupt("milestone \(contractId)/M\(number): bad role") }
        var due: DueDate?
        if let dueDate {
            guard let parsed = DueDate(iso: Substring(dueDate)) else { throw StorageError.corrupt("milestone \(contractId)/M\(number): bad due date") }
            due = parsed
        }
        var milestone = Milestone(
            number: MilestoneNumber(number), description: description, amount: amount, dueDate: due,
            revisionAllowance: revisionAllowance, createdBy: role, state: try JSON.decode(MilestoneState.self, stateDetail))
        milestone.revisionsUsed = revisionsUsed
        milestone.funded = funded
        milestone.released = released
        milestone.refunded = refunded
        return milestone
    }
}

extension ContractRecord {
    /// Rebuilds the domain value with its milestones.
    func contract(milestones: [MilestoneRecord]) throws -> Contract {
        guard let currency = Currency(code: currency) else { throw StorageError.corrupt("contract \(id): unknown currency \(self.currency)") }
        var contract = Contract(
            id: ContractID(id), title: title, currency: currency, buyer: UserID(buyerId), freelancer: UserID(freelancerId),
            policy: try PolicyCache.shared.policy(decoding: policy))
        guard let phase = Contract.Phase(rawValue: phase) else { throw StorageError.corrupt("contract \(id): unknown phase \(self.phase)") }
        contract.phase = phase
        contract.endRequest = try endRequest.map { try JSON.decode(Contract.EndRequest.self, $0) }
        contract.reviews = try JSON.decode([Contract.Review].self, reviews)
        contract.dispute = try dispute.map { try JSON.decode(Contract.ContractDispute.self, $0) }
        contract.offers = try offers.map { try JSON.decode([Offer].self, $0) } ?? []
        contract.milestones = try milestones.sorted { $0.number < $1.number }.map { try $0.milestone() }
        return contract
    }
}

/// A row of `ledger_entry`.
struct LedgerEntryRecord: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "ledger_entry"
    /// Column names spelled out: GRDB's snake_case key conversion showed up in profiles.
    enum CodingKeys: String, CodingKey {
        case id, contractId = "contract_id", milestone, kind, debit, credit, amount, currency,
            commandId = "command_id", messageSeq = "message_seq", createdAt = "created_at", processorRef = "processor_ref"
    }

    var id: Int64?
    var contractId: String
    var milestone: Int
    var kind: String
    var debit: String
    var credit: String
    var amount: Int64
    var currency: String
    var commandId: String?
    var messageSeq: Int64
    var createdAt: Int64
    /// What the processor did for it (`pi_...`, `re_...`, `tr_...`); nil with the simulated processor.
    var processorRef: String? = nil

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    func entry() throws -> LedgerEntry {
        guard let kind = LedgerPosting.Kind(rawValue: kind), let currency = Currency(code: currency), let id else {
            throw StorageError.corrupt("ledger entry \(id ?? -1)")
        }
        let posting = LedgerPosting(kind: kind, milestone: MilestoneNumber(milestone), amount: amount)
        guard posting.debit.description == debit, posting.credit.description == credit else {
            throw StorageError.corrupt("ledger entry \(id): accounts do not match its kind")
        }
        return LedgerEntry(
            id: id, contract: ContractID(contractId), posting: posting, currency: currency,
            commandID: commandId.map { CommandID($0) }, messageSeq: messageSeq, createdAt: Date(milliseconds: createdAt),
            processorReference: processorRef)
    }
}
