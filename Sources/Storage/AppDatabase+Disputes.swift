import Foundation
import GRDB
import MilestoneCore

/// An open dispute, as moderators see it in their queue.
public struct OpenDispute: Hashable, Sendable, Codable {
    public init(contract: ContractID, title: String, preset: String, milestone: MilestoneNumber?, description: String, held: Money, raisedBy: Role,
        raisedByUser: UserID, reason: String, openedAt: Date, otherSideLastSpoke: Date?, file: DisputeCase?) {
        (self.contract, self.title, self.preset, self.milestone, self.description, self.held) = (contract, title, preset, milestone, description, held)
        (self.raisedBy, self.raisedByUser, self.reason, self.openedAt, self.otherSideLastSpoke, self.file) = (raisedBy, raisedByUser, reason, openedAt, otherSideLastSpoke, file)
    }

    public var contract: ContractID
    public var title: String
    public var preset: String
    /// Nil for a dispute about the contract as a whole.
    public var milestone: MilestoneNumber?
    public var description: String
    public var held: Money
    public var raisedBy: Role
    public var raisedByUser: UserID
    public var reason: String
    public var openedAt: Date
    /// The last time the party who did not raise the dispute wrote in the thread, if ever.
    public var otherSideLastSpoke: Date?
    /// The case: awaiting the other party's response, or ready for a moderator (nil for disputes opened
    /// before cases existed: ready).
    public var file: DisputeCase?

    public var status: DisputeCase.Status { file?.status ?? .ready }

    public func age(at now: Date) -> TimeInterval { now.timeIntervalSince(openedAt) }
}

extension AppDatabase {
    /// Open disputes, oldest first, optionally only those open at least `minimumAge` seconds at `now` and
    /// holding at least `minimumHeld` minor units of `currency` (then only disputes in that currency).
    public func openDisputes(at now: Date, minimumAge: TimeInterval = 0, minimumHeld: Int64 = 0, currency: Currency? = nil) throws -> [OpenDispute] {
        try writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.id, c.title, c.preset, c.currency, c.buyer_id, c.freelancer_id, m.number, m.description,
                       m.funded - m.released - m.refunded AS held, m.state_detail
                FROM milestone m JOIN contract c ON c.id = m.contract_id
                WHERE m.state = 'disputed' AND m.funded - m.released - m.refunded >= ? AND (? IS NULL OR c.currency = ?)
                """, arguments: [minimumHeld, currency?.code, currency?.code])
            var disputes: [OpenDispute] = []
            for row in rows {
                let contractID = ContractID(row["id"] as String)
                guard case .disputed(let dispute) = try JSON.decode(MilestoneState.self, row["state_detail"]),
                    let currency = Currency(code: row["currency"])
                else { throw StorageError.corrupt("dispute on \(contractID)") }
                guard now.timeIntervalSince(dispute.at) >= minimumAge else { continue }
                disputes.append(try Self.openDispute(db, row, milestone: MilestoneNumber(row["number"] as Int), description: row["description"],
                    held: Money(minorUnits: row["held"], currency: currency), raisedBy: dispute.raisedBy, reason: dispute.reason,
                    at: dispute.at, file: dispute.file))
            }
            // Disputes about a contract as a whole hold nothing of their own: only without a minimum amount.
            if minimumHeld <= 0 {
                let contracts = try Row.fetchAll(db, sql: """
                    SELECT id, title, preset, currency, buyer_id, freelancer_id, dispute FROM contract
                    WHERE dispute IS NOT NULL AND (? IS NULL OR currency = ?)
                    """, arguments: [currency?.code, currency?.code])
                for row in contracts {
                    let contractID = ContractID(row["id"] as String)
                    guard let currency = Currency(code: row["currency"]) else { throw StorageError.corrupt("dispute on \(contractID)") }
                    let dispute = try JSON.decode(Contract.ContractDispute.self, row["dispute"])
                    guard now.timeIntervalSince(dispute.at) >= minimumAge else { continue }
                    disputes.append(try Self.openDispute(db, row, milestone: nil, description: "the contract as a whole",
                        held: Money(minorUnits: 0, currency: currency), raisedBy: dispute.raisedBy, reason: dispute.reason,
                        at: dispute.at, file: dispute.file))
                }
            }
            return disputes.sorted { ($0.openedAt, $0.contract, $0.milestone?.rawValue ?? 0) < ($1.openedAt, $1.contract, $1.milestone?.rawValue ?? 0) }
        }
    }

    /// A queue item from a row carrying the contract's `id`, `title`, `preset`, `buyer_id` and `freelancer_id`,
    /// and the dispute's own fields.
    private static func openDispute(
        _ db: Database, _ row: Row, milestone: MilestoneNumber?, description: String, held: Money, raisedBy: Role,
        reason: String, at: Date, file: DisputeCase?
    ) throws -> OpenDispute {
        let contract = ContractID(row["id"] as String)
        let buyer = UserID(row["buyer_id"] as String)
        let freelancer = UserID(row["freelancer_id"] as String)
        let (opener, otherSide) = raisedBy == .buyer ? (buyer, freelancer) : (freelancer, buyer)
        return OpenDispute(
            contract: contract, title: row["title"], preset: row["preset"], milestone: milestone, description: description,
            held: held, raisedBy: raisedBy, raisedByUser: opener, reason: reason, openedAt: at,
            otherSideLastSpoke: try lastSpoke(db, in: contract, by: otherSide).map(Date.init(milliseconds:)), file: file)
    }

    /// When `user` last wrote in the thread for everyone to read (chat or a command), in milliseconds.
    private static func lastSpoke(_ db: Database, in thread: ContractID, by user: UserID) throws -> Int64? {
        try Int64.fetchOne(db, sql: """
            SELECT MAX(created_at) FROM message
            WHERE thread_id = ? AND author_id = ? AND kind IN ('chat', 'command') AND visible_to IS NULL
            """, arguments: [thread.rawValue, user.rawValue])
    }
}
