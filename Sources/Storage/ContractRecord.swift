import Foundation
import GRDB
import MilestoneCore
import Synchronization

/// A row of `contract`.
struct ContractRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "contract"
    /// Column names spelled out: GRDB's snake_case key conversion showed up in profiles.
    enum CodingKeys: String, CodingKey {
        case id, title, currency, buyerId = "buyer_id", freelancerId = "freelancer_id", preset, policy, phase,
            endRequest = "end_request", reviews, createdAt = "created_at"
    }

    var id: String
    var title: String
    var currency: String
    var buyerId: String
    var freelancerId: String
    var preset: String
    var policy: String
    var phase: String
    var endRequest: String?
    var reviews: String
    var createdAt: Int64

    init(_ contract: Contract, createdAt: Date) throws {
        id = contract.id.rawValue
        title = contract.title
        currency = contract.currency.code
        buyerId = contract.buyer.rawValue
        freelancerId = contract.freelancer.rawValue
        preset = contract.policy.name
        policy = try JSON.string(contract.policy)
        phase = contract.phase.rawValue
        endRequest = try contract.endRequest.map(JSON.string)
        reviews = try JSON.string(contract.reviews)
        self.createdAt = createdAt.milliseconds
    }

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
        contract.milestones = try milestones.sorted { $0.number < $1.number }.map { try $0.milestone() }
        return contract
    }
}

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

/// Decoded policies by their stored JSON: a contract's policy never changes after creation, and decoding it
/// through Codable for every command showed up in profiles. Keyed by the text itself, so it cannot go stale.
final class PolicyCache: Sendable {
    static let shared = PolicyCache()
    private let policies = Mutex<[String: Policy]>([:])

    func policy(decoding text: String) throws -> Policy {
        if let cached = policies.withLock({ $0[text] }) { return cached }
        let policy = try JSON.decode(Policy.self, text)
        policies.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[text] = policy
        }
        return policy
    }
}
