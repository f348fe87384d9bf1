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
            endRequest = "end_request", reviews, dispute, offers, createdAt = "created_at"
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
    var dispute: String?
    var offers: String?
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
        dispute = try contract.dispute.map(JSON.string)
        offers = contract.offers.isEmpty ? nil : try JSON.string(contract.offers)
        self.createdAt = createdAt.milliseconds
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
