import Foundation
import MilestoneCore
import PostgresNIO
import Storage

extension PostgresStore {
    /// The moderators' queue, as on SQLite: every open dispute (a milestone's, or one about the contract as a
    /// whole: only without a minimum amount), oldest first, with when the other side last spoke. Contracts
    /// with a dispute are flagged (`has_dispute`) in the transaction that opens or closes one.
    public func disputeQueue(at now: Date, minimumAge: TimeInterval, minimumHeld: Int64, currency: Currency?) async throws -> [OpenDispute] {
        try await client.withConnection { connection in
            var contracts: [(String, Contract)] = []
            for try await (preset, state) in try await connection.query("""
                SELECT preset, state::text FROM contract WHERE has_dispute AND (\(currency?.code)::text IS NULL OR currency = \(currency?.code))
                """, logger: self.logger).decode((String, String).self) {
                contracts.append((preset, try JSONDecoder().decode(Contract.self, from: Data(state.utf8))))
            }
            var disputes: [OpenDispute] = []
            for (preset, contract) in contracts {
                var found: [(MilestoneNumber?, String, Money, Role, String, Date, DisputeCase?)] = []
                for milestone in contract.milestones {
                    guard let dispute = milestone.openDispute, milestone.held >= minimumHeld else { continue }
                    found.append((milestone.number, milestone.description, contract.money(milestone.held), dispute.raisedBy, dispute.reason, dispute.at, dispute.file))
                }
                if minimumHeld <= 0, let dispute = contract.dispute {
                    found.append((nil, "the contract as a whole", contract.money(0), dispute.raisedBy, dispute.reason, dispute.at, dispute.file))
                }
                for (milestone, description, held, raisedBy, reason, at, file) in found where now.timeIntervalSince(at) >= minimumAge {
                    let (opener, otherSide) = raisedBy == .buyer ? (contract.buyer, contract.freelancer) : (contract.freelancer, contract.buyer)
                    var lastSpoke: Int64?
                    for try await value in try await connection.query("""
                        SELECT MAX(created_at) FROM message WHERE thread_id = \(contract.id.rawValue) AND author_id = \(otherSide.rawValue)
                        AND kind IN ('chat', 'command') AND visible_to IS NULL
                        """, logger: self.logger).decode(Int64?.self) { lastSpoke = value }
                    disputes.append(OpenDispute(contract: contract.id, title: contract.title, preset: preset, milestone: milestone, description: description,
                        held: held, raisedBy: raisedBy, raisedByUser: opener, reason: reason, openedAt: at,
                        otherSideLastSpoke: lastSpoke.map(Date.init(milliseconds:)), file: file))
                }
            }
            return disputes.sorted { ($0.openedAt, $0.contract, $0.milestone?.rawValue ?? 0) < ($1.openedAt, $1.contract, $1.milestone?.rawValue ?? 0) }
        }
    }
}
