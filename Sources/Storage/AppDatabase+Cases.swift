import Foundation
import GRDB
import MilestoneCore

/// A dispute's case as kept after it closes: the moderators' queue of resolved cases and the case file.
public struct CaseRecord: Hashable, Sendable {
    /// How a dispute opened: the same for one about a milestone and one about the contract.
    struct Opening: Hashable {
        var raisedBy: Role
        var reason: String
        var at: Date
        var file: DisputeCase?

        init(_ dispute: MilestoneState.Dispute) {
            (raisedBy, reason, at, file) = (dispute.raisedBy, dispute.reason, dispute.at, dispute.file)
        }

        init(_ dispute: Contract.ContractDispute) {
            (raisedBy, reason, at, file) = (dispute.raisedBy, dispute.reason, dispute.at, dispute.file)
        }
    }

    public var contract: ContractID
    public var title: String
    public var preset: String
    public var currency: Currency
    public var buyer: UserID
    public var freelancer: UserID
    public var about: DisputeScope
    public var raisedBy: Role
    public var reason: String
    public var openedAt: Date
    public var closedAt: Date?
    /// The event that closed it (`dispute_resolved`, `offer_accepted`, `order_cancelled` ...).
    public var closedBy: String?
    /// The thread's words for how it closed.
    public var resolution: String?
    /// Paid to the freelancer and returned to the buyer when it closed, in minor units.
    public var released: Int64
    public var refunded: Int64
    /// The case (statements, response, assignee) as it was when it closed.
    public var file: DisputeCase?
}

extension Milestone {
    /// The open dispute on it, if any.
    var openDispute: MilestoneState.Dispute? {
        if case .disputed(let dispute) = state { return dispute }
        return nil
    }
}

extension AppDatabase {
    /// Keeps the case history in step with a milestone's or the contract's dispute, in the transaction of the
    /// step that changed it: a dispute that opened gets its row, one that closed is completed with how.
    static func recordCaseChange(
        _ db: Database, _ contract: Contract, about: DisputeScope, before: CaseRecord.Opening?, after: CaseRecord.Opening?,
        moved: (released: Int64, refunded: Int64), events: [ContractEvent], at now: Date
    ) throws {
        if let before, before.at != after?.at {
            // Closed (or, never in practice, replaced): the event about it says how.
            let closing = events.first { event in
                switch about {
                case .milestone(let number): event.milestone == number
                case .contract: event.milestone == nil
                }
            } ?? events.first
            let update = try db.cachedStatement(sql: """
                UPDATE dispute_case SET closed_at = ?, closed_by = ?, resolution = ?, released = ?, refunded = ?, file = ?
                WHERE contract_id = ? AND about = ? AND opened_at = ?
                """)
            let values: [any DatabaseValueConvertible & Sendable] = [
                now.milliseconds, closing?.name, closing?.text, moved.released, moved.refunded, try before.file.map(JSON.string),
            ]
            try update.execute(arguments: StatementArguments(values + [contract.id.rawValue, about.description, before.at.milliseconds]))
            if db.changesCount == 0 {
                // Opened before cases were kept: its row is written now, complete.
                try db.cachedStatement(sql: """
                    INSERT INTO dispute_case (closed_at, closed_by, resolution, released, refunded, file, contract_id, about, opened_at, raised_by, reason)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: StatementArguments(values + [
                        contract.id.rawValue, about.description, before.at.milliseconds, before.raisedBy.rawValue, before.reason,
                    ]))
            }
        }
        if let after, after.at != before?.at {
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO dispute_case (contract_id, about, opened_at, raised_by, reason) VALUES (?, ?, ?, ?, ?)
                """).execute(arguments: [contract.id.rawValue, about.description, after.at.milliseconds, after.raisedBy.rawValue, after.reason])
        }
    }

    /// Disputes that were resolved, newest first: only those opened before `openedBefore` and, with a
    /// currency, in it (filtered before the limit).
    public func resolvedCases(openedBefore: Date? = nil, currency: Currency? = nil, limit: Int = 500) throws -> [CaseRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                \(Self.caseColumns)
                WHERE d.closed_at IS NOT NULL AND d.opened_at <= ? AND (? IS NULL OR c.currency = ?)
                ORDER BY d.closed_at DESC, d.contract_id, d.about LIMIT ?
                """, arguments: [openedBefore?.milliseconds ?? Int64.max, currency?.code, currency?.code, limit]).map(Self.caseRecord)
        }
    }

    /// Every dispute a contract has had about `about`, oldest first.
    public func cases(of contract: ContractID, about: DisputeScope) throws -> [CaseRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                \(Self.caseColumns)
                WHERE d.contract_id = ? AND d.about = ? ORDER BY d.opened_at
                """, arguments: [contract.rawValue, about.description]).map(Self.caseRecord)
        }
    }

    /// A case with the contract it belongs to, as ``caseRecord(_:)`` reads it.
    private static let caseColumns = """
        SELECT d.*, c.title, c.preset, c.currency, c.buyer_id, c.freelancer_id FROM dispute_case d JOIN contract c ON c.id = d.contract_id
        """

    private static func caseRecord(_ row: Row) throws -> CaseRecord {
        let contract = ContractID(row["contract_id"] as String)
        let aboutText: String = row["about"]
        let about: DisputeScope
        if aboutText == "contract" {
            about = .contract
        } else if let number = MilestoneNumber(name: aboutText) {
            about = .milestone(number)
        } else {
            throw StorageError.corrupt("dispute case about \(aboutText) on \(contract)")
        }
        guard let raisedBy = Role(rawValue: row["raised_by"]), let currency = Currency(code: row["currency"]) else {
            throw StorageError.corrupt("dispute case on \(contract)")
        }
        return CaseRecord(
            contract: contract, title: row["title"], preset: row["preset"], currency: currency, buyer: UserID(row["buyer_id"] as String),
            freelancer: UserID(row["freelancer_id"] as String), about: about, raisedBy: raisedBy, reason: row["reason"], openedAt: Date(milliseconds: row["opened_at"]),
            closedAt: (row["closed_at"] as Int64?).map(Date.init(milliseconds:)), closedBy: row["closed_by"], resolution: row["resolution"],
            released: row["released"], refunded: row["refunded"], file: try (row["file"] as String?).map { try JSON.decode(DisputeCase.self, $0) })
    }

    /// The thread's system messages about a case's subject (a milestone's, or the contract's own), in order:
    /// the timeline of a case file.
    public func timeline(of contract: ContractID, about: DisputeScope) throws -> [StoredMessage] {
        try writer.read { db in
            let condition = switch about {
            case .milestone: "milestone = ?"
            case .contract: "milestone IS NULL AND event IS NOT NULL AND ? IS NULL"
            }
            var milestone: Int? = nil
            if case .milestone(let number) = about { milestone = number.rawValue }
            return try MessageRecord.fetchAll(db, sql: "SELECT * FROM message WHERE thread_id = ? AND kind = 'system' AND \(condition) ORDER BY seq",
                arguments: [contract.rawValue, milestone]).map { try $0.message() }
        }
    }
}
